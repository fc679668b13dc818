//! Runs the real binary in a private mount namespace (`unshare --mount`) after a setup
//! script has built the condition under test with real mounts and files: a full tmpfs,
//! an /etc/ssh with bad modes, a passwd without the sshd user. Nothing outside the
//! namespace sees those mounts.

use std::process::Command;

/// Runs `setup` (sh) in a private mount namespace, then `sshdoctor --format json` with
/// `args`; returns the verdict.
pub fn diagnose_after(setup: &str, args: &[&str]) -> serde_json::Value {
    let script = format!(
        "set -e; mount --make-rprivate /; {setup}; exec \"$0\" --format json --imds never \"$@\""
    );
    let output = Command::new("unshare")
        .args(["--mount", "sh", "-c", &script, super::sshdoctor_exe()])
        .args(args)
        .output()
        .expect("unshare runs (tests run as root)");
    assert!(
        output.status.code().is_some_and(|code| code <= 3),
        "setup or diagnosis failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    super::verdict::assert_no_secrets(&String::from_utf8_lossy(&output.stdout));
    serde_json::from_slice(&output.stdout).expect("JSON verdict")
}
