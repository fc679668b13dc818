//! What the running sshd answered: listeners that hold a port and answer no one, and
//! keys it refuses for reasons no other rule models. Also what the live probes proved,
//! which is what "healthy" rests on.

use super::{Draft, RuleId, Severity, SshView};
use crate::facts::{
    BannerOutcome, BannerProbe, ConnectionState, Facts, KeyQuery, KeyQueryOutcome, ListeningSocket,
    LiveFacts, SshdProcess, UserAuth,
};
use crate::openssh::patterns::address_permitted;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Rule families whose critical findings keep users out whoever they are (nologin, TCP
/// wrappers, AllowUsers, ...): they explain refused keys too.
const AUTH_FAMILIES: &[&str] = &["SSH-USR", "SSH-AKF", "SSH-ACL"];
/// Evidence lines per finding.
const EVIDENCE_LINES: usize = 8;

/// Runs after every other family: whether a refusal is explained depends on theirs.
pub fn check(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    for probe in &facts.live.banners {
        if let Some(finding) = silent_listener(facts, view, probe, findings) {
            findings.push(finding);
        }
    }
    for (user, queries) in queries_by_user(&facts.live.key_queries) {
        if let Some(finding) = refused_keys(user, &queries, findings) {
            findings.push(finding);
        }
    }
}

/// A finding for a listener that did not answer with an SSH banner.
fn silent_listener(
    facts: &Facts,
    view: &SshView,
    probe: &BannerProbe,
    findings: &[Draft],
) -> Option<Draft> {
    let socket = socket_text(probe.address, probe.port);
    let listener = facts
        .sockets
        .listeners
        .iter()
        .find(|listener| listener.address == probe.address && listener.port == probe.port);
    let owners: Vec<&SshdProcess> = facts
        .processes
        .sshd
        .iter()
        .filter(|process| probe.owners.contains(&process.pid))
        .collect();
    let stopped = owners
        .iter()
        .find(|process| matches!(process.state, Some('T' | 't')));
    let refusal = || refusal_cause(facts, view, probe);
    let closing = |(cause, fix): (String, String)| {
        Draft::new(RuleId::ListenerClosesConnections)
            .var("socket", socket.clone())
            .var("port", probe.port.to_string())
            .var("cause", cause)
            .var("fix", fix)
    };
    let finding = match probe.outcome {
        BannerOutcome::Answered | BannerOutcome::Error => return None,
        // Asleep in the cgroup freezer: the service finding names it and its repair.
        _ if explained_by(findings, FROZEN) => return None,
        _ if stopped.is_some() => {
            let process = stopped.expect("checked");
            Draft::new(RuleId::SshdStopped)
                .var("pid", process.pid.to_string())
                .var("port", probe.port.to_string())
                .evidence(
                    process_state(process),
                    Some(format!("/proc/{}/stat", process.pid)),
                )
        }
        BannerOutcome::NotSsh => Draft::new(RuleId::PortAnswersNotSsh)
            .var("port", probe.port.to_string())
            .var("banner", probe.banner.clone().unwrap_or_default()),
        BannerOutcome::ClosedBeforeBanner | BannerOutcome::Reset => {
            if refusal().is_none() && explained_by(findings, CONNECTION_SETUP_CAUSES) {
                return None;
            }
            let unit = view.unit_name(facts);
            closing(refusal().unwrap_or_else(|| {
                (
                    "a refusal before SSH starts; sshd's log says which".into(),
                    format!("journalctl -u {unit} -n 30 --no-pager"),
                )
            }))
        }
        // libwrap holds a refused connection for 5 s before it closes it.
        BannerOutcome::BannerTimeout if refusal().is_some() => closing(refusal().expect("checked")),
        // No handshake at all: packets are dropped before sshd (a firewall rule, a full
        // connection-tracking table), unless its accept queue is full.
        BannerOutcome::ConnectTimeout if !queue_full(listener) => {
            if drop_explained(findings) {
                return None;
            }
            Draft::new(RuleId::HandshakeDroppedLocally)
                .var("socket", socket.clone())
                .var("port", probe.port.to_string())
        }
        BannerOutcome::BannerTimeout | BannerOutcome::ConnectTimeout | BannerOutcome::Refused => {
            Draft::new(RuleId::ListenerSilent)
                .var("socket", socket.clone())
                .var("port", probe.port.to_string())
                .var("cause", silence_cause(probe, listener, &owners))
                .var("fix", end_and_start(facts, &owners))
        }
    };
    let finding = finding.evidence(probe_text(probe), Some("live probe".into()));
    let finding = with_listener_state(finding, listener, &owners, stopped.is_some());
    Some(with_waiting_clients(finding, facts, probe.port))
}

/// Outside systemd, the hung listener ended (politely, then not) and sshd started again;
/// a hung process does not act on SIGHUP.
fn end_and_start(facts: &Facts, owners: &[&SshdProcess]) -> String {
    let pids: Vec<String> = owners.iter().map(|owner| owner.pid.to_string()).collect();
    let pids = pids.join(" ");
    let sshd = facts.sshd.binary.as_deref().unwrap_or("/usr/sbin/sshd");
    format!("kill {pids}; sleep 2; kill -9 {pids} 2>/dev/null; {sshd}")
}

/// The listener's accept queue and its owners' scheduler states as evidence (a stopped
/// owner already named by the finding is not repeated).
fn with_listener_state(
    mut finding: Draft,
    listener: Option<&ListeningSocket>,
    owners: &[&SshdProcess],
    stopped_named: bool,
) -> Draft {
    if let Some(listener) = listener {
        if let Some(queue) = queue_text(listener) {
            finding = finding.evidence(queue, Some(format!("socket inode {}", listener.inode)));
        }
    }
    for process in owners
        .iter()
        .filter(|process| !stopped_named || process.state != Some('T'))
    {
        finding = finding.evidence(
            process_state(process),
            Some(format!("/proc/{}/stat", process.pid)),
        );
    }
    finding
}

fn socket_text(address: IpAddr, port: u16) -> String {
    std::net::SocketAddr::new(address, port).to_string()
}

fn probe_text(probe: &BannerProbe) -> String {
    let from = probe
        .source
        .as_deref()
        .map(|source| format!(" from {source}"))
        .unwrap_or_default();
    let what = match probe.outcome {
        BannerOutcome::Answered => {
            format!("answered \"{}\"", probe.banner.as_deref().unwrap_or(""))
        }
        BannerOutcome::NotSsh => format!("sent \"{}\"", probe.banner.as_deref().unwrap_or("")),
        BannerOutcome::Refused => "connection refused".into(),
        BannerOutcome::Reset => "connection reset before any banner".into(),
        BannerOutcome::ClosedBeforeBanner => "connection closed before any banner".into(),
        BannerOutcome::ConnectTimeout => "no TCP handshake".into(),
        BannerOutcome::BannerTimeout => "connected; no banner".into(),
        BannerOutcome::Error => probe.error.clone().unwrap_or_else(|| "failed".into()),
    };
    format!(
        "connected to {}{from}: {what} after {} ms",
        probe.target, probe.elapsed_ms
    )
}

fn queue_text(listener: &ListeningSocket) -> Option<String> {
    let queued = listener.accept_queue?;
    Some(match listener.accept_backlog {
        Some(backlog) => format!("accept queue: {queued} of {backlog} connections waiting"),
        None => format!("accept queue: {queued} connections waiting"),
    })
}

fn process_state(process: &SshdProcess) -> String {
    let state = match process.state {
        Some('T' | 't') => "stopped (T)",
        Some('D') => "in uninterruptible wait (D)",
        Some('Z') => "exited, not reaped (Z)",
        Some('R') => "running (R)",
        Some('S') => "sleeping (S)",
        Some(_) | None => "in an unknown state",
    };
    let idle = process
        .off_cpu_ms
        .filter(|_| matches!(process.state, Some('T' | 't' | 'D')))
        .map(|ms| format!(", has not run for {}", duration_text(ms)))
        .unwrap_or_default();
    let title = process.cmdline.join(" ");
    format!("pid {} ({}) is {state}{idle}", process.pid, title.trim())
}

fn duration_text(ms: u64) -> String {
    match ms / 1000 {
        0 => format!("{ms} ms"),
        seconds @ 1..=119 => format!("{seconds} s"),
        seconds @ 120..=7199 => format!("{} min", seconds / 60),
        seconds => format!("{} h", seconds / 3600),
    }
}

fn queue_full(listener: Option<&ListeningSocket>) -> bool {
    listener.is_some_and(|listener| {
        matches!((listener.accept_queue, listener.accept_backlog), (Some(queued), Some(max)) if queued >= max)
    })
}

/// Findings that already say why packets to the port are dropped on this machine.
const DROP_CAUSES: &[&str] = &["SSH-FWL", "SSH-HST-006"];

/// Findings that already say why sshd ends a connection before its banner: before
/// OpenSSH 9.8 each connection re-executes sshd, which loads its host keys and checks its
/// privilege-separation directory again.
/// The SSH unit frozen by systemd: every listener in it is silent.
const FROZEN: &[&str] = &["SSH-SVC-012"];
const CONNECTION_SETUP_CAUSES: &[&str] = &["SSH-KEY-001", "SSH-KEY-003", "SSH-PRV"];

fn drop_explained(findings: &[Draft]) -> bool {
    explained_by(findings, DROP_CAUSES)
}

/// A critical finding of one of `causes` (id prefixes) is already there.
fn explained_by(findings: &[Draft], causes: &[&str]) -> bool {
    findings.iter().any(|finding| {
        finding.severity == Severity::Critical
            && causes.iter().any(|cause| finding.id().starts_with(cause))
    })
}

/// Why a listener holds a connection open and says nothing.
fn silence_cause(
    probe: &BannerProbe,
    listener: Option<&ListeningSocket>,
    owners: &[&SshdProcess],
) -> String {
    if probe.outcome == BannerOutcome::Refused {
        "the connection was refused: sshd stopped listening while it was diagnosed".into()
    } else if queue_full(listener) {
        "its accept queue is full, so the kernel drops new connections".into()
    } else if owners.iter().any(|process| process.state == Some('D')) {
        "the listener waits in the kernel (state D), on a disk or a hung mount".into()
    } else if probe.outcome == BannerOutcome::ConnectTimeout {
        "not even the TCP handshake completes".into()
    } else {
        "the daemon is hung or overloaded".into()
    }
}

/// A refusal before SSH starts that the facts point to, and the command that removes it:
/// TCP wrappers, or MaxStartups (sshd says "Exceeded MaxStartups", or enough connections
/// are open to fill it).
fn refusal_cause(facts: &Facts, view: &SshView, probe: &BannerProbe) -> Option<(String, String)> {
    let wrappers = &facts.auth.tcp_wrappers;
    if facts.sshd.uses_libwrap == Some(true) {
        if let Some(line) = wrappers.deny.first() {
            return Some((
                format!(
                    "TCP wrappers refuse it ({}: {})",
                    line.location(),
                    line.value
                ),
                super::comment_out(&line.location()).expect("a located line"),
            ));
        }
    }
    let open = facts
        .sockets
        .connections
        .iter()
        .filter(|c| c.local_port == probe.port && c.state == ConnectionState::Established)
        .count();
    let setting = facts
        .config
        .global
        .get("maxstartups")
        .and_then(|v| v.first());
    let start: usize = setting
        .and_then(|setting| setting.value.split(':').next()?.parse().ok())
        .unwrap_or(10);
    let said_so = probe.banner.as_deref() == Some("Exceeded MaxStartups");
    if !said_so && open < start {
        return None;
    }
    let fix = match setting {
        Some(setting) => format!(
            "sed -i '{}s/.*/MaxStartups 10:30:100/' {} && {}",
            setting.line,
            setting.file,
            super::reload_sshd(facts, view)
        ),
        None => format!(
            "ss -tn state established '( sport = :{} )'   # who holds the slots",
            probe.port
        ),
    };
    Some((
        format!(
            "MaxStartups: {open} connections are open and sshd admits {start} unauthenticated ones"
        ),
        fix,
    ))
}

/// Clients' connections that the daemon never accepted, or that gave up waiting.
fn with_waiting_clients(mut finding: Draft, facts: &Facts, port: u16) -> Draft {
    let waiting: Vec<String> = facts
        .sockets
        .connections
        .iter()
        .filter(|c| {
            c.local_port == port
                && c.accepted == Some(false)
                && !crate::facts::is_probe_address(c.remote_address)
        })
        .map(|c| {
            let state = match c.state {
                ConnectionState::CloseWait => "gave up waiting (CLOSE-WAIT), never accepted",
                _ => "waits in the accept queue, never accepted",
            };
            format!(
                "{} {state}",
                std::net::SocketAddr::new(c.remote_address.to_canonical(), c.remote_port)
            )
        })
        .collect();
    for line in waiting.iter().take(EVIDENCE_LINES) {
        finding = finding.evidence(line.clone(), Some("TCP table".into()));
    }
    finding
}

fn queries_by_user(queries: &[KeyQuery]) -> BTreeMap<&str, Vec<&KeyQuery>> {
    let mut by_user: BTreeMap<&str, Vec<&KeyQuery>> = BTreeMap::new();
    for query in queries {
        by_user.entry(&query.user).or_default().push(query);
    }
    by_user
}

/// The key's from= lets the probe's address in (a key limited to other hosts is refused
/// from loopback by design, which proves nothing either way).
fn askable_from_probe(query: &KeyQuery) -> bool {
    let source: IpAddr = query
        .source
        .as_deref()
        .and_then(|source| source.parse().ok())
        .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST));
    query
        .from
        .as_deref()
        .is_none_or(|from| address_permitted(source, from))
}

