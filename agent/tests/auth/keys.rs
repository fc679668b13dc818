//! The keys (SSH-AKF) on real accounts and files: a private /etc, /home and /tmp in the
//! test's own mount namespace, throw-away users made with the real useradd, broken the
//! way VMs break; and, for the fixes, a real sshd and ssh in network namespaces.

use super::{auth_ids, diagnose_alice, evidence_text, user, with_config, NEEDS_ROOT};
use crate::support;
use support::accounts::{sh, ALICE};
use support::verdict::{findings_with, only};

#[test]
fn group_writable_home_is_refused_by_strict_modes() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice("chgrp users /home/alice; chmod 0775 /home/alice", &[]);
    assert_eq!(auth_ids(&verdict), ["SSH-AKF-001"], "{verdict:#}");
    let finding = only(&verdict, "SSH-AKF-001");
    assert_eq!(
        finding["title"],
        "StrictModes makes sshd ignore /home/alice/.ssh/authorized_keys: /home/alice is writable by group or others (mode 0775)"
    );
    assert_eq!(finding["remediation"]["guest"][0], "chmod go-w /home/alice");
    assert_eq!(verdict["status"], "critical");
}

#[test]
fn debian_sshd_lets_the_users_own_group_write() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice("chmod 0775 /home/alice /home/alice/.ssh", &[]);
    assert_eq!(
        verdict["facts"]["auth"]["strict_modes_allows_private_group"],
        true
    );
    assert!(auth_ids(&verdict).is_empty(), "{verdict:#}");
    assert_eq!(
        user(&verdict, "alice")["keys_files"][0]["chain"][1]["private_group"],
        true
    );
    // A second member makes the group shared: refused again.
    let shared = diagnose_alice(
        "useradd -m bob; usermod -aG alice bob; chmod 0775 /home/alice/.ssh",
        &[],
    );
    assert_eq!(auth_ids(&shared), ["SSH-AKF-001"], "{shared:#}");
}

#[test]
fn world_writable_ssh_dir_is_refused_by_strict_modes() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice("chmod 0777 /home/alice/.ssh", &[]);
    let finding = only(&verdict, "SSH-AKF-001");
    assert!(finding["title"]
        .as_str()
        .unwrap()
        .ends_with("/home/alice/.ssh is writable by group or others (mode 0777)"));
    assert!(evidence_text(finding).contains("/home/alice/.ssh: directory, mode 0777, owner uid"));
    assert_eq!(
        finding["remediation"]["guest"][0],
        "chmod 700 /home/alice/.ssh"
    );
}

#[test]
fn keys_file_owned_by_another_user_is_refused() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice(
        "useradd -m bob; chown bob /home/alice/.ssh/authorized_keys",
        &[],
    );
    let finding = only(&verdict, "SSH-AKF-001");
    let title = finding["title"].as_str().unwrap();
    assert!(title.ends_with("not by the user or root"), "{title}");
    assert_eq!(
        finding["remediation"]["guest"][0],
        "chown alice: /home/alice/.ssh/authorized_keys && chmod 600 /home/alice/.ssh/authorized_keys"
    );
}

#[test]
fn strict_modes_off_accepts_the_same_modes() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice(
        &format!("chmod 0775 /home/alice; {}", with_config("StrictModes no")),
        &["--config", "/tmp/sshd_config"],
    );
    assert!(auth_ids(&verdict).is_empty(), "{verdict:#}");
}

#[test]
fn ssh_dir_created_by_root_hides_the_keys() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice("chown root:root /home/alice/.ssh", &[]);
    assert_eq!(auth_ids(&verdict), ["SSH-AKF-002"], "{verdict:#}");
    let title = only(&verdict, "SSH-AKF-002")["title"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        title.contains("cannot be read with the user's permissions: /home/alice/.ssh does not let the user in (mode 0700, owner uid 0)"),
        "{title}"
    );
}

#[test]
fn missing_keys_file_and_no_password_leave_no_way_in() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice("rm /home/alice/.ssh/authorized_keys", &[]);
    assert_eq!(auth_ids(&verdict), ["SSH-AKF-005"], "{verdict:#}");
    let evidence = evidence_text(only(&verdict, "SSH-AKF-005"));
    assert!(
        evidence.contains(
            "no usable key in /home/alice/.ssh/authorized_keys, /home/alice/.ssh/authorized_keys2"
        ),
        "{evidence}"
    );
    assert!(
        evidence.contains("the account has no usable password (none)"),
        "{evidence}"
    );
}

