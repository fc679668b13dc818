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

/// `ruleset` loaded with iptables-restore in the VM's namespace, then the plan, the
/// repair (`fix`) and the undo, the table's rules listed by `list`.
fn iptables_repaired_then_undone(ruleset: &str, fix: &str, list: &[&str]) {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        in_vm(&network, &["iptables-restore"], ruleset);
        repaired_then_undone(&network, &sshd, fix, list);
    });
}

/// iptables' INPUT policy DROP, loopback let through (Debian's iptables is iptables-nft,
/// which the repair names).
#[test]
fn an_iptables_input_policy_drop_gets_one_accept_rule_and_undo_deletes_it() {
    iptables_repaired_then_undone(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n",
        "iptables-nft -I INPUT -p tcp --dport 22 -j ACCEPT",
        &["iptables", "-S"],
    );
}

/// The raw table's PREROUTING drops the port before filter sees it: the accept goes
/// first in that chain, and undo deletes it from there.
#[test]
fn an_iptables_raw_drop_gets_its_accept_in_raw_and_undo_deletes_it() {
    iptables_repaired_then_undone(
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 22 -j DROP\nCOMMIT\n",
        "iptables-nft -t raw -I PREROUTING -p tcp --dport 22 -j ACCEPT",
        &["iptables", "-t", "raw", "-S"],
    );
}

/// ufw made active in the VM's namespace by `rules` (each a ufw command line), then the
/// plan, the repair and the undo; ufw writes its state in /etc/ufw and /etc/default/ufw,
/// the private system's copies.
fn ufw_repaired_then_undone(rules: &[&str], fix: &str) {
    if !support::requires_root(NEEDS_ROOT)
        || !support::requires_program("ufw", "a real ufw to repair")
    {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        for rule in rules.iter().chain(&["--force enable"]) {
            let mut command = vec!["ufw"];
            command.extend(rule.split_whitespace());
            in_vm(&network, &command, "");
        }
        repaired_then_undone(
            &network,
            &sshd,
            fix,
            &["sh", "-c", "ufw status verbose; cat /etc/ufw/user.rules"],
        );
    });
}

/// ufw active with incoming denied by default and nothing allowed: the repair appends
/// one allow; undo deletes it, and ufw's rules are as they were.
#[test]
fn ufw_denying_by_default_gets_an_allow_and_undo_deletes_it() {
    ufw_repaired_then_undone(&["default deny incoming"], "ufw allow 22/tcp");
}

/// ufw allowing by default but denying TCP 22 from anywhere by a rule after another:
/// `ufw allow 22/tcp` changes that rule in place (ufw would skip inserting a rule with
/// the same port and sources), and undo makes it deny again, where it was.
#[test]
fn ufw_denying_by_a_rule_has_it_allowed_in_place_and_undo_denies_again() {
    ufw_repaired_then_undone(
        &["default allow incoming", "allow 80/tcp", "deny 22/tcp"],
        "ufw allow 22/tcp",
    );
}

/// ufw denying port 22 for every protocol, a rule the allow does not share its match
/// with: the allow is inserted first, and undo deletes it.
#[test]
fn ufw_denying_by_a_narrower_rule_gets_an_allow_first_and_undo_deletes_it() {
    ufw_repaired_then_undone(
        &["default allow incoming", "deny 22"],
        "ufw insert 1 allow 22/tcp",
    );
}

/// firewalld running with its default zone (public) saved and loaded without the ssh
/// service: the repair allows it at run time and in the saved zone, with no reload;
/// undo removes it from both, and the zone lists as it did.
#[test]
fn firewalld_without_the_ssh_service_gets_it_now_and_saved_and_undo_removes_it() {
    if !support::requires_root(NEEDS_ROOT)
        || !support::requires_program("firewalld", "a real firewalld to repair")
    {
        return;
    }
    support::firewalld::with_firewalld(|network, sshd| {
        support::firewalld::firewall_cmd(
            network,
            &["--permanent", "--zone=public", "--remove-service=ssh"],
        );
        support::firewalld::firewall_cmd(network, &["--reload"]);
        repaired_then_undone(
            network,
            sshd,
            "firewall-cmd --zone=public --add-service=ssh && firewall-cmd --permanent --zone=public --add-service=ssh",
            &[
                "sh",
                "-c",
                "firewall-cmd --zone=public --list-all; firewall-cmd --permanent --zone=public --list-all",
            ],
        );
    });
}
