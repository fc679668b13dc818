//! Firewall repairs against real rulesets in the VM's network namespace: one narrow
//! accept rule for the SSH port, first in the chain that drops it, lets alice in; undo
//! deletes exactly that rule and the ruleset is as it was.

use super::{commands, expect, login_once_listening, NEEDS_ROOT};
use crate::support;
use support::accounts::{in_private_system, ALICE};
use support::vm_net::VmNet;

/// `command` in the VM's namespace: what it printed.
fn in_vm(network: &VmNet, command: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = network
        .server
        .command(command[0])
        .args(&command[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{command:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// The plan, the repair and the undo, with the ruleset (as `listing` prints it)
/// compared before and after.
fn repaired_then_undone(network: &VmNet, sshd: &support::Sshd, fix: &str, listing: &[&str]) {
    let before = in_vm(network, listing, "");
    assert!(!network.login().0, "the firewall should keep alice out");
    let plan = expect(network.fix(sshd, &[]), "planned", 0);
    assert_eq!(commands(&plan), [fix], "{plan:#}");
    assert_eq!(
        in_vm(network, listing, ""),
        before,
        "the plan changed the ruleset"
    );
    expect(network.fix(sshd, &["--apply"]), "applied", 0);
    assert!(network.login().0, "after the fix alice should log in");
    expect(network.undo(&[]), "undone", 0);
    assert_eq!(
        in_vm(network, listing, ""),
        before,
        "undo left the ruleset changed"
    );
    assert!(!login_once_listening(network).0, "the firewall is back");
}

/// An nftables input chain with policy drop and nothing for SSH.
#[test]
fn an_nftables_chain_that_drops_ssh_gets_one_accept_rule_and_undo_deletes_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        in_vm(
            &network,
            &["nft", "-f", "-"],
            "table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n  iif lo accept\n }\n}\n",
        );
        repaired_then_undone(
            &network,
            &sshd,
            "nft insert rule inet filter input tcp dport 22 accept comment sshdoctor",
            &["nft", "list", "ruleset"],
        );
    });
}

/// iptables' INPUT policy DROP, loopback let through (Debian's iptables is iptables-nft,
/// which the repair names).
#[test]
fn an_iptables_input_policy_drop_gets_one_accept_rule_and_undo_deletes_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        in_vm(
            &network,
            &["iptables-restore"],
            "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n",
        );
        repaired_then_undone(
            &network,
            &sshd,
            "iptables-nft -I INPUT -p tcp --dport 22 -j ACCEPT",
            &["iptables", "-S"],
        );
    });
}
