//! The live rules (SSH-LIV) judged on facts built by hand: what the running sshd did
//! when the probes connected and asked about keys.

use crate::support::facts::*;
use sshdoctor::facts::*;
use sshdoctor::rules::{evaluate, Severity};
use sshdoctor::verdict::Status;

/// The listener stopped with SIGSTOP: the kernel queues connections, nobody answers.
/// The verdict names the pid and its state, says how to let it run, and connections
/// stuck in the queue or closed are never taken as clients reaching sshd.
#[test]
fn a_stopped_listener_is_critical_and_its_connections_prove_nothing() {
    let mut facts = healthy();
    facts.processes.sshd[0].state = Some('T');
    facts.processes.sshd[0].off_cpu_ms = Some(42_000);
    facts.sockets.listeners[0].accept_queue = Some(2);
    facts.live.banners[0].outcome = BannerOutcome::BannerTimeout;
    facts.live.banners[0].banner = None;
    facts.live.banners[0].elapsed_ms = 2000;
    facts.sockets.connections = vec![
        TcpConnection {
            accepted: Some(false),
            ..connection("10.0.2.2", 40000, ConnectionState::Established)
        },
        TcpConnection {
            accepted: Some(false),
            ..connection("10.0.2.2", 40001, ConnectionState::CloseWait)
        },
        connection("10.0.2.2", 39999, ConnectionState::TimeWait),
    ];
    let findings = evaluate(&facts);
    let found: Vec<&str> = findings.iter().map(|finding| finding.id).collect();
    assert_eq!(found, ["SSH-LIV-001", "SSH-NET-011"], "{findings:#?}");
    let stopped = &findings[0];
    assert_eq!(stopped.severity, Severity::Critical);
    assert_eq!(
        stopped.title,
        "sshd (pid 829) is stopped: it holds port 22 and answers no one"
    );
    assert_eq!(stopped.remediation.guest[0], "kill -CONT 829");
    assert_eq!(
        stopped.remediation.guest[1],
        "systemctl restart ssh.service   # if it still does not answer"
    );
    let evidence: Vec<&str> = stopped.evidence.iter().map(|e| e.fact.as_str()).collect();
    assert_eq!(
        evidence,
        [
            "pid 829 (sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups) is stopped (T), has not run for 42 s",
            "connected to 127.0.0.1:22 from 127.115.1.2: connected; no banner after 2000 ms",
            "accept queue: 2 of 128 connections waiting",
            "10.0.2.2:40000 waits in the accept queue, never accepted",
            "10.0.2.2:40001 gave up waiting (CLOSE-WAIT), never accepted",
        ]
    );
    assert_eq!(verdict(facts).status, Status::Critical);
}

/// A hung listener (not stopped), a full queue, and one that closes every connection
/// before its banner under TCP wrappers: each cause named, with the command that fixes it.
#[test]
fn silent_and_closing_listeners_name_their_cause_and_fix() {
    let mut facts = healthy();
    facts.live.banners[0].outcome = BannerOutcome::BannerTimeout;
    let hung = evaluate(&facts);
    assert_eq!(hung[0].id, "SSH-LIV-002");
    assert_eq!(
        hung[0].title,
        "sshd accepts connections on 0.0.0.0:22 but sends no banner: the daemon is hung or overloaded"
    );
    assert_eq!(
        hung[0].remediation.guest[0],
        "/usr/sbin/sshd -t && systemctl restart ssh.service"
    );
    facts.sockets.listeners[0].accept_queue = Some(129);
    assert!(evaluate(&facts)[0]
        .title
        .ends_with("its accept queue is full, so the kernel drops new connections"));

    facts.live.banners[0].outcome = BannerOutcome::ClosedBeforeBanner;
    facts.sshd.uses_libwrap = Some(true);
    facts.auth.tcp_wrappers = TcpWrappersFacts {
        deny: vec![Located {
            value: "sshd: ALL".into(),
            file: "/etc/hosts.deny".into(),
            line: 17,
        }],
        allow: vec![],
    };
    let closing = evaluate(&facts);
    let live = closing
        .iter()
        .find(|f| f.id == "SSH-LIV-003")
        .expect("SSH-LIV-003");
    assert_eq!(
        live.title,
        "sshd on 0.0.0.0:22 closes connections before its banner: TCP wrappers refuse it (/etc/hosts.deny:17: sshd: ALL)"
    );
    assert_eq!(
        live.remediation.guest[0],
        "sed -i '17s/^/# /' /etc/hosts.deny"
    );

    facts.auth.tcp_wrappers = TcpWrappersFacts::default();
    let unknown = evaluate(&facts);
    assert_eq!(
        unknown[0].title,
        "sshd on 0.0.0.0:22 closes connections before its banner: a refusal before SSH starts; sshd's log says which"
    );
    facts.live.banners[0].outcome = BannerOutcome::NotSsh;
    facts.live.banners[0].banner = Some("HTTP/1.1 400 Bad Request".into());
    assert_eq!(
        evaluate(&facts)[0].title,
        "Port 22 answers, but not with SSH: \"HTTP/1.1 400 Bad Request\""
    );
}

