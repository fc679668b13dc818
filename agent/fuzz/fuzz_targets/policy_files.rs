//! Feeds arbitrary bytes to the parsers of the policies around sshd: SELinux's config,
//! its audit denials and its port labels, TCP wrappers' hosts.allow and hosts.deny,
//! nsswitch.conf's passwd sources, and the kernel's conntrack statistics.
//!
//! Run (stable toolchain, nightly features unlocked):
//!   cd agent && RUSTC_BOOTSTRAP=1 cargo fuzz run policy_files -- -max_total_time=120
#![no_main]

use libfuzzer_sys::fuzz_target;
use sshdoctor::collect::auth::accounts::passwd_sources;
use sshdoctor::collect::auth::gates::lines_naming_sshd;
use sshdoctor::collect::health::conntrack_stat_column;
use sshdoctor::collect::selinux::{read_config, ssh_port_labels, sshd_denials};
use sshdoctor::facts::SelinuxFacts;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut selinux = SelinuxFacts::default();
    read_config(&text, &mut selinux);
    let _ = sshd_denials(&text);
    let _ = ssh_port_labels(&text);
    let _ = lines_naming_sshd("/etc/hosts.deny", &text);
    let _ = passwd_sources(&text);
    for column in ["drop", "insert_failed", "entries"] {
        let _ = conntrack_stat_column(&text, column);
    }
});
