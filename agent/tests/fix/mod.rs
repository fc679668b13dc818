//! `sshdoctor fix` and `undo` against the real thing: a real sshd on a VM's network,
//! alice's real login as ground truth before, after the fix and after the undo, the
//! files compared byte for byte.

mod config_lines;
mod confirm;
mod firewall;
mod kills;
mod repairs;

use crate::support;
use serde_json::Value;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use support::accounts::sh;
use support::vm_net::{VmNet, FIX_STATE};

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str =
    "throw-away accounts in a private mount namespace and a real sshd on its own network need root";

/// A path as undo must put it back: mode, owner, bytes (a directory has none).
pub fn snapshot(path: &str) -> (u32, u32, u32, Vec<u8>) {
    let meta = std::fs::metadata(path).unwrap_or_else(|err| panic!("{path}: {err}"));
    let bytes = match meta.is_file() {
        true => std::fs::read(path).unwrap(),
        false => Vec::new(),
    };
    (
        meta.permissions().mode() & 0o7777,
        meta.uid(),
        meta.gid(),
        bytes,
    )
}

pub fn commands(report: &Value) -> Vec<&str> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["command"].as_str().unwrap())
        .collect()
}

/// The report of a `fix` or `undo` run, once its outcome and exit status are as expected.
pub fn expect((report, code): (Value, i32), outcome: &str, expected_code: i32) -> Value {
    assert_eq!(
        (report["outcome"].as_str(), code),
        (Some(outcome), expected_code),
        "{report:#}"
    );
    report
}

/// alice's login once sshd listens again (it re-executes itself on SIGHUP), on
/// whatever address its config now says: refused by sshd or by where it listens, not by
/// the moment it was not listening at all. An sshd that the break keeps from starting
/// again (a corrupt host key put back) never listens: then after 10 s. Whether she got
/// in, and what ssh said.
pub fn login_once_listening(network: &VmNet) -> (bool, String) {
    let _ = support::wait_for(std::time::Duration::from_secs(10), || {
        let listening = network
            .server
            .command("ss")
            .args(["-Hltn", "sport = :22"])
            .output()
            .is_ok_and(|output| !output.stdout.is_empty());
        listening.then_some(())
    });
    network.login()
}

/// The plan, then the repair, then the undo, with the login as ground truth at each
/// step; `broken` are the paths whose state the undo must restore exactly.
pub fn repaired_then_undone(network: &VmNet, sshd: &support::Sshd, fix: &[&str], broken: &[&str]) {
    let before: Vec<_> = broken.iter().map(|path| snapshot(path)).collect();
    let (logged_in, said) = network.login();
    assert!(!logged_in, "the break should keep alice out: {said}");
    // The verdict's actions are the schema's.
    support::verdict::assert_matches_schema(&network.diagnose(sshd).0);

    sh("touch /tmp/before-the-plan; sleep 1");
    let plan = expect(network.fix(sshd, &[]), "planned", 0);
    assert_eq!(commands(&plan), fix, "{plan:#}");
    assert!(
        !std::path::Path::new(FIX_STATE).exists(),
        "the plan wrote a journal"
    );
    let written = std::process::Command::new("find")
        .args(["/etc", "/home", "-newer", "/tmp/before-the-plan"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&written.stdout),
        "",
        "the plan wrote these"
    );
    let unchanged: Vec<_> = broken.iter().map(|path| snapshot(path)).collect();
    assert_eq!(unchanged, before, "the plan changed the system");

    let applied = expect(network.fix(sshd, &["--apply"]), "applied", 0);
    assert_eq!(applied["steps"][0]["outcome"], "done", "{applied:#}");
    let (logged_in, said) = network.login();
    assert!(
        logged_in,
        "after the fix alice should log in: {said}\n{}",
        sshd.log()
    );

    let undone = expect(network.undo(&[]), "undone", 0);
    assert_eq!(undone["transaction"], applied["transaction"]);
    let after: Vec<_> = broken.iter().map(|path| snapshot(path)).collect();
    assert_eq!(after, before, "undo did not put the break back exactly");
    let (logged_in, said) = login_once_listening(network);
    assert!(
        !logged_in,
        "after the undo the break should keep alice out again: {said}"
    );
    expect(network.undo(&[]), "failed", 3);
}

/// The commonest repair: sshd started with `setting` (a line that keeps alice out),
/// the fix comments that line out and sends sshd SIGHUP after `sshd -t`, and undo
/// brings the line back.
pub fn setting_commented_out_and_undone(setting: &str) {
    support::accounts::in_private_system(support::accounts::ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[setting]);
        let config = sshd.config_path().display().to_string();
        let line = support::line_number(&config, setting);
        repaired_then_undone(
            &network,
            &sshd,
            &[
                &format!("sed -i '{line}s/^/# /' {config}"),
                &format!("/usr/sbin/sshd -t -f {config} && kill -HUP {}", sshd.pid()),
            ],
            &[&config],
        );
    });
}

/// `repaired_then_undone` for a break in the accounts or files that `setup` makes, with
/// sshd's own checks (UsePAM no) deciding the login.
pub fn repaired_without_pam(setup: &str, fix: &[&str], broken: &[&str]) {
    support::accounts::in_private_system(setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        repaired_then_undone(&network, &sshd, fix, broken);
    });
}