#[test]
fn dsa_key_and_garbled_lines_are_named_by_line() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice(
        "ssh-keygen -q -t dsa -N '' -C old@dsa -f /tmp/dsa_key; \
         cat /tmp/dsa_key.pub >> /home/alice/.ssh/authorized_keys; \
         echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI' >> /home/alice/.ssh/authorized_keys; \
         echo 'this line was pasted wrong' >> /home/alice/.ssh/authorized_keys",
        &[],
    );
    let refused = only(&verdict, "SSH-AKF-004");
    assert_eq!(
        refused["title"],
        "sshd refuses alice's ssh-dss key(s) in /home/alice/.ssh/authorized_keys"
    );
    let evidence = evidence_text(refused);
    assert!(
        evidence.contains("\"ssh-dss key (old@dsa)\" @ \"/home/alice/.ssh/authorized_keys:2\""),
        "{evidence}"
    );
    let garbled = only(&verdict, "SSH-AKF-003");
    let lines: Vec<&str> = garbled["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|evidence| evidence["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "/home/alice/.ssh/authorized_keys:3",
            "/home/alice/.ssh/authorized_keys:4"
        ]
    );
    // The good key on line 1 still lets alice in.
    assert!(findings_with(&verdict, "SSH-AKF-005").is_empty());
}

#[test]
fn only_a_dsa_key_leaves_no_way_in() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice(
        "ssh-keygen -q -t dsa -N '' -f /tmp/dsa_key; \
         install -m 600 -o alice -g alice /tmp/dsa_key.pub /home/alice/.ssh/authorized_keys",
        &[],
    );
    // The refused DSA key is the reason, critical with no other key: a new key of a
    // type this sshd accepts is the fix.
    assert_eq!(auth_ids(&verdict), ["SSH-AKF-004"], "{verdict:#}");
    let refused = only(&verdict, "SSH-AKF-004");
    assert_eq!(refused["severity"], "critical");
    assert!(
        refused["remediation"]["guest"][0]
            .as_str()
            .unwrap()
            .starts_with("ssh-keygen -t ed25519"),
        "{refused:#}"
    );
}

#[test]
fn match_block_moves_the_keys_file_for_that_user_only() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice(
        &with_config("Match User alice\\n  AuthorizedKeysFile /etc/ssh/keys/%%u"),
        &["--config", "/tmp/sshd_config"],
    );
    let alice = user(&verdict, "alice");
    assert_eq!(
        alice["settings"]["command"],
        "sshd -T -C user=alice,host=client.invalid,addr=203.0.113.1,laddr=192.0.2.1,lport=22"
    );
    assert_eq!(alice["keys_files"][0]["path"], "/etc/ssh/keys/alice");
    // Her key is left in ~/.ssh/authorized_keys, which sshd no longer reads for her.
    assert_eq!(auth_ids(&verdict), ["SSH-AKF-008"], "{verdict:#}");
}

#[test]
fn world_writable_keys_command_is_unsafe_and_entra_needs_a_role() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice(
        &format!(
            "printf '#!/bin/sh\\n' > /tmp/aad_certhandler; chmod 755 /tmp/aad_certhandler; {}",
            with_config(
                "AuthorizedKeysCommand /tmp/aad_certhandler %%u %%k\\nAuthorizedKeysCommandUser root"
            )
        ),
        &["--config", "/tmp/sshd_config"],
    );
    let finding = only(&verdict, "SSH-AKF-006");
    assert_eq!(
        finding["title"],
        "AuthorizedKeysCommand for Microsoft Entra ID login is unusable: /tmp is writable by group or others (mode 1777): sshd refuses it as unsafe"
    );
    let role = only(&verdict, "SSH-AKF-007");
    assert!(role["remediation"]["azure"][0]
        .as_str()
        .unwrap()
        .contains("Virtual Machine Administrator Login"));
}

/// AuthorizedKeysFile pointed at /etc/ssh/keys/%u while alice's key stays in
/// ~/.ssh/authorized_keys: her real login fails, the verdict names both paths and the
/// setting's line (found without --user too: she holds a key), and the printed fix
/// copies her keys where sshd reads them.
#[test]
fn keys_left_where_sshd_no_longer_reads_are_named_and_the_fix_copies_them() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    use support::accounts::in_private_system;
    use support::verdict::{first_command, problems};
    use support::vm_net::VmNet;
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["AuthorizedKeysFile /etc/ssh/keys/%u"]);
        let unread = &network.refused_with(&sshd, "SSH-AKF-008");
        assert_eq!(
            unread["title"],
            "alice's keys are in /home/alice/.ssh/authorized_keys, which sshd no longer reads"
        );
        let config = sshd.config_path().display().to_string();
        let line = support::line_number(&config, "AuthorizedKeysFile /etc/ssh/keys/%u");
        assert_eq!(unread["evidence"][1]["source"], format!("{config}:{line}"));
        let (discovered, _) = network.server.diagnose_with_status(&["--config", &config]);
        assert_eq!(problems(&discovered), ["SSH-AKF-008"], "{discovered:#}");
        sh(first_command(unread));
        network.assert_healthy(&sshd);
    });
}

