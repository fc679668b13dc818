//! Feeds arbitrary bytes to the parsers of sshd's log and the kernel's: journalctl's
//! JSON lines, syslog lines in both time-stamp forms, and /dev/kmsg records of the OOM
//! killer.
//!
//! Run (stable toolchain, nightly features unlocked):
//!   cd agent && RUSTC_BOOTSTRAP=1 cargo fuzz run log_lines -- -max_total_time=120
#![no_main]

use libfuzzer_sys::fuzz_target;
use sshdoctor::collect::health::parse_oom_kill;
use sshdoctor::collect::logs::{parse_journal_json, parse_syslog_line};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_journal_json(&text);
    for line in text.lines() {
        let _ = parse_syslog_line(line);
        let _ = parse_oom_kill(line);
    }
});