fn answered(query: &KeyQuery) -> Option<bool> {
    match query.outcome {
        KeyQueryOutcome::Accepted => Some(true),
        KeyQueryOutcome::NotAccepted | KeyQueryOutcome::PublickeyNotOffered => Some(false),
        _ => None,
    }
}

/// A finding about the machine as it is now that names this user, or a critical one
/// that keeps everyone out. sshd's log lines are history (the probes' own are left out
/// of them): an old refusal explains nothing about today's.
fn explained(user: &str, findings: &[Draft]) -> bool {
    findings.iter().any(|finding| {
        !finding.id().starts_with("SSH-LOG")
            && finding.severity >= Severity::Warning
            && (finding.var_value("user") == Some(user)
                || (finding.severity == Severity::Critical
                    && AUTH_FAMILIES
                        .iter()
                        .any(|family| finding.id().starts_with(family))))
    })
}

fn refused_keys(user: &str, queries: &[&KeyQuery], findings: &[Draft]) -> Option<Draft> {
    let asked: Vec<&KeyQuery> = queries
        .iter()
        .copied()
        .filter(|query| askable_from_probe(query) && answered(query).is_some())
        .collect();
    let refused: Vec<&KeyQuery> = asked
        .iter()
        .copied()
        .filter(|q| answered(q) == Some(false))
        .collect();
    if refused.is_empty() || explained(user, findings) {
        return None;
    }
    let all = refused.len() == asked.len();
    let mut finding = if all {
        Draft::new(RuleId::KeysRefusedUnexplained)
    } else {
        Draft::new(RuleId::KeysPartlyRefused)
            .var("count", refused.len().to_string())
            .var("total", asked.len().to_string())
    }
    .var("user", user);
    for query in refused.iter().take(EVIDENCE_LINES) {
        finding = finding.evidence(
            key_query_text(query),
            Some(format!("{}:{}", query.keys_file, query.line)),
        );
    }
    Some(finding)
}

