//! The command line as a user meets it: the real binary, its output and exit codes.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

fn sshdoctor(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sshdoctor"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn bad_usage_exits_64() {
    let (code, _, stderr) = sshdoctor(&["--no-such-flag"]);
    assert_eq!(code, 64);
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
    let (code, _, _) = sshdoctor(&["--format", "yaml"]);
    assert_eq!(code, 64);
}

/// A fix reports on stdout; --save, a diagnosis's flag, is refused rather than ignored.
/// undo without a transaction says so and exits 3.
#[test]
fn fix_refuses_save_and_undo_without_a_transaction_fails() {
    let (code, _, stderr) = sshdoctor(&["fix", "--save", "/tmp/never-written.json"]);
    assert_eq!(code, 64, "{stderr}");
    assert!(stderr.contains("--save is a diagnosis's"), "{stderr}");
    assert!(!std::path::Path::new("/tmp/never-written.json").exists());
    let state = tempfile::tempdir().unwrap();
    let state = state.path().display().to_string();
    let (code, stdout, _) = sshdoctor(&["undo", "--format", "json", "--state-dir", &state]);
    assert_eq!(code, 3, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["outcome"], "failed");
    assert_eq!(report["why"], "no transaction to undo");
}

#[test]
fn rules_lists_the_whole_catalogue() {
    let (code, stdout, _) = sshdoctor(&["rules"]);
    assert_eq!(code, 0);
    let catalogue = sshdoctor::rules::CATALOGUE;
    assert_eq!(stdout.lines().count(), catalogue.len());
    for rule in catalogue {
        assert!(stdout.contains(rule.id), "{} missing", rule.id);
    }
}

#[test]
fn explain_prints_one_rule_in_full() {
    let (code, stdout, _) = sshdoctor(&["explain", "ssh-net-004"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("SSH-NET-004"), "{stdout}");
    assert!(stdout.contains("az vm open-port"), "{stdout}");
    assert!(stdout.contains("Check security rules"), "{stdout}");
    let (code, _, stderr) = sshdoctor(&["explain", "SSH-XXX-999"]);
    assert_eq!(code, 64);
    assert!(stderr.contains("no rule"), "{stderr}");
}

#[test]
fn version_names_the_commit() {
    let (code, stdout, _) = sshdoctor(&["--version"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with(&format!("sshdoctor {} (", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
}

/// `sshdoctor rules | head -1`: the reader goes away; no panic, no error message.
#[test]
fn closed_pipe_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sshdoctor"))
        .arg("rules")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(status.code(), Some(0));
}

/// Piped output is JSON by default, with the exit code matching the status.
#[test]
fn piped_diagnosis_is_json_and_exit_code_matches_status() {
    let (code, stdout, _) = sshdoctor(&[]);
    let verdict: serde_json::Value = serde_json::from_str(&stdout).expect("JSON when piped");
    assert_eq!(verdict["exit_code"], code);
    let expected = ["healthy", "warning", "critical", "unknown"][code as usize];
    assert_eq!(verdict["status"], expected);
}

// What the delivery doors rely on: `--save` (the boot service and Run Command keep the
// full verdict there) and the stderr summary that Run Command returns beside stdout.

/// A diagnosis that asks no metadata service and runs no sshd.
fn diagnose(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--imds", "never", "--no-sshd-run"];
    all.extend_from_slice(args);
    sshdoctor(&all)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn save_writes_the_full_json_privately_and_says_where() {
    let scratch = tempfile::tempdir().unwrap();
    let saved = scratch.path().join("log/sshdoctor/last.json");
    let (code, stdout, stderr) =
        diagnose(&["--format", "compact", "--save", saved.to_str().unwrap()]);
    let verdict: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(verdict["exit_code"], code);
    assert!(
        verdict["facts"].is_object(),
        "the full verdict, facts included"
    );
    assert!(
        stdout.contains(&format!("exit={code} ")),
        "stdout stays the compact verdict: {stdout}"
    );
    assert_eq!(mode(&saved), 0o600);
    assert_eq!(mode(saved.parent().unwrap()), 0o700);
    assert_eq!(mode(&scratch.path().join("log")), 0o700);
    assert!(
        stderr.contains(&format!("full verdict saved to {}", saved.display())),
        "{stderr}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(saved.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["last.json"], "no staging file left behind");
}

#[test]
fn save_replaces_the_previous_verdict_and_leaves_an_existing_directory_alone() {
    let scratch = tempfile::tempdir().unwrap();
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let saved = scratch.path().join("last.json");
    std::fs::write(&saved, "stale").unwrap();
    diagnose(&["--format", "json", "--save", saved.to_str().unwrap()]);
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.starts_with('{'), "{text}");
    assert_eq!(mode(&saved), 0o600);
    assert_eq!(mode(scratch.path()), 0o755);
}

#[test]
fn save_failure_is_reported_and_the_verdict_still_printed() {
    let scratch = tempfile::tempdir().unwrap();
    let blocker = scratch.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let saved = blocker.join("last.json");
    let (code, stdout, stderr) = diagnose(&["--format", "json", "--save", saved.to_str().unwrap()]);
    let verdict: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(verdict["exit_code"], code);
    assert!(stderr.contains("cannot save the verdict"), "{stderr}");
}

#[test]
fn compact_has_a_short_human_summary_on_stderr() {
    let (code, stdout, stderr) = diagnose(&["--format", "compact"]);
    let status = ["HEALTHY", "WARNING", "CRITICAL", "UNKNOWN"][code as usize];
    assert!(
        stderr.starts_with(&format!(
            "sshdoctor {}: {status}",
            env!("CARGO_PKG_VERSION")
        )),
        "{stderr}"
    );
    assert!(stderr.len() <= 2048, "{} bytes", stderr.len());
    let ids = stdout
        .lines()
        .last()
        .and_then(|line| line.split("findings=").nth(1))
        .unwrap();
    if ids != "none" {
        let first = ids.split(',').next().unwrap();
        assert!(stderr.contains(first), "{stderr}");
        assert!(
            stderr.contains(&format!("sshdoctor explain {first}")),
            "{stderr}"
        );
    }
    let (_, _, json_stderr) = diagnose(&["--format", "json"]);
    assert!(
        json_stderr.is_empty(),
        "only compact adds it: {json_stderr}"
    );
}
