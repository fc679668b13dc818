//! The whole diagnosis has a deadline (`--deadline`): whatever hangs past every probe's
//! own bound, the verdict is printed from what was seen, and the process exits.

use crate::support;
use std::process::Command;
use support::accounts::in_private_system;
use support::hung_mount::HungMount;
use support::verdict::assert_matches_schema;

/// sshd_config on a mount whose server reads nothing any more (a dead NFS server; no
/// probe bounds the config's own read): at the 3 s deadline the verdict arrives, names
/// the probe that had not finished, claims nothing it rests on, and the process exits
/// (its last thread, waiting in the kernel, ends with it).
#[test]
fn past_the_deadline_the_verdict_names_what_had_not_finished() {
    if !support::requires_root("a FUSE mount in a private mount namespace needs root")
        || !support::requires_program("python3", "the hung FUSE daemon")
    {
        return;
    }
    in_private_system("mkdir /tmp/hung", || {
        let _hung = HungMount::unread_at("/tmp/hung");
        // The outer bound only keeps a failing test from hanging the suite.
        let output = Command::new("timeout")
            .args(["-s", "KILL", "60", support::sshdoctor_exe()])
            .args(["--format", "json", "--imds", "never", "--no-probe"])
            .args(["--deadline", "3", "--config", "/tmp/hung/sshd_config"])
            .output()
            .unwrap();
        let code = output.status.code();
        assert!(code.is_some_and(|code| code <= 3), "{:?}", output.status);
        let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_matches_schema(&verdict);
        assert_eq!(
            verdict["facts"]["unfinished"],
            serde_json::json!(["sshd_config"])
        );
        let config_probe = verdict["probes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|probe| probe["name"] == "sshd_config")
            .expect("the unfinished probe is reported");
        assert_eq!(config_probe["outcome"], "unavailable");
        assert_eq!(
            config_probe["notes"][0],
            "had not finished when the diagnosis reached its 3 s deadline"
        );
        assert_ne!(verdict["status"], "healthy");
        assert!(
            verdict["proof"]["unproven"]
                .as_array()
                .unwrap()
                .contains(&"the diagnosis reached its deadline before sshd_config finished".into()),
            "{:#}",
            verdict["proof"]
        );
        // What finished before the deadline is there.
        assert_eq!(verdict["facts"]["host"]["is_root"], true);
    });
}

/// A tool still running when the deadline comes (an sshd -T that never ends, as one
/// opening a config on a hung mount) is killed as sshdoctor exits: it must neither
/// outlive the diagnosis nor hold back its exit (a thread of ours looking up the path
/// the tool is stuck on waits for the tool).
#[test]
fn tools_still_running_at_the_deadline_end_with_sshdoctor() {
    if !support::requires_root("a private /tmp in a mount namespace needs root") {
        return;
    }
    in_private_system("", || {
        std::fs::write(
            "/tmp/stuck-sshd",
            "#!/bin/sh\necho $$ >> /tmp/stuck-sshd.pids\nexec sleep 600\n",
        )
        .unwrap();
        support::accounts::sh("chmod 755 /tmp/stuck-sshd; : > /tmp/sshd_config");
        let output = Command::new("timeout")
            .args(["-s", "KILL", "60", support::sshdoctor_exe()])
            .args(["--format", "json", "--imds", "never", "--no-probe"])
            .args(["--deadline", "2", "--sshd", "/tmp/stuck-sshd"])
            .args(["--config", "/tmp/sshd_config"])
            .output()
            .unwrap();
        let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(
            verdict["facts"]["unfinished"],
            serde_json::json!(["sshd -T"]),
            "{:#}",
            verdict["probes"]
        );
        let pids = std::fs::read_to_string("/tmp/stuck-sshd.pids").expect("sshd -T was run");
        for pid in pids.lines() {
            let alive = support::wait_for(std::time::Duration::from_secs(2), || {
                (!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(())
            });
            assert!(alive.is_some(), "sshd -T ({pid}) outlived sshdoctor");
        }
    });
}