fn key_query_text(query: &KeyQuery) -> String {
    let key = match &query.fingerprint {
        Some(fingerprint) => format!("{} {fingerprint}", query.key_type),
        None => query.key_type.clone(),
    };
    let answer = match query.outcome {
        KeyQueryOutcome::Accepted => "accepted".to_string(),
        KeyQueryOutcome::NotAccepted => "not accepted".to_string(),
        KeyQueryOutcome::PublickeyNotOffered => format!(
            "not asked: {}",
            query
                .detail
                .as_deref()
                .unwrap_or("sshd offers no publickey authentication")
        ),
        _ => format!(
            "could not ask: {}",
            query.detail.as_deref().unwrap_or("no answer")
        ),
    };
    format!(
        "{key} of {}: {answer} (asked {} from {})",
        query.user,
        query.target,
        query.source.as_deref().unwrap_or("::1")
    )
}

/// What the live probes proved of the path from a client to a shell, and what they
/// could not. "Healthy" needs all of it proven.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Proof {
    pub proven: bool,
    /// What the running sshd showed, one line each.
    pub shown: Vec<String>,
    /// What could not be proven, and why.
    pub unproven: Vec<String>,
}

pub fn proof(facts: &Facts) -> Proof {
    let mut proof = Proof::default();
    if !facts.unfinished.is_empty() {
        proof.unproven.push(format!(
            "the diagnosis reached its deadline before {} finished",
            facts.unfinished.join(", ")
        ));
    }
    let live = &facts.live;
    if !live.ran {
        proof.unproven.push(
            live.skipped
                .clone()
                .unwrap_or_else(|| "the live probes did not run".into()),
        );
        return proof;
    }
    let answering: Vec<&BannerProbe> = live
        .banners
        .iter()
        .filter(|probe| probe.outcome == BannerOutcome::Answered)
        .collect();
    let reachable: Vec<&&BannerProbe> = answering
        .iter()
        .filter(|probe| !probe.address.to_canonical().is_loopback())
        .collect();
    for probe in &reachable {
        proof.shown.push(format!(
            "sshd answers on {}: \"{}\" in {} ms",
            socket_text(probe.address, probe.port),
            probe.banner.as_deref().unwrap_or_default(),
            probe.elapsed_ms
        ));
    }
    if reachable.is_empty() {
        proof.unproven.push(if answering.is_empty() {
            "no SSH listener answered a connection".into()
        } else {
            "sshd answers only on loopback, where no other machine can reach it".into()
        });
    }
    let holders = facts.auth.users.iter().filter(|user| {
        user.account.is_some() && user.keys_files.iter().any(|file| !file.keys.is_empty())
    });
    for user in holders {
        match key_proof(user, live) {
            Ok(shown) => proof.shown.push(shown),
            Err(unproven) => proof.unproven.push(unproven),
        }
    }
    proof.proven = proof.unproven.is_empty();
    proof
}