/// alice's only key limited by from= to a network her client is not in: sshd refuses it
/// ("not from a permitted host", in its log). The verdict names the limit and the client's
/// address, and the printed fix adds that address; the key then works, though sshd still
/// cannot be asked about it from here (unknown, not healthy).
#[test]
fn a_from_limit_that_leaves_out_the_client_is_named_and_the_fix_adds_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    use support::accounts::in_private_system;
    use support::verdict::{first_command, only, problems};
    use support::vm_net::VmNet;
    let setup = format!(
        "{ALICE}; sed -i 's/^/from=\"203.0.113.0\\/24\" /' /home/alice/.ssh/authorized_keys"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["LogLevel VERBOSE"]);
        assert!(!network.login().0);
        assert!(
            sshd.log().contains("not from a permitted host"),
            "{}",
            sshd.log()
        );
        let (verdict, code) = network.diagnose_with_log(&sshd);
        assert_eq!(code, 2, "{verdict:#}");
        assert!(problems(&verdict).contains(&"SSH-AKF-009"), "{verdict:#}");
        let limited = only(&verdict, "SSH-AKF-009");
        assert_eq!(limited["severity"], "critical");
        assert_eq!(
            limited["title"],
            "alice's keys carry from= limits that leave out the client at 192.0.2.2"
        );
        assert_eq!(
            limited["evidence"][0]["source"],
            "/home/alice/.ssh/authorized_keys:1"
        );
        sh(first_command(limited));
        assert!(network.login().0, "{}", sshd.log());
        // Her good login makes the refusals in the log history.
        let (after, code) = network.diagnose_with_log(&sshd);
        assert_eq!((problems(&after), code), (vec![], 3), "{after:#}");
    });
}

/// `PubkeyAcceptedAlgorithms -ssh-ed25519` in a drop-in refuses alice's only key: the
/// finding is critical, never advises another ed25519 key, and its fix comments out the
/// drop-in's line (sshd -T prints the resolved list; the line is still the one that sets
/// it), after which alice gets in.
#[test]
fn a_refused_key_type_is_fixed_at_the_line_that_refuses_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    use support::accounts::in_private_system;
    use support::verdict::first_command;
    use support::vm_net::VmNet;
    let drop_in = "/etc/ssh/sshd_config.d/10-lab.conf";
    let setup = format!(
        "{ALICE}; mkdir -p /etc/ssh/sshd_config.d; \
         echo 'PubkeyAcceptedAlgorithms -ssh-ed25519' > {drop_in}"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["Include /etc/ssh/sshd_config.d/*.conf"]);
        let refused = &network.refused_with(&sshd, "SSH-AKF-004");
        assert_eq!(refused["severity"], "critical");
        let fix = first_command(refused);
        let config = sshd.config_path().display().to_string();
        assert_eq!(
            fix,
            format!(
                "sed -i '1s/^/# /' {drop_in} && /usr/sbin/sshd -t -f {config} && kill -HUP {}",
                sshd.pid()
            )
        );
        let advice = refused["remediation"].to_string();
        assert!(!advice.contains("-t ed25519"), "{advice}");
        network.apply_reload_fix(&sshd, fix);
        network.assert_healthy(&sshd);
    });
}

/// Key options that refuse the key itself: an expiry-time= that has passed (sshd
/// refuses the key) and a command= whose program is not there (the key is accepted and
/// the session ends). Each fails alice's real login, is critical with her only key, and
/// the printed fix (the option taken off that line, the others kept) lets her in.
#[test]
fn key_options_that_refuse_the_key_are_named_and_the_fix_lets_alice_in() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    use support::accounts::in_private_system;
    use support::verdict::{first_command, only, problems};
    use support::vm_net::VmNet;
    for (options, id) in [
        (
            "expiry-time=\\\"20200101\\\",no-agent-forwarding",
            "SSH-AKF-010",
        ),
        (
            "no-port-forwarding,command=\\\"/usr/local/bin/sshdoctor-absent --x\\\"",
            "SSH-AKF-011",
        ),
    ] {
        let setup = format!("{ALICE}; sed -i \"s|^|{options} |\" /home/alice/.ssh/authorized_keys");
        in_private_system(&setup, || {
            let network = VmNet::new();
            let sshd = network.start_sshd(&[]);
            assert!(!network.login().0, "{options}");
            let (verdict, code) = network.diagnose(&sshd);
            assert_eq!((problems(&verdict), code), (vec![id], 2), "{verdict:#}");
            let refused = only(&verdict, id);
            assert_eq!(
                refused["evidence"][0]["source"],
                "/home/alice/.ssh/authorized_keys:1"
            );
            sh(first_command(refused));
            let line = std::fs::read_to_string("/home/alice/.ssh/authorized_keys").unwrap();
            assert!(line.contains("no-"), "the other option is kept: {line}");
            network.assert_healthy(&sshd);
        });
    }
}