/// sshd refuses every key of a user and nothing static says why: critical, never
/// silence. A key whose from= excludes the probe's address proves nothing either way;
/// a refusal a static rule explains is that rule's finding alone.
#[test]
fn keys_the_live_sshd_refuses_without_a_known_reason_are_critical() {
    let mut facts = healthy();
    facts.auth.users = vec![alice()];
    facts.live.key_queries = vec![key_query(KeyQueryOutcome::NotAccepted)];
    let refused = evaluate(&facts);
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0].id, "SSH-LIV-005");
    assert_eq!(
        refused[0].title,
        "sshd refuses every key of alice, and no check here explains why"
    );
    assert_eq!(
        refused[0].evidence[0].fact,
        "ssh-ed25519 SHA256:C5lCi+3Va6pUQ of alice: not accepted (asked 127.0.0.1:22 from 127.115.7.9)"
    );
    assert_eq!(
        refused[0].evidence[0].source.as_deref(),
        Some("/home/alice/.ssh/authorized_keys:1")
    );
    let refused_verdict = verdict(facts.clone());
    assert_eq!(refused_verdict.exit_code, 2);
    // Its long first command wraps within the console's 80 columns, continuation lines
    // and their backslashes included.
    for line in screen(&refused_verdict).lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }

    // A second key that is accepted: the refused one is a warning.
    let mut second = key_query(KeyQueryOutcome::Accepted);
    second.line = 2;
    facts.live.key_queries.push(second);
    let partly = evaluate(&facts);
    assert_eq!(partly[0].id, "SSH-LIV-006");
    assert_eq!(
        partly[0].title,
        "sshd refuses 1 of alice's 2 keys, for a reason no check here explains"
    );

    // from= limits the only key to other hosts: refused from loopback by design.
    facts.live.key_queries = vec![KeyQuery {
        from: Some("203.0.113.0/24".into()),
        ..key_query(KeyQueryOutcome::NotAccepted)
    }];
    assert!(evaluate(&facts).is_empty());
    assert_eq!(
        verdict(facts.clone()).proof.unproven,
        ["alice's keys are limited by from= to other addresses, so sshd cannot be asked about them from here"]
    );

    // An old refusal of alice in sshd's log explains nothing about today's.
    facts.live.key_queries = vec![key_query(KeyQueryOutcome::NotAccepted)];
    facts.logs.lines = vec![log_line(
        700,
        "User alice from 203.0.113.4 not allowed because listed in DenyUsers",
    )];
    let history: Vec<&str> = evaluate(&facts).iter().map(|f| f.id).collect();
    assert_eq!(history, ["SSH-LIV-005", "SSH-LOG-004"]);
    facts.logs.lines.clear();

    // DenyUsers names alice: the static finding explains the refusal.
    facts.live.key_queries = vec![key_query(KeyQueryOutcome::NotAccepted)];
    facts.auth.users[0]
        .settings
        .values
        .insert("denyusers".into(), vec!["alice".into()]);
    let explained: Vec<&str> = evaluate(&facts).iter().map(|f| f.id).collect();
    assert!(!explained.contains(&"SSH-LIV-005"), "{explained:?}");
    assert!(
        explained.iter().any(|id| id.starts_with("SSH-ACL")),
        "{explained:?}"
    );
}

/// No TCP handshake even from this machine: a drop before sshd. A firewall or a full
/// connection-tracking table that explains it is the finding; otherwise the live rule
/// says so; a full accept queue is sshd's own silence.
#[test]
fn a_handshake_dropped_locally_is_told_apart_from_a_silent_sshd() {
    let mut facts = healthy();
    facts.live.banners[0].outcome = BannerOutcome::ConnectTimeout;
    facts.live.banners[0].banner = None;
    let dropped = evaluate(&facts);
    assert_eq!(dropped[0].id, "SSH-LIV-007");
    assert_eq!(
        dropped[0].title,
        "Connections to 0.0.0.0:22 get no TCP handshake, even from this machine"
    );

    facts.health.conntrack = Some(ConntrackFacts {
        entries: 65536,
        max: 65536,
        drops: Some(412),
        ..ConntrackFacts::default()
    });
    let explained: Vec<&str> = evaluate(&facts).iter().map(|f| f.id).collect();
    assert_eq!(explained, ["SSH-HST-006"]);

    facts.health.conntrack = None;
    facts.sockets.listeners[0].accept_queue = Some(128);
    let queue = evaluate(&facts);
    assert_eq!(queue[0].id, "SSH-LIV-002");
    assert!(queue[0]
        .title
        .ends_with("its accept queue is full, so the kernel drops new connections"));
}
