//! Where a config error is, as the real sshd says it: the verdict edits a line only when
//! the file and line are certain, and never the wrong one. Each case is a config built
//! to reproduce what sshd prints, checked with the real `sshd -t`; where the verdict
//! prints an edit, running it as printed makes `sshd -t` pass.

use crate::support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::verdict::{findings_with, first_command, only};

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str = "sshd -t and -T read host keys and need root";

/// A directory with a host key, the main config (HostKey first, then `text`), and
/// `included` files beside it.
struct Staged {
    dir: tempfile::TempDir,
}

impl Staged {
    fn new(text: &str, included: &[(&str, &str)]) -> Staged {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("host_key");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(made.success());
        std::fs::create_dir(dir.path().join("d")).unwrap();
        for (name, content) in included {
            std::fs::write(dir.path().join("d").join(name), content).unwrap();
        }
        let main = format!("HostKey {}\n{text}", key.display());
        let main = main.replace("@D@", &dir.path().join("d").display().to_string());
        std::fs::write(dir.path().join("sshd_config"), main).unwrap();
        Staged { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("sshd_config")
    }

    fn path(&self, relative: &str) -> String {
        self.dir.path().join(relative).display().to_string()
    }

    /// The verdict on this config, with the real sshd and without live probes.
    fn diagnose(&self) -> Value {
        std::fs::create_dir_all("/run/sshd").unwrap();
        let output = Command::new(support::sshdoctor_exe())
            .args([
                "--format",
                "json",
                "--imds",
                "never",
                "--no-probe",
                "--config",
            ])
            .arg(self.config())
            .args(["--sshd", "/usr/sbin/sshd"])
            .output()
            .unwrap();
        serde_json::from_slice(&output.stdout).expect("a JSON verdict")
    }
}

/// The real `sshd -t` on `config`.
fn sshd_accepts(config: &Path) -> bool {
    Command::new("/usr/sbin/sshd")
        .args(["-t", "-f"])
        .arg(config)
        .status()
        .unwrap()
        .success()
}

/// Runs the edit a printed fix starts with (what follows restarts an sshd, and none runs).
fn run_edit_and_check(fix: &str) -> bool {
    let edit = fix.split_once(" && ").map_or(fix, |(edit, _)| edit);
    Command::new("sh")
        .args(["-c", edit])
        .status()
        .unwrap()
        .success()
}

fn needs_root_and_sshd() -> bool {
    support::requires_root(NEEDS_ROOT) && support::requires_sshd()
}

/// A valid config with a Match LocalPort block: plain `sshd -T` refuses to print without
/// a connection, `sshd -t` passes. The verdict must not call it rejected.
#[test]
fn a_match_local_port_block_is_not_a_config_error() {
    if !needs_root_and_sshd() {
        return;
    }
    let staged = Staged::new(
        "Port 22\nMatch LocalPort 2222\n  PasswordAuthentication no\n",
        &[],
    );
    assert!(sshd_accepts(&staged.config()));
    let verdict = staged.diagnose();
    assert!(
        findings_with(&verdict, "SSH-CFG-001").is_empty(),
        "{verdict:#}"
    );
    let check = &verdict["facts"]["config"]["syntax_check"];
    assert_eq!(check["exit_code"], 0, "{check:#}");
    assert!(
        check["command"][1].as_str().unwrap().contains("lport=22"),
        "{check:#}"
    );
    assert!(verdict["facts"]["config"]["effective"].is_object());
}

/// An unsupported key exchange: sshd's first error line names no place, its second
/// names the file and line. The fix comments out that line, and `sshd -t` then passes.
#[test]
fn an_error_located_on_sshds_second_line_is_fixed_there() {
    if !needs_root_and_sshd() {
        return;
    }
    let staged = Staged::new("Port 22\nKexAlgorithms bogus-kex\n", &[]);
    assert!(!sshd_accepts(&staged.config()));
    let verdict = staged.diagnose();
    let rejected = only(&verdict, "SSH-CFG-001");
    let config = staged.config().display().to_string();
    assert_eq!(rejected["evidence"][0]["source"], format!("{config}:3"));
    let fix = first_command(rejected);
    // No sshd runs and no systemd: nothing to restart, the edit is the fix.
    assert_eq!(fix, format!("sed -i '3s/^/# /' {config}"));
    assert_eq!(
        rejected["remediation"]["guest"][1],
        format!("sed -n '3p' {config}")
    );
    assert!(run_edit_and_check(fix), "{fix}");
    assert!(sshd_accepts(&staged.config()));
}

/// AuthorizedKeysCommand without AuthorizedKeysCommandUser: sshd names no line. No edit
/// is printed; the second command finds the keyword's line.
#[test]
fn an_error_without_a_line_gets_no_edit_and_a_way_to_find_it() {
    if !needs_root_and_sshd() {
        return;
    }
    let staged = Staged::new("Port 22\nAuthorizedKeysCommand /usr/bin/true\n", &[]);
    assert!(!sshd_accepts(&staged.config()));
    let verdict = staged.diagnose();
    let rejected = only(&verdict, "SSH-CFG-001");
    let fix = first_command(rejected);
    assert!(!fix.contains("sed -i"), "{fix}");
    let config = staged.config().display().to_string();
    let locate = rejected["remediation"]["guest"][1].as_str().unwrap();
    assert_eq!(
        locate,
        format!("grep -n -i -F -- 'AuthorizedKeysCommand' {config}")
    );
    let found = Command::new("sh").args(["-c", locate]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&found.stdout),
        "3:AuthorizedKeysCommand /usr/bin/true\n"
    );
}

/// A bad Match criterion in an included file: sshd says "at line 1" and names no file.
/// The verdict finds the file whose line 1 is that Match line, and edits nothing (the
/// main file's line 1, or the Match line itself, would be the wrong edit).
#[test]
fn a_match_error_in_an_included_file_is_placed_in_that_file() {
    if !needs_root_and_sshd() {
        return;
    }
    let staged = Staged::new(
        "Include @D@/*.conf\nPort 22\n",
        &[(
            "m.conf",
            "Match Address 10.0.0.0/99\n  PasswordAuthentication no\n",
        )],
    );
    assert!(!sshd_accepts(&staged.config()));
    let verdict = staged.diagnose();
    let rejected = only(&verdict, "SSH-CFG-001");
    let included = staged.path("d/m.conf");
    assert_eq!(rejected["evidence"][0]["source"], format!("{included}:1"));
    let fix = first_command(rejected);
    assert!(!fix.contains("sed -i"), "{fix}");
    assert_eq!(
        rejected["remediation"]["guest"][1],
        format!("sed -n '1p' {included}")
    );
}
