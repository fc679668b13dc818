//! `fix --apply --confirm-within`: a fix that nobody confirms is put back by itself when
//! its time is up; a confirmed one stays. Here without systemd, so a process of
//! sshdoctor's own, in a session of its own, keeps the time (the VM lab has the timer).

use super::{expect, snapshot, NEEDS_ROOT};
use crate::support;
use support::accounts::{in_private_system, ALICE};
use support::vm_net::VmNet;

const BREAK: &str = "echo 'down for maintenance' > /etc/nologin";

/// The latest transaction as `undo --list` shows it.
fn latest(network: &VmNet) -> serde_json::Value {
    let (listed, _) = network.undo(&["--list"]);
    listed.as_array().unwrap().last().cloned().unwrap()
}

#[test]
fn a_fix_nobody_confirms_is_put_back_when_its_time_is_up() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(&format!("{ALICE}; {BREAK}"), || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        let before = snapshot("/etc/nologin");
        let applied = expect(
            network.fix(&sshd, &["--apply", "--confirm-within", "3s"]),
            "applied",
            0,
        );
        assert!(applied["confirm_by"].is_string(), "{applied:#}");
        assert!(network.login().0, "the fix lets alice in meanwhile");
        let pending = latest(&network);
        assert_eq!(pending["state"], "unconfirmed", "{pending:#}");
        assert_eq!(pending["rollback"]["by"], "watcher", "{pending:#}");

        let rolled_back = support::wait_for(std::time::Duration::from_secs(30), || {
            let now = latest(&network);
            (now["state"] == "rolled_back").then_some(now)
        })
        .expect("put back by itself");
        let why = rolled_back["why"].as_str().unwrap();
        assert!(why.starts_with("not confirmed by "), "{why}");
        assert_eq!(snapshot("/etc/nologin"), before);
        assert!(!network.login().0, "the break is back");
    });
}

#[test]
fn a_confirmed_fix_stays_and_nothing_is_left_waiting() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(&format!("{ALICE}; {BREAK}"), || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        let applied = expect(
            network.fix(&sshd, &["--apply", "--confirm-within", "4s"]),
            "applied",
            0,
        );
        let id = applied["transaction"].as_str().unwrap().to_string();
        let watcher = latest(&network)["rollback"]["pid"].as_u64().unwrap();
        assert!(std::path::Path::new(&format!("/proc/{watcher}")).exists());

        let (confirmed, code) = network.sshdoctor(
            &[
                "fix",
                "--confirm",
                &id,
                "--format",
                "json",
                "--state-dir",
                support::vm_net::FIX_STATE,
            ],
            &[],
        );
        assert_eq!(
            (confirmed["outcome"].as_str(), code),
            (Some("confirmed"), 0)
        );
        let gone = support::wait_for(std::time::Duration::from_secs(5), || {
            (!std::path::Path::new(&format!("/proc/{watcher}")).exists()).then_some(())
        });
        assert!(gone.is_some(), "the watcher {watcher} is still there");
        std::thread::sleep(std::time::Duration::from_secs(5));
        let kept = latest(&network);
        assert_eq!(kept["state"], "applied", "{kept:#}");
        assert!(network.login().0, "the confirmed fix stays");
    });
}
