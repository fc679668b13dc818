//! Skipping a test that cannot run here, in one place. A test that needs root (network or
//! mount namespaces, a real sshd on a network of its own, nftables) or a program that may
//! be missing starts with a check:
//!
//! ```ignore
//! if !support::requires_root("a network namespace (ip netns) needs root") {
//!     return;
//! }
//! ```
//!
//! When the need is not met the check prints one line, `SKIPPED <test>: <reason>`, to
//! stderr (past the test harness's capture, so it shows in `cargo test`'s output) and the
//! test returns early: `cargo test` as an ordinary user is green. With
//! SSHDOCTOR_TESTS_REQUIRE_ROOT=1 (CI, which runs as root with every tool installed) the
//! same check panics with that line instead: a skip there is a failure.

use super::SSHD;
use std::io::Write;
use std::path::Path;

/// Set to 1, every skip is a failure.
pub const REQUIRE_ROOT: &str = "SSHDOCTOR_TESTS_REQUIRE_ROOT";

/// Whether the test may go on: true as root; otherwise the test is skipped because of
/// `reason` (what needs root).
pub fn requires_root(reason: &str) -> bool {
    super::watchdog::watch_this_test();
    nix::unistd::geteuid().is_root() || skip(reason)
}

/// Whether the test may go on: true when `program` (a path, or a name looked up in PATH)
/// is installed; otherwise the test is skipped, saying what the program is `for`.
pub fn requires_program(program: &str, what_for: &str) -> bool {
    super::watchdog::watch_this_test();
    installed(program) || skip(&format!("{program} is not installed ({what_for})"))
}

/// Whether the test may run the real sshd as its own user (`sshd -t`, or a listener on a
/// free loopback port): sshd installed, and its privilege separation directory present or
/// creatable (by root); sshd refuses to start without it.
pub fn requires_sshd() -> bool {
    if !Path::new(SSHD).exists() {
        return skip(&format!(
            "{SSHD} is absent (install openssh-server to run this test)"
        ));
    }
    Path::new("/run/sshd").is_dir()
        || requires_root("/run/sshd is missing; sshd needs it and only root can create it")
}

fn installed(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).exists();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Skips the running test (false), or fails it when REQUIRE_ROOT is 1.
fn skip(reason: &str) -> bool {
    let test = std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_string();
    let line = format!("SKIPPED {test}: {reason}");
    if std::env::var_os(REQUIRE_ROOT).is_some_and(|value| value == "1") {
        panic!("{line} ({REQUIRE_ROOT}=1 turns a skip into a failure)");
    }
    // Not eprintln!: the harness captures that and shows it only for failed tests.
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("{line}\n").as_bytes());
    false
}
