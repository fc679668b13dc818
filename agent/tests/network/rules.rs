//! The network rules (SSH-NET) judged on facts built by hand: where sshd listens against
//! what its config asks for, who holds port 22, and the connections on it.

use crate::support::facts::*;
use sshdoctor::facts::*;
use sshdoctor::rules::{evaluate, Severity};
use sshdoctor::verdict::Status;

#[test]
fn nonstandard_port_warns_about_the_nsg() {
    let mut facts = healthy();
    facts.sockets.listeners = vec![listener("0.0.0.0", 2222, ("sshd", 829))];
    facts.config.ports = vec![located(2222, 13)];
    facts.config.endpoints = vec![Endpoint {
        host: "0.0.0.0".into(),
        port: 2222,
        file: None,
        line: None,
    }];
    let verdict = verdict(facts);
    assert_eq!(
        verdict.findings.iter().map(|f| f.id).collect::<Vec<_>>(),
        ["SSH-NET-004"]
    );
    assert_eq!(verdict.status, Status::Warning);
    let finding = &verdict.findings[0];
    assert!(finding.remediation.azure[0].contains("--port 2222"));
    assert!(finding
        .evidence
        .iter()
        .any(|e| e.source.as_deref() == Some("/etc/ssh/sshd_config:13")));
}

#[test]
fn config_changed_without_restart_is_noticed() {
    let mut facts = healthy();
    facts.config.ports = vec![located(2222, 13)];
    facts.config.endpoints = vec![Endpoint {
        host: "0.0.0.0".into(),
        port: 2222,
        file: None,
        line: None,
    }];
    assert_eq!(ids(&facts), ["SSH-NET-005"]);
}

#[test]
fn loopback_only_is_critical() {
    let mut facts = healthy();
    facts.sockets.listeners = vec![listener("127.0.0.1", 22, ("sshd", 829))];
    facts.config.listen_addresses = vec![located(
        ListenAddress {
            host: "127.0.0.1".into(),
            port: None,
            rdomain: None,
        },
        20,
    )];
    let findings = evaluate(&facts);
    assert_eq!(findings[0].id, "SSH-NET-002");
    assert_eq!(
        findings[0].title,
        "sshd listens only on loopback (127.0.0.1:22)"
    );
}

#[test]
fn listen_address_no_interface_holds() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    service(&mut facts).active_state = "failed".into();
    service(&mut facts).result = Some("exit-code".into());
    facts.config.listen_addresses = vec![located(
        ListenAddress {
            host: "10.99.99.99".into(),
            port: None,
            rdomain: None,
        },
        20,
    )];
    let found = ids(&facts);
    assert!(
        found.contains(&"SSH-NET-003") && found.contains(&"SSH-SVC-004"),
        "{found:?}"
    );
    let finding = evaluate(&facts)
        .into_iter()
        .find(|f| f.id == "SSH-NET-003")
        .unwrap();
    assert_eq!(
        finding.title,
        "ListenAddress 10.99.99.99 is not held by any interface"
    );
}

#[test]
fn another_program_on_port_22() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    service(&mut facts).active_state = "failed".into();
    facts.sockets.listeners = vec![listener("0.0.0.0", 22, ("python3", 4242))];
    let findings = evaluate(&facts);
    let taken = findings
        .iter()
        .find(|f| f.id == "SSH-NET-006")
        .expect("port taken");
    assert_eq!(
        taken.title,
        "Port 22 is held by python3 (pid 4242), not sshd"
    );
    assert_eq!(taken.severity, Severity::Critical);
}

#[test]
fn running_but_not_listening() {
    let mut facts = healthy();
    facts.sockets.listeners.clear();
    assert_eq!(ids(&facts), ["SSH-NET-001"]);
    // The repair is the restart that makes sshd bind its addresses again.
    let finding = &evaluate(&facts)[0];
    assert_eq!(
        finding.remediation.guest[0],
        "/usr/sbin/sshd -t && systemctl restart ssh.service"
    );
    assert_eq!(finding.remediation.actions.len(), 1);
}

#[test]
fn ipv6_only_listener_locks_out_ipv4_clients() {
    let mut facts = healthy();
    facts.sockets.listeners = vec![listener("::", 22, ("sshd", 829))];
    facts.config.address_family = Some(located(AddressFamily::Inet6, 5));
    let findings = evaluate(&facts);
    assert_eq!(findings[0].id, "SSH-NET-007");
    assert!(findings[0]
        .evidence
        .iter()
        .any(|e| e.fact == "addressfamily inet6"));
}

#[test]
fn dual_stack_wildcard_is_reachable_over_ipv4() {
    let mut facts = healthy();
    let mut dual = listener("::", 22, ("sshd", 829));
    dual.v6only = Some(false);
    facts.sockets.listeners = vec![dual];
    assert!(ids(&facts).is_empty());
}

/// Connections from this machine say nothing about the network path; v4-mapped peers
/// read as IPv4; a handshake seen once may be in flight, one seen twice is stalled.
#[test]
fn connections_on_ssh_ports_are_live_evidence() {
    let mut facts = healthy();
    facts.sockets.connections = vec![
        connection("127.0.0.1", 50000, ConnectionState::Established),
        connection("::1", 50001, ConnectionState::TimeWait),
        connection("203.0.113.9", 50002, ConnectionState::SynRecv),
    ];
    assert!(ids(&facts).is_empty(), "{:?}", ids(&facts));

    facts.sockets.connections.extend([
        connection("::ffff:198.51.100.7", 41000, ConnectionState::Established),
        connection("2001:db8::5", 41001, ConnectionState::TimeWait),
        connection("192.0.2.1", 41002, ConnectionState::Established),
        connection("192.0.2.2", 41003, ConnectionState::FinWait2),
    ]);
    let reached = evaluate(&facts);
    assert_eq!(ids(&facts), ["SSH-NET-010", "SSH-NET-011"]);
    assert_eq!(reached[0].severity, Severity::Info);
    // Only connections sshd holds now prove the path; closed ones are history.
    assert_eq!(
        reached[0].title,
        "Clients reach sshd on port 22: 2 connection(s) from 192.0.2.1, 198.51.100.7"
    );
    let facts_of = |finding: &sshdoctor::rules::Finding| -> Vec<String> {
        finding.evidence.iter().map(|e| e.fact.clone()).collect()
    };
    assert_eq!(
        facts_of(&reached[0]),
        ["198.51.100.7:41000 connected", "192.0.2.1:41002 connected"]
    );
    assert_eq!(
        reached[1].title,
        "2 connection(s) from 192.0.2.2, 2001:db8::5 to port 22 ended within the last minute"
    );
    assert_eq!(
        facts_of(&reached[1]),
        [
            "[2001:db8::5]:41001 closed less than a minute ago",
            "192.0.2.2:41003 closing",
        ]
    );
    assert_eq!(verdict(facts.clone()).status, Status::Healthy);

    facts.sockets.connections[2].half_open_ms = Some(1500);
    facts.sockets.connections[2].retransmits = Some(2);
    let stalled = evaluate(&facts);
    assert_eq!(stalled[0].id, "SSH-NET-009");
    assert_eq!(
        stalled[0].evidence[0].fact,
        "203.0.113.9:50002 still half-open after 1500 ms, SYN-ACK sent 2 more time(s)"
    );
    assert_eq!(stalled[0].remediation.guest[1], "ip route get 203.0.113.9");
}
