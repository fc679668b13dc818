//! A SysV init script runs sshd (sysvinit's Debian, containers and chroots without an
//! init system of their own): Debian's real /etc/init.d/ssh and update-rc.d, in a
//! private system whose /run is empty as on a machine that systemd did not boot.
//! alice's real ssh login is the ground truth: it fails with each break and works after
//! the printed fix.

use crate::support;
use support::accounts::{in_private_system, sh, ALICE};
use support::verdict::{assert_matches_schema, first_command, only, problems};
use support::vm_net::VmNet;

const NEEDS_ROOT: &str = "a private /run and /etc, and sshd on its own network, need root";
const SCRIPT: &str = "/etc/init.d/ssh";

/// A /run that neither systemd nor OpenRC made (and no pid file or bus of another
/// test); sshd's config for the test: keys only, its own host key, PAM off (no PAM stack
/// in a test's namespace); the script's links as the package's postinst makes them.
const SYSV_SYSTEM: &str = "mount -t tmpfs tmpfs /run; mkdir -p /run/netns; \
     ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/sysv_host_key; \
     printf 'Port 22\\nHostKey /etc/ssh/sysv_host_key\\nPasswordAuthentication no\\n\
KbdInteractiveAuthentication no\\nUsePAM no\\n' > /etc/ssh/sshd_config; \
     rm -f /etc/default/ssh /etc/ssh/sshd_not_to_be_run; \
     update-rc.d -f ssh remove >/dev/null; update-rc.d ssh defaults >/dev/null";

fn setup() -> String {
    format!("{ALICE}; {SYSV_SYSTEM}")
}

fn requires_sysv() -> bool {
    support::requires_root(NEEDS_ROOT)
        && support::requires_program(SCRIPT, "Debian's init script (package openssh-server)")
        && support::requires_program("update-rc.d", "package init-system-helpers")
}

