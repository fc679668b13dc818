//! The verdict as a whole, on facts built by hand: its status and exit code, and what it
//! says is proven and what is not.

use crate::support::facts::*;
use sshdoctor::facts::*;
use sshdoctor::verdict::Status;

#[test]
fn healthy_machine_has_no_findings_and_exit_zero() {
    let verdict = verdict(healthy());
    assert!(verdict.findings.is_empty(), "{:?}", verdict.findings);
    assert_eq!(verdict.status, Status::Healthy);
    assert_eq!(verdict.exit_code, 0);
    // The screen says what "healthy" rests on.
    let text = screen(&verdict);
    assert!(
        text.contains(
            "Shown by the running sshd:\n  sshd answers on 0.0.0.0:22: \"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6\" in 3 ms\n"
        ),
        "{text}"
    );
    assert!(!text.contains("Not proven"), "{text}");
}

#[test]
fn seeing_nothing_is_unknown_not_healthy() {
    let mut facts = healthy();
    facts.systemd = SystemdFacts::default();
    facts.processes = ProcessFacts::default();
    facts.sockets = SocketFacts::default();
    // No systemd, no /proc scan, no socket list: "not running" cannot be claimed either.
    let verdict = verdict(facts);
    assert_eq!(
        verdict.findings.iter().map(|f| f.id).collect::<Vec<_>>(),
        ["SSH-SVC-009"]
    );
    assert_eq!(verdict.status, Status::Unknown);
    assert_eq!(verdict.exit_code, 3);
}

/// Without the live probes nothing is proven: not healthy, but unknown, saying why.
#[test]
fn unproven_is_unknown_and_says_what_was_not_proven() {
    let mut facts = healthy();
    facts.live = LiveFacts {
        ran: false,
        skipped: Some("--no-probe: the running sshd was not asked".into()),
        ..LiveFacts::default()
    };
    let skipped = verdict(facts.clone());
    assert!(skipped.findings.is_empty());
    assert_eq!((skipped.status, skipped.exit_code), (Status::Unknown, 3));
    assert_eq!(
        skipped.summary,
        "No problem found, but not proven: --no-probe: the running sshd was not asked"
    );
    assert!(!skipped.proof.proven);

    // sshd answering only on loopback proves nothing for a remote client.
    facts = healthy();
    facts.live.banners[0].address = "127.0.0.1".parse().unwrap();
    assert!(verdict(facts.clone()).proof.unproven.contains(
        &"sshd answers only on loopback, where no other machine can reach it".to_string()
    ));

    // A user who holds keys that were never asked about: not proven either.
    facts = healthy();
    facts.auth.users = vec![alice()];
    facts.live.keys_not_asked = Some("no ssh client on this machine".into());
    let unasked = verdict(facts.clone());
    assert_eq!(unasked.status, Status::Unknown);
    assert_eq!(
        unasked.proof.unproven,
        ["alice's keys were not asked about: no ssh client on this machine"]
    );

    facts.live.keys_not_asked = None;
    facts.live.key_queries = vec![key_query(KeyQueryOutcome::Accepted)];
    let proven = verdict(facts);
    assert_eq!(proven.status, Status::Healthy, "{:?}", proven.proof);
    assert_eq!(
        proven.proof.shown,
        [
            "sshd answers on 0.0.0.0:22: \"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6\" in 3 ms",
            "sshd accepts alice's key /home/alice/.ssh/authorized_keys:1 (ssh-ed25519 SHA256:C5lCi+3Va6pUQ)",
        ]
    );
}
