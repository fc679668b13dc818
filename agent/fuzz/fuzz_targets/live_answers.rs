//! Feeds arbitrary bytes to what the live probes read from other programs: the first
//! bytes a listening socket sends (the banner probe looks for SSH's identification
//! line) and what the ssh client prints (the key query reads sshd's answer from it).
//!
//! Run (stable toolchain, nightly features unlocked):
//!   cd agent && RUSTC_BOOTSTRAP=1 cargo fuzz run live_answers -- -max_total_time=120
#![no_main]

use libfuzzer_sys::fuzz_target;
use sshdoctor::collect::command::ToolOutput;
use sshdoctor::collect::live::{banner::identification, keys::judge};

fuzz_target!(|data: &[u8]| {
    let _ = identification(data);
    let text = String::from_utf8_lossy(data).into_owned();
    for timed_out in [false, true] {
        let _ = judge(&ToolOutput {
            stdout: String::new(),
            stderr: text.clone(),
            exit_code: (!timed_out).then_some(255),
            timed_out,
        });
    }
});
