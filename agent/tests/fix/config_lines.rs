//! Repairs that edit the lines of a file sshd reads (sshd_config, TCP wrappers) or the
//! directories a setting names: each one printed as the sed, chown or chmod that does the
//! same, applied with `fix --apply`, proved by alice's login, and undone byte for byte.

use super::{
    expect, login_once_listening, repaired_then_undone, setting_commented_out_and_undone, snapshot,
    NEEDS_ROOT,
};
use crate::support;
use support::accounts::{in_private_system, ALICE};
use support::vm_net::VmNet;

/// `MaxSessions 0` ends every session after authentication: the line is commented out
/// and sshd, outside systemd, re-reads its config on SIGHUP after `sshd -t`.
#[test]
fn max_sessions_zero_is_commented_out_and_undo_brings_it_back() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    setting_commented_out_and_undone("MaxSessions 0");
}

/// Two lines of /etc/hosts.deny refuse sshd (Debian's sshd uses libwrap): both are
/// commented out by one sed, and nothing restarts, as libwrap reads the files for each
/// connection.
#[test]
fn every_hosts_deny_line_that_refuses_sshd_is_commented_out() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; printf '# local rules\\nsshd: 192.0.2.0/24\\nportmap: ALL\\nALL: ALL\\n' \
         > /etc/hosts.deny"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        repaired_then_undone(
            &network,
            &sshd,
            &["sed -i '2s/^/# /;4s/^/# /' /etc/hosts.deny"],
            &["/etc/hosts.deny"],
        );
    });
}

/// A group-writable chroot: the directory is given to root and closed to group and
/// others; no config line changes, so sshd is not restarted. Undo gives the jail its
/// owner and mode back.
#[test]
fn a_group_writable_chroot_is_closed_and_undo_opens_it_again() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; mount -t tmpfs -o mode=0755 tmpfs /srv; mkdir -m 0775 /srv/jail; \
         chown alice /srv/jail; cp --parents /bin/bash /srv/jail; \
         for lib in $(ldd /bin/bash | grep -o '/[^ ]*'); do cp --parents $lib /srv/jail; done"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["ChrootDirectory /srv/jail"]);
        repaired_then_undone(
            &network,
            &sshd,
            &["chown root:root /srv/jail", "chmod go-w /srv/jail"],
            &["/srv/jail"],
        );
    });
}

/// sshd listens on loopback only: the ListenAddress line goes, sshd re-executes itself
/// on SIGHUP and listens on every address; undo brings the line back and, after another
/// SIGHUP, loopback only again.
#[test]
fn a_loopback_only_listen_address_is_commented_out_and_undone() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    setting_commented_out_and_undone("ListenAddress 127.0.0.1");
}

/// `AddressFamily inet6` keeps IPv4 clients out: the line goes (sshd's default is any).
#[test]
fn an_ipv6_only_address_family_is_commented_out_and_undone() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    setting_commented_out_and_undone("AddressFamily inet6");
}

/// A PAM session line whose module is not installed ends every session: the line is
/// commented out in /etc/pam.d/sshd, with no restart (PAM reads its files at each
/// login); undo puts it back.
#[test]
fn a_pam_line_that_always_fails_is_commented_out_and_undone() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup =
        format!("{ALICE}; echo 'session required pam_sshdoctor_absent.so' >> /etc/pam.d/sshd");
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM yes"]);
        let line = support::line_number(
            "/etc/pam.d/sshd",
            "session required pam_sshdoctor_absent.so",
        );
        repaired_then_undone(
            &network,
            &sshd,
            &[&format!("sed -i '{line}s/^/# /' /etc/pam.d/sshd")],
            &["/etc/pam.d/sshd"],
        );
    });
}

/// sshd_config lost its Include (as Azure's Reset SSH configuration leaves it), so the
/// drop-in that points sshd at alice's keys is never read: the Include goes back in at
/// the top, where its first values win, and undo takes it out again.
#[test]
fn a_lost_include_is_put_back_at_the_top_and_undone() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["AuthorizedKeysFile /etc/ssh/nobody/%u"]);
        let config = sshd.config_path().display().to_string();
        let dropins = format!("{config}.d");
        std::fs::create_dir(&dropins).unwrap();
        std::fs::write(
            format!("{dropins}/10-keys.conf"),
            "AuthorizedKeysFile .ssh/authorized_keys\n",
        )
        .unwrap();
        repaired_then_undone(
            &network,
            &sshd,
            &[
                &format!("sed -i '1i Include {dropins}/*.conf' {config}"),
                &format!("/usr/sbin/sshd -t -f {config} && kill -HUP {}", sshd.pid()),
            ],
            &[&config],
        );
    });
}

/// The lost Include would bring back a drop-in that moves sshd to port 2222 (as after
/// Azure's Reset SSH configuration on a VM whose admin had moved the port): the check
/// after the fix finds sshd gone from port 22, where alice comes in, and puts
/// everything back by itself.
#[test]
fn a_fix_that_would_move_sshd_off_its_port_is_rolled_back() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        let config = sshd.config_path().display().to_string();
        // sshd's default port is 22: the running sshd and the file agree without it.
        support::accounts::sh(&format!("sed -i '/^Port 22$/d' {config}"));
        let dropins = format!("{config}.d");
        std::fs::create_dir(&dropins).unwrap();
        std::fs::write(format!("{dropins}/10-port.conf"), "Port 2222\n").unwrap();
        let before = snapshot(&config);
        let report = expect(network.fix(&sshd, &["--apply"]), "rolled_back", 2);
        let why = report["why"].as_str().unwrap();
        assert!(
            why.starts_with("sshd no longer listened on port 22 after the fix"),
            "{why}"
        );
        assert_eq!(snapshot(&config), before);
        assert!(
            login_once_listening(&network).0,
            "alice still comes in on 22"
        );
    });
}

/// PubkeyAcceptedAlgorithms narrowed to RSA refuses alice's ed25519 key, a type sshd
/// takes by default: the line goes, and undo brings it back.
#[test]
fn a_narrowed_key_type_list_is_commented_out_and_undone() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    setting_commented_out_and_undone("PubkeyAcceptedAlgorithms rsa-sha2-512");
}

/// alice's key carries from="203.0.113.0/24", and she comes from 192.0.2.2 (sshd logs
/// the refusal): her address is added to the list, literally, and undo takes it out.
#[test]
fn a_from_list_that_leaves_out_the_client_gets_its_address_and_undo_removes_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; sed -i 's/^/from=\"203.0.113.0\\/24\" /' /home/alice/.ssh/authorized_keys"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["LogLevel VERBOSE"]);
        assert!(!network.login().0);
        // sshd's log as the VM's auth.log, where the refusal names the client.
        let lines = support::as_auth_log(&sshd.log(), sshd.pid());
        std::fs::write("/var/log/auth.log", lines.join("\n") + "\n").unwrap();
        support::accounts::sh("if [ -d /run/log ]; then mount -t tmpfs tmpfs /run/log; fi");
        repaired_then_undone(
            &network,
            &sshd,
            &[
                r#"sed -i '1s|from="203\.0\.113\.0/24"|from="203.0.113.0/24,192.0.2.2"|' /home/alice/.ssh/authorized_keys"#,
            ],
            &["/home/alice/.ssh/authorized_keys"],
        );
    });
}
