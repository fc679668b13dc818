//! The authentication path on real accounts and files: each test gets a private /etc
//! (a copy), /home, /tmp, /var/log and /var/mail in its own mount namespace, creates
//! throw-away users there with the real useradd, breaks them the way VMs break, and runs
//! the real binary with `--user`. Nothing reaches the host's accounts. The ground-truth
//! test runs a real sshd and ssh in a network namespace against the same private accounts.

use crate::support;

use serde_json::Value;
use support::accounts::{alice_login, sh, ALICE, PRIVATE_SYSTEM};
use support::mount_ns::diagnose_after;
use support::verdict::{findings_with, ids_in_families, only};
use support::{NetNs, Sshd};

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str =
    "throw-away accounts in a private mount namespace (unshare --mount) need root";

fn diagnose_alice(breakage: &str, args: &[&str]) -> Value {
    let setup = format!("{PRIVATE_SYSTEM}; {ALICE}; {breakage}");
    let mut all = vec!["--user", "alice"];
    all.extend_from_slice(args);
    diagnose_after(&setup, &all)
}

/// A config file written into the private /tmp, for `--config`.
fn with_config(lines: &str) -> String {
    format!("printf '{lines}\\n' > /tmp/sshd_config")
}

const AUTH_FAMILIES: &[&str] = &["SSH-USR", "SSH-AKF", "SSH-ACL"];

fn auth_ids(verdict: &Value) -> Vec<String> {
    ids_in_families(verdict, AUTH_FAMILIES)
}

fn evidence_text(finding: &Value) -> String {
    finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|evidence| format!("{} @ {}", evidence["fact"], evidence["source"]))
        .collect::<Vec<_>>()
        .join("\n")
}

fn user<'v>(verdict: &'v Value, name: &str) -> &'v Value {
    verdict["facts"]["auth"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["name"] == name)
        .unwrap_or_else(|| panic!("{name} not examined: {verdict:#}"))
}

#[test]
fn healthy_user_with_a_key_raises_nothing() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice("true", &[]);
    assert!(auth_ids(&verdict).is_empty(), "{verdict:#}");
    let alice = user(&verdict, "alice");
    assert_eq!(alice["role"], "requested");
    assert_eq!(alice["settings"]["source"], "sshd_t");
    assert_eq!(alice["account"]["shadow"]["password"], "no_password");
    let keys_file = &alice["keys_files"][0];
    assert_eq!(keys_file["path"], "/home/alice/.ssh/authorized_keys");
    assert_eq!(keys_file["keys"][0]["key_type"], "ssh-ed25519");
    assert_eq!(keys_file["keys"][0]["comment"], "alice@laptop");
    let chain: Vec<&str> = keys_file["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["stat"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        chain,
        [
            "/home/alice/.ssh/authorized_keys",
            "/home/alice/.ssh",
            "/home/alice"
        ],
        "StrictModes stops at the home directory"
    );
    assert_eq!(alice["keys_files"][1]["stat"]["exists"], false);
}

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
fn locked_account_is_refused_only_without_pam() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let lock = "usermod -p \"$(openssl passwd -6 pw)\" alice; usermod -L alice";
    let without_pam = diagnose_alice(
        &format!("{lock}; {}", with_config("UsePAM no")),
        &["--config", "/tmp/sshd_config"],
    );
    assert_eq!(auth_ids(&without_pam), ["SSH-USR-002"], "{without_pam:#}");
    let finding = only(&without_pam, "SSH-USR-002");
    assert!(
        !finding.to_string().contains("$6$"),
        "no hash in the verdict"
    );
    assert!(evidence_text(finding).contains("\"UsePAM no\" @ \"/tmp/sshd_config:1\""));
    let with_pam = diagnose_alice(
        &format!("{lock}; {}", with_config("UsePAM yes")),
        &["--config", "/tmp/sshd_config"],
    );
    assert!(auth_ids(&with_pam).is_empty(), "{with_pam:#}");
    assert_eq!(
        user(&with_pam, "alice")["account"]["shadow"]["password"],
        "locked"
    );
}

#[test]
fn expired_account_is_refused() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice("chage -E 0 alice", &[]);
    assert_eq!(auth_ids(&verdict), ["SSH-USR-003"], "{verdict:#}");
    let finding = only(&verdict, "SSH-USR-003");
    assert!(evidence_text(finding).contains("day 0 (1970-01-01)"));
    assert_eq!(finding["remediation"]["guest"][0], "chage -E -1 alice");
}

#[test]
fn forced_password_change_is_a_warning_with_pam() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice("chage -d 0 alice", &[]);
    let finding = only(&verdict, "SSH-USR-004");
    assert_eq!(finding["severity"], "warning");
    assert!(evidence_text(finding).contains("must be changed at next login"));
}

