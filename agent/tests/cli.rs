//! The command line as a user meets it: the real binary, its output and exit codes.

use std::io::Read;
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
