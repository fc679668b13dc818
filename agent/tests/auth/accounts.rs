//! The accounts (SSH-USR) on real accounts and files: each test gets a private /etc
//! (a copy), /home, /tmp, /var/log and /var/mail in its own mount namespace, creates
//! throw-away users there with the real useradd, breaks them the way VMs break, and runs
//! the real binary with `--user`. Nothing reaches the host's accounts. The ground-truth
//! test runs a real sshd and ssh in a network namespace against the same private accounts.

use super::{auth_ids, diagnose_alice, evidence_text, user, with_config, NEEDS_ROOT};
use crate::support;
use serde_json::Value;
use support::accounts::{alice_login, sh, ALICE, PRIVATE_SYSTEM};
use support::mount_ns::diagnose_after;
use support::verdict::only;
use support::{NetNs, Sshd};

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
fn unknown_user_is_named() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_after(PRIVATE_SYSTEM, &["--user", "nosuchuser"]);
    let finding = only(&verdict, "SSH-USR-001");
    assert_eq!(finding["title"], "User nosuchuser does not exist");
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

/// alice's home on a mount whose FUSE daemon reads requests and answers none (in the
/// field: a dead NFS or CIFS server, a stopped sshfs), her key kept in /etc/ssh/keys: sshd
/// accepts the key, then waits on the home for good, and her real login hangs. The
/// verdict still arrives, names the path and the mount, and its first command (a forced,
/// lazy unmount) lets her in; the verdict then has nothing to say of the mount.
#[test]
fn a_home_that_never_answers_is_named_and_the_fix_lets_alice_in() {
    if !support::requires_root(NEEDS_ROOT)
        || !support::requires_program("python3", "the hung FUSE daemon")
    {
        return;
    }
    use support::accounts::in_private_system;
    use support::hung_mount::HungMount;
    use support::verdict::{first_command, problems};
    use support::vm_net::VmNet;
    let setup = format!(
        "{ALICE}; install -d -m 755 /etc/ssh/keys; \
         install -m 644 /home/alice/.ssh/authorized_keys /etc/ssh/keys/alice; \
         mkdir /tmp/hung; sed -i 's|:/home/alice:|:/tmp/hung/alice:|' /etc/passwd"
    );
    in_private_system(&setup, || {
        let _hung = HungMount::at("/tmp/hung");
        let network = VmNet::new();
        let sshd = network.start_sshd(&["AuthorizedKeysFile /etc/ssh/keys/%u"]);
        let hung = network.refused_with(&sshd, "SSH-USR-007");
        assert_eq!(
            hung["title"],
            "/tmp/hung/alice does not answer: logins as alice hang"
        );
        assert_eq!(
            hung["evidence"][0]["fact"],
            "/tmp/hung/alice did not answer in 2.0 s (/tmp/hung, a fuse.hung mount of hung)"
        );
        assert_eq!(hung["evidence"][0]["source"], "/proc/self/mountinfo");
        assert_eq!(first_command(&hung), "umount -f -l /tmp/hung");
        sh(first_command(&hung));
        let (logged_in, said) = network.login();
        assert!(logged_in, "{said}\n{}", sshd.log());
        let (after, _) = network.diagnose(&sshd);
        assert!(!problems(&after).contains(&"SSH-USR-007"), "{after:#}");
    });
}
