//! The session phase against a real sshd: alice's key is accepted and then the session
//! fails. Ground truth is alice's real login from a client namespace: it fails with the
//! break, the verdict names the break (the key checks and the live key query pass), and
//! the verdict's first command, run as printed, brings the login back.

use crate::support;

use support::accounts::{in_private_system, sh, ALICE};
use support::verdict::{first_command, only, problems};
use support::vm_net::VmNet;

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str = "a real sshd in network namespaces, with private accounts, needs root";

/// alice's shell set to nologin: sshd accepts her key, then the session ends. She is
/// examined without --user too (she holds a key), and the printed fix gives her a shell.
#[test]
fn a_nologin_shell_is_named_and_the_printed_fix_lets_the_user_in() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!("{ALICE}; usermod -s /usr/sbin/nologin alice");
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["LogLevel VERBOSE"]);
        assert!(!network.login().0);
        assert!(
            sshd.log().contains("Accepted publickey for alice"),
            "{}",
            sshd.log()
        );
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(code, 2, "{verdict:#}");
        assert_eq!(problems(&verdict), ["SSH-SES-001"], "{verdict:#}");
        let refused = only(&verdict, "SSH-SES-001");
        assert_eq!(
            refused["title"],
            "alice's shell is /usr/sbin/nologin: sshd accepts the key, then the session ends at once"
        );
        assert_eq!(first_command(refused), "usermod -s /bin/bash alice");
        // Found without --user: alice holds a key although her shell is nologin.
        let config = sshd.config_path().display().to_string();
        let (discovered, _) = network.server.diagnose_with_status(&["--config", &config]);
        assert_eq!(problems(&discovered), ["SSH-SES-001"], "{discovered:#}");
        sh(first_command(refused));
        network.assert_healthy(&sshd);
    });
}

/// MaxSessions 0: "Accepted publickey", then "no more sessions". The fix comments out the
/// line that sets it; sshd rereads its config on SIGHUP (no systemd in a test namespace).
#[test]
fn max_sessions_zero_is_named_with_its_line() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["MaxSessions 0"]);
        let (logged_in, said) = network.login();
        assert!(!logged_in, "{said}");
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(code, 2, "{verdict:#}");
        assert_eq!(problems(&verdict), ["SSH-SES-002"], "{verdict:#}");
        let zero = only(&verdict, "SSH-SES-002");
        let config = sshd.config_path().display().to_string();
        let line = support::line_number(&config, "MaxSessions 0");
        assert_eq!(zero["evidence"][0]["source"], format!("{config}:{line}"));
        let fix = first_command(zero);
        assert_eq!(
            fix,
            format!(
                "sed -i '{line}s/^/# /' {config} && /usr/sbin/sshd -t -f {config} && kill -HUP {}",
                sshd.pid()
            )
        );
        network.apply_reload_fix(&sshd, fix);
        network.assert_healthy(&sshd);
    });
}

/// PermitTTY no: commands still run, a terminal is refused; a warning.
#[test]
fn permit_tty_no_is_a_warning() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["PermitTTY no"]);
        let output = network.ssh_as("alice", true);
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains("PTY allocation request failed"), "{said}");
        assert!(network.login().0);
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(
            (problems(&verdict), code),
            (vec!["SSH-SES-003"], 1),
            "{verdict:#}"
        );
    });
}

/// ForceCommand naming a program that is not installed, in a Match block: the shell
/// sshd runs it with fails, and the session ends. The fix comments out the Match block's
/// line (sshd -T -C found the value; the line is found in the block).
#[test]
fn a_forced_command_that_is_not_there_is_named_with_its_line() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let forced = "  ForceCommand /usr/local/bin/sshdoctor-absent --serve";
        let sshd = network.start_sshd(&["Match User alice", forced]);
        let missing = &network.refused_with(&sshd, "SSH-SES-004");
        assert_eq!(
            missing["title"],
            "ForceCommand runs /usr/local/bin/sshdoctor-absent, which does not exist: \
             alice's sessions end at once"
        );
        let config = sshd.config_path().display().to_string();
        let line = support::line_number(&config, forced);
        assert_eq!(missing["evidence"][1]["source"], format!("{config}:{line}"));
        network.apply_reload_fix(&sshd, first_command(missing));
        network.assert_healthy(&sshd);
    });
}

