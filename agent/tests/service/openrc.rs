//! OpenRC (Alpine, Gentoo) runs sshd: the real openrc-run, rc-service and rc-update,
//! with an init script in the shape of Alpine's, in a private system whose /run holds
//! OpenRC's state as after boot. alice's real ssh login is the ground truth: it fails
//! with each break and works after the printed fix.

use crate::support;
use support::accounts::{in_private_system, sh, ALICE};
use support::verdict::{assert_matches_schema, first_command, only, problems};
use support::vm_net::VmNet;

const NEEDS_ROOT: &str = "a private /run and /etc, and sshd on its own network, need root";
const OPENRC_FOR: &str = "OpenRC's own tools (package openrc)";

/// OpenRC's state directories as `openrc` makes them at boot, in the default runlevel,
/// with the host's /run out of sight (no pid file or bus of another test is seen);
/// Debian's LSB script, which also claims the name sshd, goes.
const OPENRC_SYSTEM: &str = "mount -t tmpfs tmpfs /run; mkdir -p /run/netns /run/sshd; \
     for state in started starting stopping inactive wasinactive failed daemons options \
       exclusive scheduled tmp; do mkdir -p /run/openrc/$state; done; \
     echo default > /run/openrc/softlevel; \
     rm -f /etc/init.d/ssh /etc/runlevels/*/*; mkdir -p /etc/conf.d";

/// An openrc-run script in the shape of Alpine's: the config from $cfgfile, arguments
/// from $command_args, both set in /etc/conf.d/sshd; `sshd -t` before each start and
/// each reload, which sends sshd SIGHUP (by kill: Debian's start-stop-daemon is dpkg's,
/// not OpenRC's).
const INIT_SCRIPT: &str = r#"#!/sbin/openrc-run
description="OpenSSH server"
extra_started_commands="reload"
: ${cfgfile:=/etc/ssh/sshd_config}
pidfile="/run/$RC_SVCNAME.pid"
command="/usr/sbin/sshd"
command_args="${command_args:-}"
required_files="$cfgfile"

depend() {
	use logger dns
}

start_pre() {
	[ "$cfgfile" != /etc/ssh/sshd_config ] && command_args="$command_args -f $cfgfile"
	"$command" -t $command_args
}

reload() {
	start_pre || return 1
	ebegin "Reloading $RC_SVCNAME"
	kill -HUP "$(cat "$pidfile")"
	eend $?
}
"#;

/// sshd's config for the test: keys only, its own host key, PAM off (no PAM stack in
/// a test's namespace).
const SSHD_CONFIG: &str = "Port 22\nHostKey /etc/ssh/openrc_host_key\nStrictModes yes\n\
     PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n";

fn setup() -> String {
    format!(
        "{ALICE}; {OPENRC_SYSTEM}; \
         ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/openrc_host_key; \
         printf '{SSHD_CONFIG}' > /etc/ssh/openrc_sshd_config; \
         cat > /etc/init.d/sshd <<'SCRIPT'\n{INIT_SCRIPT}SCRIPT\n\
         chmod 755 /etc/init.d/sshd; \
         echo 'cfgfile=/etc/ssh/openrc_sshd_config' > /etc/conf.d/sshd; \
         rc-update add sshd default"
    )
}

fn requires_openrc() -> bool {
    support::requires_root(NEEDS_ROOT)
        && support::requires_program("rc-service", OPENRC_FOR)
        && support::requires_program("openrc-run", OPENRC_FOR)
}

/// Stopped by rc-service, then killed behind OpenRC's back, then out of every runlevel:
/// each verdict names OpenRC's state and prints the rc-service or rc-update command
/// that brings sshd back, which works.
#[test]
fn openrc_states_are_judged_and_their_fixes_work() {
    if !requires_openrc() {
        return;
    }
    in_private_system(&setup(), || {
        let network = VmNet::new();
        network.on_vm("rc-service sshd start");
        let (logged_in, said) = network.login();
        assert!(logged_in, "sshd started by OpenRC lets alice in: {said}");
        let (verdict, code) = network.diagnose_service();
        assert_eq!((problems(&verdict), code), (vec![], 0), "{verdict:#}");
        assert_eq!(verdict["facts"]["openrc"]["state"], "started");
        assert_matches_schema(&verdict);
        assert_eq!(
            verdict["facts"]["config"]["path"], "/etc/ssh/openrc_sshd_config",
            "cfgfile in /etc/conf.d/sshd names the config"
        );

        // Stopped: rc-service start.
        network.on_vm("rc-service sshd stop");
        assert!(!network.login().0);
        let (verdict, code) = network.diagnose_service();
        assert_eq!(
            (problems(&verdict), code),
            (vec!["SSH-SVC-013"], 2),
            "{verdict:#}"
        );
        assert_matches_schema(&verdict);
        let stopped = only(&verdict, "SSH-SVC-013");
        assert_eq!(
            stopped["title"],
            "OpenRC's sshd service is stopped: no sshd runs"
        );
        assert_eq!(first_command(stopped), "rc-service sshd start");
        network.on_vm(first_command(stopped));
        assert!(network.login().0, "the printed start lets alice in");

        // Killed: OpenRC still says started, and start alone would do nothing.
        network.on_vm("kill -9 $(cat /run/sshd.pid); sleep 0.5");
        assert!(!network.login().0);
        network.on_vm("rc-service sshd start 2>&1 | grep -q 'already been started'");
        let (verdict, code) = network.diagnose_service();
        assert_eq!(
            (problems(&verdict), code),
            (vec!["SSH-SVC-014"], 2),
            "{verdict:#}"
        );
        assert_matches_schema(&verdict);
        let stale = only(&verdict, "SSH-SVC-014");
        assert_eq!(
            first_command(stale),
            "rc-service sshd zap && rc-service sshd start"
        );
        let evidence = stale["evidence"].to_string();
        assert!(evidence.contains("/run/sshd.pid: pid "), "{evidence}");
        assert!(evidence.contains("not running"), "{evidence}");
        network.on_vm(first_command(stale));
        assert!(network.login().0, "zap, then start, lets alice in");

        // In no runlevel: it runs now, and not after a reboot.
        network.on_vm("rc-update del sshd default");
        let (verdict, code) = network.diagnose_service();
        assert_eq!(
            (problems(&verdict), code),
            (vec!["SSH-SVC-015"], 1),
            "{verdict:#}"
        );
        assert_matches_schema(&verdict);
        let no_runlevel = only(&verdict, "SSH-SVC-015");
        assert_eq!(first_command(no_runlevel), "rc-update add sshd default");
        network.on_vm(first_command(no_runlevel));
        let (verdict, code) = network.diagnose_service();
        assert_eq!((problems(&verdict), code), (vec![], 0), "{verdict:#}");
        network.on_vm("rc-service sshd stop");
    });
}

