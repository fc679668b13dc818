//! Who sshd lets in at all (SSH-ACL), against a real sshd: alice's real login from a
//! client namespace fails with the break, the verdict names it at its line, and the
//! verdict's first command, run as printed, brings the login back.

use crate::support;

use support::accounts::{in_private_system, ALICE};
use support::verdict::first_command;
use support::vm_net::VmNet;

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str = "a real sshd in network namespaces, with private accounts, needs root";

/// AuthenticationMethods publickey,password for alice, with password logins off: sshd
/// skips her only list at the connection (a global list like it would stop sshd from
/// starting), so it accepts her key and still refuses her. The live key query gets a
/// yes; the verdict names the setting at its line in the Match block and why the list
/// cannot be completed, and its fix (the line commented out) lets alice in.
#[test]
fn authentication_methods_no_list_can_complete_is_named_with_its_line() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let setting = "  AuthenticationMethods publickey,password";
        let sshd = network.start_sshd(&["Match User alice", setting]);
        let unmet = network.refused_with(&sshd, "SSH-ACL-009");
        assert_eq!(
            unmet["title"],
            "AuthenticationMethods publickey,password: alice can complete none of its lists"
        );
        let config = sshd.config_path().display().to_string();
        let line = support::line_number(&config, setting);
        assert_eq!(unmet["evidence"][0]["source"], format!("{config}:{line}"));
        assert_eq!(
            unmet["evidence"][1]["fact"],
            "publickey,password: PasswordAuthentication no, so sshd skips this list"
        );
        let fix = first_command(&unmet);
        assert!(
            fix.starts_with(&format!("sed -i '{line}s/^/# /' {config} && ")),
            "{fix}"
        );
        network.apply_reload_fix(&sshd, fix);
        network.assert_healthy(&sshd);
    });
}

/// A key and then a password, where alice has no password (provisioned with a key
/// only): sshd takes the key ("Partial publickey") and no password can follow.
#[test]
fn authentication_methods_asking_a_password_alice_lacks_are_named() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[
            "Match User alice",
            "  PasswordAuthentication yes",
            "  AuthenticationMethods publickey,password",
        ]);
        let unmet = network.refused_with(&sshd, "SSH-ACL-009");
        assert_eq!(
            unmet["evidence"][1]["fact"],
            "publickey,password: alice has no usable password (none)"
        );
        network.apply_reload_fix(&sshd, first_command(&unmet));
        network.assert_healthy(&sshd);
    });
}

/// A list alice can complete (publickey alone) beside one she cannot: sshd lets her in,
/// and nothing is said.
#[test]
fn authentication_methods_with_one_list_alice_completes_is_quiet() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["AuthenticationMethods publickey,password publickey"]);
        network.assert_healthy(&sshd);
    });
}
