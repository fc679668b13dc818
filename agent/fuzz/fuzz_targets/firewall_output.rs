//! Feeds arbitrary bytes to the parsers of what the firewall tools print: `nft -j list
//! ruleset`, `iptables-save` (both families), `firewall-cmd --get-active-zones` and
//! `--list-all`, `ufw status verbose`.
//!
//! Run (stable toolchain, nightly features unlocked):
//!   cd agent && RUSTC_BOOTSTRAP=1 cargo fuzz run firewall_output -- -max_total_time=120
#![no_main]

use libfuzzer_sys::fuzz_target;
use sshdoctor::collect::firewall::{firewalld, iptables, nft, ufw};
use sshdoctor::facts::IpFamily;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = nft::parse_json(&text);
    for family in [IpFamily::Ipv4, IpFamily::Ipv6] {
        let _ = iptables::parse_save("iptables-save", family, &text);
    }
    let _ = firewalld::parse_active_zones(&text);
    let _ = firewalld::parse_list_all(&text);
    let _ = ufw::parse_status(&text);
});
