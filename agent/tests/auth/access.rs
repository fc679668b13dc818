//! Who sshd lets in at all (SSH-ACL), on throw-away accounts; where a fix is printed, a
//! real sshd in network namespaces shows alice's login failing with the break and
//! working after the verdict's first command, run as printed.

use super::{auth_ids, diagnose_alice, evidence_text, with_config, NEEDS_ROOT};
use crate::support;
use support::accounts::{in_private_system, ALICE};
use support::verdict::{first_command, only};
use support::vm_net::VmNet;

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

#[test]
fn nologin_file_blocks_everyone_but_root() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice("echo 'Down for maintenance' > /etc/nologin", &[]);
    let finding = only(&verdict, "SSH-ACL-004");
    let evidence = evidence_text(finding);
    assert!(evidence.contains("Down for maintenance"), "{evidence}");
    assert!(evidence.contains("users refused: alice"), "{evidence}");
    assert_eq!(finding["remediation"]["guest"][0], "rm -f /etc/nologin");
    assert_eq!(
        finding["remediation"]["actions"][0],
        serde_json::json!({"do": "remove_file", "path": "/etc/nologin"})
    );
}

#[test]
fn allow_and_deny_lists_name_the_line() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice(
        &with_config("AllowUsers bob ops@10.0.0.0/8"),
        &["--config", "/tmp/sshd_config"],
    );
    let finding = only(&verdict, "SSH-ACL-001");
    assert_eq!(
        finding["title"],
        "sshd refuses alice: not listed in AllowUsers (bob ops@10.0.0.0/8)"
    );
    assert!(evidence_text(finding).contains("/tmp/sshd_config:1"));

    let denied = diagnose_alice(
        &with_config("DenyGroups wheel alic?"),
        &["--config", "/tmp/sshd_config"],
    );
    assert!(only(&denied, "SSH-ACL-001")["title"]
        .as_str()
        .unwrap()
        .contains("group alice matches alic?"));

    let by_host = diagnose_alice(
        &with_config("AllowUsers alice@192.0.2.*"),
        &["--config", "/tmp/sshd_config"],
    );
    assert_eq!(auth_ids(&by_host), ["SSH-ACL-002"], "{by_host:#}");
}

#[test]
fn hosts_deny_counts_because_this_sshd_uses_libwrap() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice("echo 'sshd: ALL' >> /etc/hosts.deny", &[]);
    assert_eq!(
        verdict["facts"]["sshd"]["uses_libwrap"], true,
        "Debian 12's sshd links libwrap.so.0"
    );
    let finding = only(&verdict, "SSH-ACL-005");
    assert_eq!(finding["severity"], "critical");
    assert!(evidence_text(finding).contains("/etc/hosts.deny:"));
}

/// AllowUsers and DenyGroups set in a drop-in: the verdict names the drop-in's line, and
/// the printed fix edits that line (alice added to the Allow list, the Deny line
/// commented out), not the main file, which would change nothing.
#[test]
fn access_lists_in_a_drop_in_are_fixed_where_they_are_set() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    use support::accounts::in_private_system;
    use support::verdict::{first_command, only, problems};
    use support::vm_net::VmNet;
    let drop_in = "/etc/ssh/sshd_config.d/10-lab.conf";
    for (line, group_setup) in [
        ("AllowUsers root", "true"),
        (
            "DenyGroups staff",
            "groupadd -f staff; usermod -aG staff alice",
        ),
    ] {
        let setup = format!(
            "{ALICE}; {group_setup}; mkdir -p /etc/ssh/sshd_config.d; echo '{line}' > {drop_in}"
        );
        in_private_system(&setup, || {
            let network = VmNet::new();
            let sshd = network.start_sshd(&[&format!("Include {drop_in}")]);
            assert!(!network.login().0, "{line}");
            let (verdict, code) = network.diagnose(&sshd);
            assert_eq!(
                (problems(&verdict), code),
                (vec!["SSH-ACL-001"], 2),
                "{verdict:#}"
            );
            let refused = only(&verdict, "SSH-ACL-001");
            assert_eq!(refused["evidence"][0]["source"], format!("{drop_in}:1"));
            let fix = first_command(refused);
            assert!(fix.contains(drop_in), "{fix}");
            network.apply_reload_fix(&sshd, fix);
            network.assert_healthy(&sshd);
        });
    }
}

/// AllowUsers in a block Ansible manages (its blockinfile markers) keeps alice out: the
/// refusal's evidence names the line and who wrote it, since Ansible's next run writes
/// the line back; the printed fix still lets alice in now.
#[test]
fn a_refusal_written_in_an_ansible_block_names_its_writer() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let setting = "AllowUsers deploy";
        let sshd = network.start_sshd(&[
            "# BEGIN ANSIBLE MANAGED BLOCK",
            setting,
            "# END ANSIBLE MANAGED BLOCK",
        ]);
        let refused = network.refused_with(&sshd, "SSH-ACL-001");
        let config = sshd.config_path().display().to_string();
        let line = support::line_number(&config, setting);
        assert_eq!(refused["evidence"][0]["source"], format!("{config}:{line}"));
        assert_eq!(
            refused["evidence"][0]["written_by"],
            "a block Ansible manages"
        );
        network.apply_reload_fix(&sshd, first_command(&refused));
        network.assert_healthy(&sshd);
    });
}

