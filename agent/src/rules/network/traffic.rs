//! Do clients' packets reach sshd and get answers back? Judged from the connections the
//! kernel holds on SSH's ports now. A connection proves a working path only while sshd
//! answers on that port and has accepted it; closed and closing ones are history, and one
//! sshd never accepted is evidence against (the live rules show it).

use super::{Draft, RuleId, SshView};
use crate::facts::{BannerOutcome, ConnectionState, Facts, TcpConnection};
use std::collections::BTreeSet;

/// Peers named in a finding's title; the evidence lists more.
const PEERS_IN_TITLE: usize = 3;
/// Evidence lines per finding.
const EVIDENCE_LINES: usize = 8;

pub fn check(facts: &Facts, _view: &SshView, findings: &mut Vec<Draft>) {
    // Connections from this machine itself say nothing about the network path.
    let remote: Vec<&TcpConnection> = facts
        .sockets
        .connections
        .iter()
        .filter(|connection| !connection.from_loopback())
        .collect();
    let ports: BTreeSet<u16> = remote.iter().map(|c| c.local_port).collect();
    for port in ports {
        let on_port = || remote.iter().copied().filter(move |c| c.local_port == port);
        check_half_open(port, on_port().collect(), findings);
        if sshd_answers(facts, port) {
            check_reached(port, on_port().collect(), findings);
        }
        check_history(port, on_port().collect(), findings);
    }
}

/// sshd answered the banner probe on this port (or the probes did not run, and the table
/// alone must do).
fn sshd_answers(facts: &Facts, port: u16) -> bool {
    let live = &facts.live;
    !live.ran
        || live
            .banners
            .iter()
            .any(|probe| probe.port == port && probe.outcome == BannerOutcome::Answered)
}

/// Connections that ended: they show that these clients got through once, not now.
fn check_history(port: u16, connections: Vec<&TcpConnection>, findings: &mut Vec<Draft>) {
    let closed: Vec<&TcpConnection> = connections
        .into_iter()
        .filter(|c| {
            !matches!(
                c.state,
                ConnectionState::SynRecv | ConnectionState::Established
            )
        })
        .collect();
    if !closed.is_empty() {
        findings.push(peers_finding(RuleId::ClientsReachedRecently, port, &closed));
    }
}

/// Handshakes still half-open when the table was read again: a handshake seen only once
/// may simply have been in flight.
fn check_half_open(port: u16, connections: Vec<&TcpConnection>, findings: &mut Vec<Draft>) {
    let stalled: Vec<&TcpConnection> = connections
        .into_iter()
        .filter(|c| c.state == ConnectionState::SynRecv && c.half_open_ms.is_some())
        .collect();
    let Some(first) = stalled.first() else {
        return;
    };
    let mut finding = Draft::new(RuleId::HandshakesUnanswered)
        .var("port", port.to_string())
        .var("count", stalled.len().to_string())
        .var("peer", first.remote_address.to_canonical().to_string());
    for connection in stalled.iter().take(EVIDENCE_LINES) {
        let resent = match connection.retransmits {
            Some(count) if count > 0 => format!(", SYN-ACK sent {count} more time(s)"),
            _ => String::new(),
        };
        finding = finding.evidence(
            format!(
                "{} still half-open after {} ms{resent}",
                peer_label(connection),
                connection.half_open_ms.unwrap_or_default()
            ),
            Some("TCP table (SYN-RECV), read twice".into()),
        );
    }
    findings.push(finding);
}

/// Connections sshd accepted and still holds: the path works both ways for these peers.
fn check_reached(port: u16, connections: Vec<&TcpConnection>, findings: &mut Vec<Draft>) {
    let reached: Vec<&TcpConnection> = connections
        .into_iter()
        .filter(|c| c.state == ConnectionState::Established && c.accepted != Some(false))
        .collect();
    if !reached.is_empty() {
        findings.push(peers_finding(RuleId::ClientsReachSshd, port, &reached));
    }
}

/// A finding about these connections: the port, how many, the first peers by name, and
/// each connection's peer and state as evidence.
fn peers_finding(rule: RuleId, port: u16, connections: &[&TcpConnection]) -> Draft {
    let peers: BTreeSet<String> = connections
        .iter()
        .map(|c| c.remote_address.to_canonical().to_string())
        .collect();
    let mut named: Vec<String> = peers.iter().take(PEERS_IN_TITLE).cloned().collect();
    if peers.len() > PEERS_IN_TITLE {
        named.push(format!("{} more", peers.len() - PEERS_IN_TITLE));
    }
    let mut finding = Draft::new(rule)
        .var("port", port.to_string())
        .var("count", connections.len().to_string())
        .var("peers", named.join(", "));
    for connection in connections.iter().take(EVIDENCE_LINES) {
        finding = finding.evidence(
            format!(
                "{} {}",
                peer_label(connection),
                state_label(connection.state)
            ),
            Some("TCP table".into()),
        );
    }
    finding
}

fn peer_label(connection: &TcpConnection) -> String {
    match connection.remote_address {
        std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            format!("[{v6}]:{}", connection.remote_port)
        }
        address => format!("{}:{}", address.to_canonical(), connection.remote_port),
    }
}

fn state_label(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::SynRecv => "half-open",
        ConnectionState::Established => "connected",
        ConnectionState::SynSent => "connecting",
        // TIME-WAIT lasts 60 s on Linux.
        ConnectionState::TimeWait | ConnectionState::Close => "closed less than a minute ago",
        ConnectionState::CloseWait => "closed by the client, still open here",
        ConnectionState::FinWait1
        | ConnectionState::FinWait2
        | ConnectionState::LastAck
        | ConnectionState::Closing => "closing",
    }
}