/// A chroot with bash and its libraries in /srv/jail, but the jail group-writable: sshd
/// refuses to chroot ("bad ownership or modes"). The fix makes it root's and not
/// writable, and alice's command then runs inside it.
#[test]
fn a_group_writable_chroot_is_named_and_the_fix_lets_alice_in() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; mount -t tmpfs -o mode=0755 tmpfs /srv; mkdir -m 0775 /srv/jail; \
         cp --parents /bin/bash /srv/jail; \
         for lib in $(ldd /bin/bash | grep -o '/[^ ]*'); do cp --parents $lib /srv/jail; done"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["ChrootDirectory /srv/jail", "LogLevel VERBOSE"]);
        assert!(!network.login().0);
        assert!(
            sshd.log().contains("bad ownership or modes"),
            "{}",
            sshd.log()
        );
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(
            (problems(&verdict), code),
            (vec!["SSH-SES-005"], 2),
            "{verdict:#}"
        );
        let unsafe_dir = only(&verdict, "SSH-SES-005");
        assert_eq!(
            unsafe_dir["title"],
            "alice's ChrootDirectory /srv/jail: /srv/jail is writable by group or others (mode 0775)"
        );
        assert_eq!(
            first_command(unsafe_dir),
            "chown root:root /srv/jail && chmod go-w /srv/jail"
        );
        sh(first_command(unsafe_dir));
        network.assert_healthy(&sshd);
    });
}

/// A correct but empty chroot: no shell inside, every session ends. The fix removes the
/// setting.
#[test]
fn a_chroot_without_the_shell_is_named() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup =
        format!("{ALICE}; mount -t tmpfs -o mode=0755 tmpfs /srv; mkdir -m 0755 /srv/empty");
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["ChrootDirectory /srv/empty"]);
        let empty = &network.refused_with(&sshd, "SSH-SES-006");
        assert_eq!(
            empty["title"],
            "alice's sessions are confined to /srv/empty, where the shell does not exist"
        );
        network.apply_reload_fix(&sshd, first_command(empty));
        network.assert_healthy(&sshd);
    });
}

/// An account with a nologin shell whose key sits where AuthorizedKeysFile points
/// (/etc/ssh/keys/%u, not ~/.ssh) is found without --user: someone means to log in with
/// that key, and the session ends at once.
#[test]
fn an_account_holding_keys_where_sshd_reads_them_is_examined_whatever_its_shell() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; useradd -m -s /usr/sbin/nologin bob; usermod -p '*' bob; \
         install -d -m 755 /etc/ssh/keys; install -m 644 /tmp/alice_key.pub /etc/ssh/keys/bob"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd =
            network.start_sshd(&["AuthorizedKeysFile /etc/ssh/keys/%u .ssh/authorized_keys"]);
        let output = network.ssh_as("bob", false);
        assert!(!output.status.success());
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(said.contains("not available"), "{said}");
        let config = sshd.config_path().display().to_string();
        let (verdict, code) = network.server.diagnose_with_status(&["--config", &config]);
        assert_eq!(code, 2, "{verdict:#}");
        let shells: Vec<&str> = verdict["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|finding| finding["id"] == "SSH-SES-001")
            .map(|finding| finding["title"].as_str().unwrap())
            .collect();
        assert_eq!(
            shells,
            ["bob's shell is /usr/sbin/nologin: sshd accepts the key, then the session ends at once"]
        );
    });
}

/// alice's only key with restrict (no pty): commands run, a terminal is refused; a
/// warning that names the key.
#[test]
fn keys_that_allow_no_terminal_are_a_warning() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!("{ALICE}; sed -i 's/^/restrict /' /home/alice/.ssh/authorized_keys");
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        let output = network.ssh_as("alice", true);
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains("PTY allocation request failed"), "{said}");
        assert!(network.login().0);
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(
            (problems(&verdict), code),
            (vec!["SSH-SES-007"], 1),
            "{verdict:#}"
        );
        assert_eq!(
            only(&verdict, "SSH-SES-007")["evidence"][0]["source"],
            "/home/alice/.ssh/authorized_keys:1"
        );
    });
}