/// `sshdoctor fix --apply` starts OpenRC's sshd after zapping its stale record, and
/// undo stops it again.
#[test]
fn fix_restarts_a_killed_openrc_sshd_and_undo_stops_it() {
    if !requires_openrc() {
        return;
    }
    in_private_system(&setup(), || {
        let network = VmNet::new();
        network.on_vm("rc-service sshd start; kill -9 $(cat /run/sshd.pid); sleep 0.5");
        assert!(!network.login().0);
        let (report, code) = network.fix_service();
        assert_eq!(
            (report["outcome"].as_str(), code),
            (Some("applied"), 0),
            "{report:#}"
        );
        assert!(network.login().0, "after fix --apply: {report:#}");
        let (report, code) = network.undo(&[]);
        assert_eq!(
            (report["outcome"].as_str(), code),
            (Some("undone"), 0),
            "{report:#}"
        );
        assert!(!network.login().0, "undo stopped the sshd the fix started");
        sh("test ! -e /run/openrc/started/sshd");
    });
}

/// command_args in /etc/conf.d/sshd reach sshd's command line: AllowUsers=bob there
/// keeps alice out whatever the config says, and the verdict says where it is written.
#[test]
fn command_args_from_conf_d_decide_the_verdict() {
    if !requires_openrc() {
        return;
    }
    let setup = format!(
        "{}; echo 'command_args=\"-o AllowUsers=bob\"' >> /etc/conf.d/sshd",
        setup()
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        network.on_vm("rc-service sshd start");
        let (logged_in, said) = network.login();
        assert!(!logged_in, "AllowUsers=bob keeps alice out: {said}");
        let (verdict, code) = network.diagnose_service();
        assert_eq!(
            verdict["facts"]["config"]["command_line"],
            serde_json::json!([{
                "args": ["-o", "AllowUsers=bob"],
                "origin": "command_args in /etc/conf.d/sshd"
            }]),
        );
        assert_eq!(
            (problems(&verdict), code),
            (vec!["SSH-ACL-001"], 2),
            "{verdict:#}"
        );
        let refused = only(&verdict, "SSH-ACL-001");
        let evidence = refused["evidence"].to_string();
        assert!(
            evidence.contains("command_args in /etc/conf.d/sshd"),
            "{evidence}"
        );
        network.on_vm("rc-service sshd stop");
    });
}

/// A config edit's fix makes sshd read its config through OpenRC, not systemd: a later
/// `PubkeyAuthentication yes` is shadowed by an earlier `no`, which keeps alice's key
/// out; the printed command comments out the first and reloads with rc-service.
#[test]
fn a_config_fix_reloads_sshd_through_openrc() {
    if !requires_openrc() {
        return;
    }
    let setup = format!(
        "{}; sed -i '1i PubkeyAuthentication no' /etc/ssh/openrc_sshd_config; \
         echo 'PubkeyAuthentication yes' >> /etc/ssh/openrc_sshd_config",
        setup()
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        network.on_vm("rc-service sshd start");
        let (logged_in, said) = network.login();
        assert!(!logged_in, "the first PubkeyAuthentication counts: {said}");
        let (verdict, _) = network.diagnose_service();
        let shadowed = only(&verdict, "SSH-CFG-007");
        let fix = first_command(shadowed);
        assert!(
            fix.starts_with("sed -i '1s/^/# /' /etc/ssh/openrc_sshd_config && ")
                && fix.ends_with(" && rc-service sshd reload"),
            "{fix}"
        );
        network.on_vm(&format!("{fix}; sleep 0.5"));
        let (logged_in, said) = network.login();
        assert!(logged_in, "the printed fix lets alice in: {said}");
        network.on_vm("rc-service sshd stop");
    });
}
