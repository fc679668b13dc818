//! Feeds arbitrary bytes to the parsers of the system's own files and answers:
//! /etc/passwd and /etc/shadow lines, os-release, /proc/net/tcp and tcp6, Azure's
//! ovf-env.xml and cloud-init's default user, the instance metadata service's JSON, and
//! what `sshd -T` and `systemctl show` print.
//!
//! Run (stable toolchain, nightly features unlocked):
//!   cd agent && RUSTC_BOOTSTRAP=1 cargo fuzz run system_files -- -max_total_time=120
#![no_main]

use libfuzzer_sys::fuzz_target;
use sshdoctor::collect::auth::accounts::{
    default_user_name, ovf_user_name, parse_shadow_line, passwd_entries,
};
use sshdoctor::collect::cloud::parse_imds;
use sshdoctor::collect::config::parse_effective;
use sshdoctor::collect::host::os_release_value;
use sshdoctor::collect::network::proc_net::{parse_table, table_from_entries};
use sshdoctor::collect::service::systemctl::{parse_unit, parse_version};

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = parse_table(data) {
        let _ = table_from_entries(entries, &[22]);
    }
    let text = String::from_utf8_lossy(data);
    let _ = passwd_entries(&text).count();
    for line in text.lines() {
        let _ = parse_shadow_line(line);
    }
    for key in ["ID", "ID_LIKE", "PRETTY_NAME"] {
        let _ = os_release_value(&text, key);
    }
    let _ = ovf_user_name(&text);
    let _ = default_user_name(&text);
    let _ = parse_imds(&text);
    let _ = parse_effective(&text);
    let _ = parse_version(&text);
    for block in text.split("\n\n") {
        let _ = parse_unit(block, Some(1_700_000_000_000_000));
    }
});