/// The links to the script in the runlevel directories, as `ls` shows them.
fn links() -> String {
    let output = std::process::Command::new("sh")
        .args(["-c", "ls -d /etc/rc?.d/[SK]*ssh"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Stopped, then disabled, then with no links at all: each verdict names the script and
/// prints the start or the update-rc.d command that brings sshd back, which works.
#[test]
fn sysv_states_are_judged_and_their_fixes_work() {
    if !requires_sysv() {
        return;
    }
    in_private_system(&setup(), || {
        let network = VmNet::new();
        network.on_vm(&format!("{SCRIPT} start"));
        let (logged_in, said) = network.login();
        assert!(
            logged_in,
            "sshd started by its init script lets alice in: {said}"
        );
        let (verdict, code) = network.diagnose_service();
        assert_eq!((problems(&verdict), code), (vec![], 0), "{verdict:#}");
        assert_matches_schema(&verdict);
        let sysv = &verdict["facts"]["sysv"];
        assert_eq!(sysv["script"], SCRIPT);
        assert_eq!(sysv["enable_tool"], "update-rc.d");
        assert_eq!(sysv["pid_file"]["path"], "/run/sshd.pid");
        assert_eq!(sysv["pid_file"]["alive"], true);

        // Stopped, and /run/sshd gone with it (as after a reboot into a fresh /run):
        // sshd started by hand would refuse to run; the script makes the directory.
        network.on_vm(&format!("{SCRIPT} stop; rm -rf /run/sshd"));
        assert!(!network.login().0);
        let by_hand = std::process::Command::new("/usr/sbin/sshd")
            .arg("-t")
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&by_hand.stderr)
                .contains("Missing privilege separation directory"),
            "sshd by hand: {}",
            String::from_utf8_lossy(&by_hand.stderr)
        );
        let (verdict, code) = network.diagnose_service();
        assert_eq!(
            (problems(&verdict), code),
            (vec!["SSH-SVC-016"], 2),
            "{verdict:#}"
        );
        assert_matches_schema(&verdict);
        let stopped = only(&verdict, "SSH-SVC-016");
        assert_eq!(
            stopped["title"],
            "The init script /etc/init.d/ssh has not started sshd: no sshd runs"
        );
        assert_eq!(first_command(stopped), "/etc/init.d/ssh start");
        let evidence = stopped["evidence"].to_string();
        assert!(evidence.contains("/etc/rc2.d/S01ssh"), "{evidence}");
        network.on_vm(first_command(stopped));
        assert!(network.login().0, "the printed start lets alice in");

        // Turned off on purpose: the script's start exits 0 and starts nothing.
        network.on_vm(&format!(
            "{SCRIPT} stop; touch /etc/ssh/sshd_not_to_be_run; {SCRIPT} start"
        ));
        assert!(!network.login().0, "the start did nothing");
        let (verdict, code) = network.diagnose_service();
        assert_eq!(
            (problems(&verdict), code),
            (vec!["SSH-SVC-018"], 2),
            "{verdict:#}"
        );
        assert_matches_schema(&verdict);
        let skipped = only(&verdict, "SSH-SVC-018");
        assert_eq!(
            skipped["title"],
            "/etc/init.d/ssh starts nothing while /etc/ssh/sshd_not_to_be_run exists: no sshd runs"
        );
        assert_eq!(
            first_command(skipped),
            "rm -f /etc/ssh/sshd_not_to_be_run && /etc/init.d/ssh start"
        );
        network.on_vm(first_command(skipped));
        assert!(
            network.login().0,
            "the file removed, the start lets alice in"
        );

        // Disabled: K links where the S links were; it runs now, not after a reboot.
        sh("update-rc.d ssh disable");
        let (verdict, code) = network.diagnose_service();
        assert_eq!(
            (problems(&verdict), code),
            (vec!["SSH-SVC-017"], 1),
            "{verdict:#}"
        );
        assert_matches_schema(&verdict);
        let disabled = only(&verdict, "SSH-SVC-017");
        assert!(
            disabled["explanation"]
                .as_str()
                .unwrap()
                .contains("it was disabled"),
            "{disabled:#}"
        );
        assert_eq!(first_command(disabled), "update-rc.d ssh enable");
        network.on_vm(first_command(disabled));
        let (verdict, code) = network.diagnose_service();
        assert_eq!((problems(&verdict), code), (vec![], 0), "{verdict:#}");

        // No links at all: `enable` would refuse; `defaults` makes them.
        sh("update-rc.d -f ssh remove");
        let (verdict, code) = network.diagnose_service();
        assert_eq!(
            (problems(&verdict), code),
            (vec!["SSH-SVC-017"], 1),
            "{verdict:#}"
        );
        let unlinked = only(&verdict, "SSH-SVC-017");
        assert_eq!(first_command(unlinked), "update-rc.d ssh defaults");
        network.on_vm(first_command(unlinked));
        let (verdict, code) = network.diagnose_service();
        assert_eq!((problems(&verdict), code), (vec![], 0), "{verdict:#}");
        network.on_vm(&format!("{SCRIPT} stop"));
    });
}

/// `sshdoctor fix --apply` starts sshd through its script and links it for boot again;
/// undo stops it and puts the stop links back exactly.
#[test]
fn fix_starts_and_enables_a_sysv_sshd_and_undo_puts_both_back() {
    if !requires_sysv() {
        return;
    }
    in_private_system(&setup(), || {
        let network = VmNet::new();
        sh("update-rc.d ssh disable");
        let disabled = links();
        assert!(disabled.contains("K01ssh"), "{disabled}");
        assert!(!network.login().0);
        let (verdict, _) = network.diagnose_service();
        assert_eq!(
            problems(&verdict),
            ["SSH-SVC-016", "SSH-SVC-017"],
            "{verdict:#}"
        );
        let (report, code) = network.fix_service();
        assert_eq!(
            (report["outcome"].as_str(), code),
            (Some("applied"), 0),
            "{report:#}"
        );
        assert!(network.login().0, "after fix --apply: {report:#}");
        assert!(links().contains("S01ssh"), "{}", links());
        let (report, code) = network.undo(&[]);
        assert_eq!(
            (report["outcome"].as_str(), code),
            (Some("undone"), 0),
            "{report:#}"
        );
        assert!(!network.login().0, "undo stopped the sshd the fix started");
        assert_eq!(links(), disabled, "undo put the stop links back");
    });
}
