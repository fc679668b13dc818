//! PAM as a real sshd runs it (UsePAM yes, this Debian's own /etc/pam.d in a private copy
//! of /etc): the key is accepted, then PAM's account or session stack refuses. Ground
//! truth is alice's real login from a client namespace: it fails with the break, the
//! verdict names the line that decides, and the verdict's first command, run as printed,
//! brings the login back (PAM reads its files at every login: no reload).

use crate::support;

use serde_json::Value;
use support::accounts::{in_private_system, sh, ALICE};
use support::verdict::{first_command, only, problems};
use support::vm_net::VmNet;
use support::{line_number, Sshd};

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str = "a real sshd in network namespaces, with private accounts, needs root";

const PAM_SSHD: &str = "/etc/pam.d/sshd";
const ACCESS_CONF: &str = "/etc/security/access.conf";
/// What sshd logs when each stage refuses.
const ACCOUNT_REFUSED: &str = "Access denied for user alice by PAM account configuration";
const SESSION_FAILED: &str = "PAM: pam_open_session()";

fn start(network: &VmNet) -> Sshd {
    network.start_sshd(&["UsePAM yes", "LogLevel VERBOSE"])
}

/// With `setup` done: alice's login fails after sshd accepts her key (sshd logs
/// `logged`), the verdict is critical with `id` alone, `check` looks at that finding,
/// and its first command, run as printed, lets alice in with a healthy verdict.
fn refused_then_fixed(setup: &str, logged: &str, id: &str, check: impl FnOnce(&Value) + Send) {
    in_private_system(&format!("{ALICE}; {setup}"), || {
        let network = VmNet::new();
        let sshd = start(&network);
        let (logged_in, said) = network.login();
        assert!(!logged_in, "login should fail: {said}");
        let log = sshd.log();
        assert!(log.contains("Accepted key ED25519"), "{log}");
        assert!(log.contains(logged), "{log}");
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!((problems(&verdict), code), (vec![id], 2), "{verdict:#}");
        let finding = only(&verdict, id);
        check(finding);
        sh(first_command(finding));
        network.assert_healthy(&sshd);
    });
}

/// Debian's own stack, as installed: logins work and nothing is found. Its
/// common-account and common-session hold `requisite pam_deny.so` lines that pam_unix's
/// and pam_permit's jumps skip; a reader that does not run the stack would see a refusal.
#[test]
fn the_distributions_own_stack_is_healthy() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = start(&network);
        network.assert_healthy(&sshd);
        let (verdict, _) = network.diagnose(&sshd);
        let account = verdict["facts"]["pam"]["account"].as_array().unwrap();
        assert!(
            account.iter().any(|line| line["module"] == "pam_deny.so"),
            "{account:#?}"
        );
    });
}

/// `account requisite pam_deny.so` after Debian's includes: refused, named by line.
#[test]
fn pam_deny_in_the_account_stack_is_named_and_the_fix_lets_alice_in() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!("echo 'account requisite pam_deny.so' >> {PAM_SSHD}");
    refused_then_fixed(&setup, ACCOUNT_REFUSED, "SSH-PAM-001", |refused| {
        let line = line_number(PAM_SSHD, "account requisite pam_deny.so");
        let source = format!("{PAM_SSHD}:{line}");
        assert_eq!(
            refused["title"],
            format!("PAM refuses alice after sshd accepts the key: pam_deny.so at {source}")
        );
        assert_eq!(refused["evidence"][0]["source"], source);
        assert_eq!(
            first_command(refused),
            format!("sed -i '{line}s/^/# /' {PAM_SSHD}")
        );
    });
}

/// pam_access with an access.conf rule refusing alice from everywhere: the rule's line is
/// named and commented out by the fix.
#[test]
fn pam_access_refusing_alice_names_the_access_conf_rule() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "echo 'account required pam_access.so' >> {PAM_SSHD}; \
         echo '-:alice:ALL' >> {ACCESS_CONF}"
    );
    refused_then_fixed(&setup, ACCOUNT_REFUSED, "SSH-PAM-001", |refused| {
        let rule = line_number(ACCESS_CONF, "-:alice:ALL");
        assert_eq!(
            refused["evidence"][1]["source"],
            format!("{ACCESS_CONF}:{rule}")
        );
        assert_eq!(refused["evidence"][1]["fact"], "-:alice:ALL");
        assert_eq!(
            first_command(refused),
            format!("sed -i '{rule}s/^/# /' {ACCESS_CONF}")
        );
    });
}

