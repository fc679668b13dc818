//! A fix killed at any moment leaves its transaction in a state that `undo`, or the
//! next `fix`, puts back: the process is killed (SIGKILL, by strace's fault injection)
//! at each rename it makes in turn, since every durable change it makes (a manifest
//! saved, a file replaced) ends in one, until a run is not killed at all.

use super::{expect, snapshot, NEEDS_ROOT};
use crate::support;
use support::accounts::{in_private_system, ALICE};
use support::vm_net::{VmNet, FIX_STATE};

/// The renames strace counts and kills at.
const RENAMES: &str = "rename,renameat,renameat2";

#[test]
fn a_fix_killed_at_each_of_its_renames_is_put_back_by_undo() {
    if !support::requires_root(NEEDS_ROOT)
        || !support::requires_program("strace", "killing the fix at each rename")
    {
        return;
    }
    let setup = format!(
        "{ALICE}; chown nobody /home/alice/.ssh/authorized_keys; \
         chmod 666 /home/alice/.ssh/authorized_keys; echo 'down for maintenance' > /etc/nologin"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        let config = sshd.config_path().display().to_string();
        let broken = ["/home/alice/.ssh/authorized_keys", "/etc/nologin"];
        let before: Vec<_> = broken.iter().map(|path| snapshot(path)).collect();
        let mut killed_at = Vec::new();
        for rename in 1.. {
            let inject = format!("inject={RENAMES}:signal=SIGKILL:when={rename}");
            let output = network
                .server
                .command("strace")
                .args(["-f", "-qq", "-o", "/dev/null", "-e"])
                .arg(format!("trace={RENAMES}"))
                .args(["-e", &inject, support::sshdoctor_exe()])
                .args(["fix", "--apply", "--format", "json", "--imds", "never"])
                .args([
                    "--user",
                    "alice",
                    "--config",
                    &config,
                    "--state-dir",
                    FIX_STATE,
                ])
                .output()
                .unwrap();
            if output.status.success() {
                // Not killed: every rename has had its turn.
                let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
                assert_eq!(report["outcome"], "applied", "{report:#}");
                assert!(network.login().0, "{}", sshd.log());
                expect(network.undo(&[]), "undone", 0);
                break;
            }
            killed_at.push(rename);
            let (listed, _) = network.undo(&["--list"]);
            let interrupted = listed.as_array().unwrap().last().cloned();
            if rename % 2 == 1 {
                // Put back by undo.
                let (report, code) = network.undo(&[]);
                match report["outcome"].as_str() {
                    Some("undone") => assert_eq!(code, 0, "{report:#}"),
                    // Killed before its manifest existed: nothing was changed yet.
                    Some("failed") if report["why"] == "no transaction to undo" => {}
                    _ => panic!("killed at rename {rename}, then: {report:#}"),
                }
            } else {
                // Put back by the next fix, which then does the whole repair itself.
                let report = expect(network.fix(&sshd, &["--apply"]), "applied", 0);
                let half_done = interrupted.filter(|tx| tx["state"] == "applying");
                assert_eq!(
                    report["recovered"],
                    half_done.map_or(serde_json::Value::Null, |tx| tx["id"].clone()),
                    "killed at rename {rename}: {report:#}"
                );
                assert!(network.login().0, "{}", sshd.log());
                expect(network.undo(&[]), "undone", 0);
            }
            let after: Vec<_> = broken.iter().map(|path| snapshot(path)).collect();
            assert_eq!(after, before, "killed at rename {rename}: not put back");
            let litter = leftovers(&["/home/alice/.ssh", "/etc"]);
            assert!(
                litter.is_empty(),
                "killed at rename {rename}: left {litter:?}"
            );
            assert!(
                !network.login().0,
                "killed at rename {rename}: alice got in"
            );
            assert!(rename < 50, "the fix never finished unkilled");
        }
        assert!(killed_at.len() >= 4, "killed only at {killed_at:?}");
    });
}

/// Files a replacement staged beside its target and never renamed into place.
fn leftovers(dirs: &[&str]) -> Vec<String> {
    dirs.iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap())
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.contains(".sshdoctor-"))
        .collect()
}
