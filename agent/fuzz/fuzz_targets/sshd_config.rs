//! Feeds arbitrary bytes to the sshd_config parser as the main file, with two include
//! targets cut from the same input so Include and Match paths are reached too.
//!
//! Run (stable toolchain, nightly features unlocked), seeding from the test fixtures:
//!   mkdir -p agent/fuzz/corpus/sshd_config
//!   cp agent/tests/fixtures/sshd_config/*.conf agent/fuzz/corpus/sshd_config/
//!   cd agent && RUSTC_BOOTSTRAP=1 cargo fuzz run sshd_config -- -max_total_time=120
#![no_main]

use libfuzzer_sys::fuzz_target;
use sshdoctor::collect::config::{parse_config, MemoryFiles};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |byte| *byte == 0xff);
    let main = parts.next().unwrap_or_default();
    let files = MemoryFiles::new()
        .with_file("/etc/ssh/sshd_config", main)
        .with_file("/inc/a", parts.next().unwrap_or_default())
        .with_file("/inc/b", parts.next().unwrap_or_default());
    let _ = parse_config(Path::new("/etc/ssh/sshd_config"), &files, Path::new("/etc/ssh"), &[]);
});