/// Rules for root only, and for everyone but alice, leave alice's logins alone.
#[test]
fn pam_access_rules_for_others_are_no_finding() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; echo 'account required pam_access.so' >> {PAM_SSHD}; \
         printf '+:root:LOCAL\\n-:root:ALL\\n-:ALL EXCEPT alice:ALL\\n' >> {ACCESS_CONF}"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = start(&network);
        network.assert_healthy(&sshd);
    });
}

/// A required session module that is not installed: PAM cannot open the session.
#[test]
fn a_missing_session_module_is_named_and_the_fix_lets_alice_in() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!("echo 'session required pam_sshdoctor_absent.so' >> {PAM_SSHD}");
    refused_then_fixed(&setup, SESSION_FAILED, "SSH-PAM-002", |failed| {
        let explanation = failed["explanation"].as_str().unwrap();
        assert!(
            explanation.contains("pam_sshdoctor_absent.so is not installed"),
            "{failed:#}"
        );
    });
}

/// An include that names a file that does not exist: Linux-PAM installs it to fail.
#[test]
fn an_include_of_a_missing_file_fails_the_stack() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!("echo 'account include sshdoctor-absent' >> {PAM_SSHD}");
    refused_then_fixed(&setup, ACCOUNT_REFUSED, "SSH-PAM-001", |refused| {
        let explanation = refused["explanation"].as_str().unwrap();
        assert!(
            explanation.contains("cannot open the included file"),
            "{refused:#}"
        );
    });
}

/// pam_succeed_if letting only system accounts through: alice (uid 1000+) is refused.
#[test]
fn pam_succeed_if_refusing_alices_uid_is_named() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup =
        format!("sed -i '1i account requisite pam_succeed_if.so uid < 1000 quiet' {PAM_SSHD}");
    refused_then_fixed(&setup, ACCOUNT_REFUSED, "SSH-PAM-001", |refused| {
        assert_eq!(refused["evidence"][0]["source"], format!("{PAM_SSHD}:1"));
    });
}

/// pam_listfile allowing only the users in a list that does not name alice: the fix adds
/// her to the list.
#[test]
fn pam_listfile_without_alice_is_named_and_the_fix_adds_her() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "echo root > /etc/ssh/allowed; \
         echo 'account required pam_listfile.so item=user sense=allow file=/etc/ssh/allowed onerr=fail' >> {PAM_SSHD}"
    );
    refused_then_fixed(&setup, ACCOUNT_REFUSED, "SSH-PAM-001", |refused| {
        assert_eq!(first_command(refused), "echo alice >> /etc/ssh/allowed");
    });
}

/// pam_access refusing alice from one network only: whether it refuses depends on the
/// client, so the verdict judges the addresses sshd's log shows her coming from. Her
/// client's network is refused: critical, the rule named, the fix lets her in. A rule for
/// another network leaves her alone.
#[test]
fn pam_access_by_origin_is_judged_against_the_clients_seen() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    for (origin, refused) in [("192.0.2.0/24", true), ("203.0.113.0/24", false)] {
        let rule = format!("-:alice:{origin}");
        let setup = format!(
            "{ALICE}; echo 'account required pam_access.so' >> {PAM_SSHD}; \
             echo '{rule}' >> {ACCESS_CONF}"
        );
        in_private_system(&setup, || {
            let network = VmNet::new();
            let sshd = start(&network);
            let (logged_in, _) = network.login();
            assert_eq!(logged_in, !refused, "{rule}: {}", sshd.log());
            let (verdict, code) = network.diagnose_with_log(&sshd);
            if !refused {
                assert_eq!((problems(&verdict), code), (vec![], 0), "{verdict:#}");
                return;
            }
            assert!(problems(&verdict).contains(&"SSH-PAM-001"), "{verdict:#}");
            assert_eq!(code, 2);
            let finding = only(&verdict, "SSH-PAM-001");
            assert_eq!(finding["evidence"][1]["fact"], rule);
            assert_eq!(
                finding["evidence"][2]["fact"],
                "a client of alice at 192.0.2.2"
            );
            sh(first_command(finding));
            assert!(network.login().0, "{}", sshd.log());
            let (after, code) = network.diagnose_with_log(&sshd);
            assert_eq!((problems(&after), code), (vec![], 0), "{after:#}");
        });
    }
}