#[test]
fn missing_shell_is_refused() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_alice("usermod -s /bin/nosuchshell alice", &[]);
    assert_eq!(auth_ids(&verdict), ["SSH-USR-005"], "{verdict:#}");
    let finding = only(&verdict, "SSH-USR-005");
    assert_eq!(
        finding["title"],
        "alice's login shell /bin/nosuchshell does not exist"
    );
    assert!(evidence_text(finding).contains("not listed in /etc/shells"));
    assert_eq!(
        finding["remediation"]["guest"][0],
        "usermod -s /bin/bash alice"
    );
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
    assert_eq!(finding["remediation"]["guest"][0], "rm /etc/nologin");
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
        "sshd -T -C user=alice,host=client.invalid,addr=203.0.113.1"
    );
    assert_eq!(alice["keys_files"][0]["path"], "/etc/ssh/keys/alice");
    // Her key is left in ~/.ssh/authorized_keys, which sshd no longer reads for her.
    assert_eq!(auth_ids(&verdict), ["SSH-AKF-008"], "{verdict:#}");
}

#[test]
fn unknown_user_is_named() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_after(PRIVATE_SYSTEM, &["--user", "nosuchuser"]);
    let finding = only(&verdict, "SSH-USR-001");
    assert_eq!(finding["title"], "User nosuchuser does not exist");
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

fn alice_logs_in(ns: &NetNs, port: u16) -> bool {
    alice_login(ns, "127.0.0.1", port).0
}

/// The verdict for alice against the running sshd's own config.
fn diagnose_running(ns: &NetNs, sshd: &Sshd) -> Value {
    let output = ns
        .command(support::sshdoctor_exe())
        .args([
            "--format", "json", "--imds", "never", "--user", "alice", "--config",
        ])
        .arg(sshd.config_path())
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).expect("JSON verdict")
}

/// Ground truth: each condition really makes sshd refuse alice's key, the verdict names
/// it, and once it is fixed the login works and the finding is gone. sshd, ssh and the
/// agent all run in this thread's private mount namespace (so sshd reads the private
/// /etc/passwd and /home) and in a network namespace.
#[test]
fn real_sshd_refuses_what_the_verdict_names() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    support::accounts::in_private_system(ALICE, || {
        let ns = NetNs::new();
        let port = 2222;
        let sshd = Sshd::start(
            &ns,
            port,
            &[
                "StrictModes yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "LogLevel DEBUG1",
            ],
        );
        assert!(alice_logs_in(&ns, port), "baseline login: {}", sshd.log());
        assert!(auth_ids(&diagnose_running(&ns, &sshd)).is_empty());
        // Debian's sshd accepts group write by the user's own group: no finding either.
        sh("chmod 0775 /home/alice/.ssh");
        assert!(alice_logs_in(&ns, port), "private group: {}", sshd.log());
        assert!(auth_ids(&diagnose_running(&ns, &sshd)).is_empty());

        let conditions = [
            (
                "chgrp users /home/alice/.ssh",
                "chmod 0700 /home/alice/.ssh",
                "SSH-AKF-001",
                "bad ownership or modes for directory /home/alice/.ssh",
            ),
            (
                "usermod -L alice",
                "usermod -p '*' alice",
                "SSH-USR-002",
                "User alice not allowed because account is locked",
            ),
            // The verdict's own fix, as printed.
            (
                "echo 'sshd: ALL' >> /etc/hosts.deny",
                "",
                "SSH-ACL-005",
                "Connection refused by tcp wrapper",
            ),
        ];
        // The cause as sshd logs it (the TCP wrappers refusal only at DEBUG1), else as the
        // client saw it.
        for (breakage, fix, id, cause) in conditions {
            sh(breakage);
            let (logged_in, client_said) = alice_login(&ns, "127.0.0.1", port);
            assert!(!logged_in, "{breakage}: login should fail");
            let verdict = diagnose_running(&ns, &sshd);
            assert_eq!(auth_ids(&verdict), [id], "{breakage}: {verdict:#}");
            let said = format!("{}{client_said}", sshd.log());
            assert!(said.contains(cause), "{breakage}: {said}");
            let printed = only(&verdict, id)["remediation"]["guest"][0]
                .as_str()
                .unwrap()
                .to_string();
            let fix = if fix.is_empty() {
                printed.as_str()
            } else {
                fix
            };
            sh(fix);
            assert!(
                alice_logs_in(&ns, port),
                "{fix}: login should work: {}",
                sshd.log()
            );
            assert!(auth_ids(&diagnose_running(&ns, &sshd)).is_empty(), "{fix}");
        }
    });
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
        assert_eq!(
            fix,
            format!("sed -i '1s/^/# /' {drop_in} && systemctl reload ssh.service")
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