/// What the publickey queries proved of one key holder's way in: the key sshd accepts,
/// or why none could be shown.
fn key_proof(user: &UserAuth, live: &LiveFacts) -> Result<String, String> {
    let queries: Vec<&KeyQuery> = live
        .key_queries
        .iter()
        .filter(|q| q.user == user.name)
        .collect();
    if let Some(accepted) = queries
        .iter()
        .find(|query| query.outcome == KeyQueryOutcome::Accepted)
    {
        return Ok(format!(
            "sshd accepts {}'s key {}:{} ({} {})",
            user.name,
            accepted.keys_file,
            accepted.line,
            accepted.key_type,
            accepted.fingerprint.as_deref().unwrap_or_default()
        ));
    }
    let plain_keys = user
        .keys_files
        .iter()
        .flat_map(|file| &file.keys)
        .any(|key| !key.is_cert_authority());
    Err(if !plain_keys {
        format!(
            "{} logs in with certificates (cert-authority keys), which cannot be asked about without one",
            user.name
        )
    } else if queries.is_empty() {
        format!(
            "{}'s keys were not asked about: {}",
            user.name,
            live.keys_not_asked
                .as_deref()
                .unwrap_or("beyond the bound on queries")
        )
    } else if queries.iter().all(|query| !askable_from_probe(query)) {
        format!(
            "{}'s keys are limited by from= to other addresses, so sshd cannot be asked about them from here",
            user.name
        )
    } else if queries.iter().any(|query| answered(query) == Some(false)) {
        format!("sshd refuses every key of {}", user.name)
    } else {
        let why = queries
            .iter()
            .find_map(|query| query.detail.as_deref())
            .unwrap_or("no answer");
        format!("sshd could not be asked about {}'s keys: {why}", user.name)
    })
}