/// The Azure Linux Agent's provisioning edit: PasswordAuthentication and
/// ClientAliveInterval set in place in the file waagent.conf names, with nothing in the
/// file to say so, and its log saying it did. alice, with no key left, has no way in;
/// the verdict names the agent as the writer of the line that turned passwords off, and
/// her key put back lets her in.
#[test]
fn a_password_setting_the_azure_agent_wrote_names_the_agent() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["ClientAliveInterval 180"]);
        let config = sshd.config_path().display().to_string();
        support::accounts::sh(&format!(
            "echo 'OS.SshdConfigPath={config}' > /etc/waagent.conf; \
             printf '%s\\n' '2024-03-27T06:31:50.474853Z INFO Daemon Configure sshd' \
             '2024-03-27T06:31:50.489960Z INFO Daemon Disabled SSH password-based authentication methods.' \
             '2024-03-27T06:31:50.504029Z INFO Daemon Configured SSH client probing to keep connections alive.' \
             > /var/log/waagent.log; \
             mv /home/alice/.ssh/authorized_keys /tmp/alice_keys"
        ));
        let refused = network.refused_with(&sshd, "SSH-AKF-005");
        let line = support::line_number(&config, "PasswordAuthentication no");
        let password = refused["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|evidence| evidence["source"] == format!("{config}:{line}"))
            .unwrap_or_else(|| panic!("{config}:{line} not in {refused:#}"));
        assert_eq!(
            password["written_by"],
            "the Azure Linux Agent at provisioning (/var/log/waagent.log:2 says so)"
        );
        support::accounts::sh("mv /tmp/alice_keys /home/alice/.ssh/authorized_keys");
        assert!(network.login().0, "alice's key is back");
    });
}

/// Entra ID login's handler installed where aadsshlogin puts it (an overlay on
/// /usr/sbin in the private system) and in nsswitch.conf, its tagged Match block in
/// sshd_config, and a global AllowGroups: Entra users would be refused at their first
/// login. The printed fix moves the list into a Match block that leaves Entra's users
/// out: the real sshd -T no longer applies it to user@domain names, still applies it to
/// local users, and alice (in the group) still logs in.
#[test]
fn group_lists_that_fail_the_first_entra_login_move_into_a_match_block() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; groupadd -f sshusers; usermod -aG sshusers alice; \
         mkdir -p /tmp/sbin-up /tmp/sbin-work; \
         mount -t overlay overlay -o lowerdir=/usr/sbin,upperdir=/tmp/sbin-up,workdir=/tmp/sbin-work /usr/sbin; \
         printf '#!/bin/sh\\nexit 0\\n' > /usr/sbin/aad_certhandler; chmod 755 /usr/sbin/aad_certhandler; \
         sed -i 's/^passwd:.*/passwd: files aad/' /etc/nsswitch.conf"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[
            "AllowGroups sshusers",
            "Match User *@*,????????-????-????-????-????????????    # Added by aadsshlogin installer",
            "  AuthenticationMethods publickey",
            "  AuthorizedKeysCommand /usr/sbin/aad_certhandler %u %k",
            "  AuthorizedKeysCommandUser root",
        ]);
        let config = sshd.config_path().display().to_string();
        let group_list_for = |user: &str| {
            let output = std::process::Command::new("/usr/sbin/sshd")
                .args(["-T", "-f", &config, "-C"])
                .arg(format!("user={user},host=client,addr=192.0.2.1"))
                .output()
                .unwrap();
            assert!(output.status.success(), "{output:?}");
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .find(|line| line.starts_with("allowgroups "))
                .map(str::to_string)
        };
        assert_eq!(
            group_list_for("someone@example.com").as_deref(),
            Some("allowgroups sshusers")
        );
        assert!(network.login().0, "alice is in sshusers");
        let (verdict, _) = network.diagnose(&sshd);
        let first_login = only(&verdict, "SSH-ACL-010");
        let line = support::line_number(&config, "AllowGroups sshusers");
        assert_eq!(
            first_login["title"],
            format!("AllowGroups at {config}:{line} makes each Entra ID user's first login fail")
        );
        assert_eq!(first_login["evidence"][0]["fact"], "AllowGroups sshusers");
        let fix = first_command(first_login);
        network.apply_reload_fix(&sshd, fix);
        assert_eq!(group_list_for("someone@example.com"), None);
        assert_eq!(
            group_list_for("00000000-1111-2222-3333-444444444444"),
            None,
            "a service principal's object ID is Entra's too"
        );
        assert_eq!(
            group_list_for("alice").as_deref(),
            Some("allowgroups sshusers")
        );
        assert!(network.login().0, "alice still logs in");
        let (verdict, _) = network.diagnose(&sshd);
        assert!(
            support::verdict::findings_with(&verdict, "SSH-ACL-010").is_empty(),
            "{verdict:#}"
        );
    });
}