/// RevokedKeys naming a file that does not exist: sshd refuses every key. The verdict
/// says so instead of "no check explains it", and the printed fix (an empty list) lets
/// alice in without a reload.
#[test]
fn a_missing_revoked_keys_file_refuses_every_key_and_the_fix_lets_alice_in() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    use support::accounts::in_private_system;
    use support::verdict::first_command;
    use support::vm_net::VmNet;
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["RevokedKeys /etc/ssh/sshdoctor-revoked"]);
        let revoked = &network.refused_with(&sshd, "SSH-AKF-012");
        assert_eq!(
            revoked["title"],
            "RevokedKeys /etc/ssh/sshdoctor-revoked does not exist: sshd refuses every public key"
        );
        sh(first_command(revoked));
        network.assert_healthy(&sshd);
    });
}

/// alice logs in with a certificate: her authorized_keys holds only her CA's key, as a
/// cert-authority line. Her real login works; the verdict finds nothing wrong and does
/// not ask sshd about the CA's key as if it were hers (sshd would refuse a CA key
/// offered as a plain key): unknown, saying certificates cannot be asked about.
#[test]
fn a_cert_authority_line_is_a_way_in_and_no_refused_key() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    use support::accounts::in_private_system;
    use support::verdict::problems;
    use support::vm_net::VmNet;
    let setup = format!(
        "{ALICE}; ssh-keygen -q -t ed25519 -N '' -f /tmp/user_ca; \
         ssh-keygen -q -s /tmp/user_ca -I alice -n alice /tmp/alice_key.pub; \
         printf 'cert-authority,principals=\"alice\" %s\\n' \"$(cat /tmp/user_ca.pub)\" \
           > /home/alice/.ssh/authorized_keys"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        let (logged_in, said) = network.login();
        assert!(logged_in, "{said}\n{}", sshd.log());
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!((problems(&verdict), code), (vec![], 3), "{verdict:#}");
        assert_eq!(
            verdict["proof"]["unproven"],
            serde_json::json!([
                "alice logs in with certificates (cert-authority keys), which cannot be asked about without one"
            ])
        );
    });
}

/// Entra ID login installed (handler present, aad in nsswitch) with no
/// AuthorizedKeysCommand running it: a configuration reset dropped it. With the lines
/// back, globally or in a Match block, nothing is said.
#[test]
fn entra_login_without_its_keys_command_is_named() {
    use crate::support::facts::healthy;
    use sshdoctor::facts::{EntraLogin, KeysCommand, KeysCommandProvider};
    let mut facts = healthy();
    facts.auth.entra_login = Some(EntraLogin {
        handler: "/usr/sbin/aad_certhandler".into(),
        in_nsswitch: true,
    });
    facts.config.vmaccess_backup = Some("/var/cache/vmaccess/backup".into());
    let ids = |facts: &sshdoctor::facts::Facts| -> Vec<&'static str> {
        sshdoctor::rules::evaluate(facts)
            .into_iter()
            .map(|finding| finding.id)
            .collect()
    };
    let findings = sshdoctor::rules::evaluate(&facts);
    let entra = findings
        .iter()
        .find(|finding| finding.id == "SSH-AKF-014")
        .expect("AKF-014");
    assert!(entra.remediation.guest[0].starts_with(
        "printf 'AuthorizedKeysCommand /usr/sbin/aad_certhandler %%u %%k\\nAuthorizedKeysCommandUser root\\n' > /etc/ssh/sshd_config.d/50-aadsshlogin.conf && "
    ));
    assert!(entra.remediation.azure[0].contains("AADSSHLoginForLinux"));
    assert_eq!(entra.evidence.len(), 4);
    facts.auth.keys_command = Some(KeysCommand {
        command: "/usr/sbin/aad_certhandler %u %k".into(),
        provider: KeysCommandProvider::EntraId,
        source: "/etc/ssh/sshd_config:40".into(),
        chain: Vec::new(),
        user: Some("root".into()),
        user_exists: Some(true),
    });
    assert!(!ids(&facts).contains(&"SSH-AKF-014"));
    facts.auth.keys_command = None;
    facts.auth.entra_login.as_mut().unwrap().in_nsswitch = false;
    assert!(!ids(&facts).contains(&"SSH-AKF-014"));
}
