//! Feeds arbitrary bytes to the parsers of the files a login passes through after sshd
//! accepts the key: PAM's config lines (continuations, comments, bracketed controls),
//! access.conf rules, and authorized_keys lines with their options (from=, expiry-time=,
//! command=).
//!
//! Run (stable toolchain, nightly features unlocked):
//!   cd agent && RUSTC_BOOTSTRAP=1 cargo fuzz run login_files -- -max_total_time=120
#![no_main]

use libfuzzer_sys::fuzz_target;
use sshdoctor::collect::auth::parse_key_line;
use sshdoctor::collect::pam::{access_rules, assemble_lines, tokenize};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for (_, line) in assemble_lines(&text) {
        let tokens = tokenize(&line);
        assert!(!tokens.is_empty());
    }
    let _ = access_rules("/fuzz", &text);
    for line in text.lines() {
        let _ = parse_key_line(line);
    }
});
