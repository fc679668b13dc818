//! Does SSH listen where a client can reach it?

mod traffic;

use super::ssh_view::{socket_label, SshView};
use super::{Draft, RuleId};
use crate::facts::{AddressFamily, Facts, ListeningSocket, SocketSource};
use std::net::IpAddr;

pub fn check(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    check_listeners(facts, view, findings);
    traffic::check(facts, view, findings);
}

/// Does sshd listen where clients connect?
fn check_listeners(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    check_listen_addresses(facts, findings);
    if facts.sockets.source == SocketSource::None {
        return; // The socket probe saw nothing; its report says why.
    }
    check_port_owners(facts, view, findings);
    if view.ssh_sockets.is_empty() {
        check_not_listening(facts, view, findings);
        return;
    }
    check_reachability(facts, view, findings);
    check_ports(facts, view, findings);
}

fn socket_evidence(socket: &ListeningSocket) -> (String, Option<String>) {
    let owners: Vec<String> = socket
        .owners
        .iter()
        .map(|owner| format!("{} pid {}", owner.comm, owner.pid))
        .collect();
    let owner_text = if owners.is_empty() {
        "owner unknown".into()
    } else {
        owners.join(", ")
    };
    let v6only = match socket.v6only {
        Some(true) => " v6only",
        _ => "",
    };
    (
        format!("LISTEN {}{v6only} ({owner_text})", socket_label(socket)),
        Some(format!("socket inode {}", socket.inode)),
    )
}

fn with_sockets<'a>(
    mut finding: Draft,
    sockets: impl IntoIterator<Item = &'a ListeningSocket>,
) -> Draft {
    for socket in sockets {
        let (fact, source) = socket_evidence(socket);
        finding = finding.evidence(fact, source);
    }
    finding
}

/// sshd (or its unit) runs, yet no SSH socket listens.
fn check_not_listening(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    let listener = facts.processes.local_listeners().next();
    let service_running = view
        .service
        .is_some_and(|unit| unit.active_state == "active");
    if listener.is_none() && !service_running {
        return; // Not running at all: the service rules say so.
    }
    let mut finding = Draft::new(RuleId::NotListening);
    if let Some(process) = listener {
        // Outside systemd the restart is a SIGHUP to this process (it holds no socket
        // the machine-wide restart target could be found by).
        finding = finding.var("sshd_pid", process.pid.to_string());
        finding = finding.evidence(
            format!(
                "sshd listener pid {}: {}",
                process.pid,
                process.cmdline.join(" ")
            ),
            Some(format!("/proc/{}", process.pid)),
        );
    }
    if let Some(unit) = view.service.filter(|_| service_running) {
        finding = finding.evidence(
            format!(
                "{} is {} ({})",
                unit.name, unit.active_state, unit.sub_state
            ),
            Some(format!("systemd:{}", unit.name)),
        );
    }
    let listening = facts.sockets.listeners.len();
    findings.push(finding.evidence(
        format!("{listening} TCP listening sockets on this machine, none owned by sshd"),
        None,
    ));
}

/// A ListenAddress naming an IP this machine does not have.
fn check_listen_addresses(facts: &Facts, findings: &mut Vec<Draft>) {
    if facts.interfaces.addresses.is_empty() {
        return; // Interfaces unknown: cannot tell.
    }
    for listen in &facts.config.listen_addresses {
        let host = listen
            .value
            .host
            .trim_start_matches('[')
            .trim_end_matches(']');
        let Ok(address) = host.parse::<IpAddr>() else {
            continue; // A host name: sshd resolves it; we do not guess.
        };
        if address.is_unspecified() {
            continue;
        }
        let held = facts
            .interfaces
            .addresses
            .iter()
            .any(|interface| interface.address == address);
        if !held {
            let present: Vec<String> = facts
                .interfaces
                .addresses
                .iter()
                .map(|interface| format!("{} {}", interface.interface, interface.address))
                .collect();
            let draft =
                Draft::new(RuleId::ListenAddressAbsent).edits_line(&listen.location(), || {
                    format!(
                        "sed -i 's/^\\s*ListenAddress\\s\\+{address}/#&/' {}",
                        facts.config.path
                    )
                });
            findings.push(
                draft
                    .var("address", address.to_string())
                    .evidence(
                        format!("ListenAddress {}", listen.value.host),
                        Some(listen.location()),
                    )
                    .evidence(format!("interface addresses: {}", present.join(", ")), None),
            );
        }
    }
}

/// The configured port is held by a program that is not sshd.
fn check_port_owners(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    if view.socket_activated() {
        return; // systemd holds the port by design.
    }
    for &port in &view.configured_ports {
        let squatter = facts.sockets.listeners.iter().find(|socket| {
            socket.port == port
                && !view.ssh_sockets.iter().any(|ssh| ssh.inode == socket.inode)
                && !socket.owners.is_empty()
                && !socket.address.is_loopback()
        });
        if let Some(socket) = squatter {
            let owner = &socket.owners[0];
            let mut finding = Draft::new(RuleId::PortTaken)
                .var("port", port.to_string())
                .var("pid", owner.pid.to_string())
                .var("comm", owner.comm.clone())
                .var("stop", stop_command(owner));
            finding = with_sockets(finding, [socket]);
            if let Some(line) = facts.config.ports.iter().find(|line| line.value == port) {
                finding = finding.evidence(format!("Port {port}"), Some(line.location()));
            }
            findings.push(finding);
        }
    }
}

/// How to free the port for good: the program's own service, disabled, when the unit
/// is named after it (nginx in nginx.service); else the process, killed (a unit that
/// starts it again would take the port back: the ss line names it).
fn stop_command(owner: &crate::facts::SocketOwner) -> String {
    match &owner.unit {
        Some(unit)
            if unit.ends_with(".service")
                && !owner.comm.is_empty()
                && unit.trim_end_matches(".service").contains(&owner.comm) =>
        {
            format!("systemctl disable --now {unit}")
        }
        _ => format!("kill {}", owner.pid),
    }
}

/// Loopback only, IPv6 only, IPv4 only.
fn check_reachability(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    let sockets = &view.ssh_sockets;
    if sockets.iter().all(|socket| socket.address.is_loopback()) {
        let listening: Vec<String> = sockets.iter().map(|socket| socket_label(socket)).collect();
        let mut finding = Draft::new(RuleId::LoopbackOnly)
            .edits_lines(&facts.config.listen_addresses, || {
                format!("sed -i 's/^\\s*ListenAddress/#&/' {}", facts.config.path)
            })
            .var("listening", listening.join(", "));
        finding = with_sockets(finding, sockets.iter().copied());
        for listen in &facts.config.listen_addresses {
            finding = finding.evidence(
                format!("ListenAddress {}", listen.value.host),
                Some(listen.location()),
            );
        }
        findings.push(finding);
        return;
    }
    let reachable_v4 = sockets.iter().any(|socket| match socket.address {
        IpAddr::V4(address) => !address.is_loopback(),
        // A dual-stack [::] socket (v6only off) accepts IPv4 too.
        IpAddr::V6(address) => address.is_unspecified() && socket.v6only == Some(false),
    });
    let family_line = facts.config.address_family.as_ref();
    if !reachable_v4 {
        if let Some(socket) = view.socket.filter(|_| view.socket_activated()) {
            return socket_ipv6_only(facts, socket, sockets, findings);
        }
        // Without the line sshd listens on both families (AddressFamily any).
        let restart = super::restart_sshd(facts, view);
        let draft = Draft::new(RuleId::Ipv6Only);
        let draft = match family_line {
            Some(line) => draft.edits_line(&line.location(), String::new),
            None => draft.var(
                "fix",
                format!(
                    "sed -i 's/^\\s*AddressFamily.*/AddressFamily any/' {} && {} && {restart}",
                    facts.config.path,
                    super::sshd_test(facts)
                ),
            ),
        };
        let mut finding = with_sockets(draft, sockets.iter().copied());
        if let Some(line) = family_line {
            finding = finding.evidence(
                format!("AddressFamily {:?}", line.value).to_lowercase(),
                Some(line.location()),
            );
        }
        findings.push(finding);
    } else if let Some(line) = family_line.filter(|line| line.value == AddressFamily::Inet) {
        findings.push(
            with_sockets(Draft::new(RuleId::Ipv4Only), sockets.iter().copied())
                .evidence("AddressFamily inet", Some(line.location())),
        );
    }
}

/// IPv6 only, where systemd holds the socket: its ListenStream decides, not sshd. An
/// override that shadows Ubuntu's generator (SSH-SVC-011) is then the cause, and
/// critical; else the fix is sshd_config's AddressFamily where the generator copies it,
/// or a ListenStream drop-in for both families where nothing does.
fn socket_ipv6_only(
    facts: &Facts,
    socket: &crate::facts::UnitFacts,
    sockets: &[&ListeningSocket],
    findings: &mut Vec<Draft>,
) {
    if let Some(shadow) = findings
        .iter_mut()
        .find(|finding| finding.rule == RuleId::SocketOverrideShadowsGenerator)
    {
        *shadow = shadow
            .clone()
            .severity(super::Severity::Critical)
            .evidence("no IPv4 listener: IPv4 clients cannot connect", None);
        return;
    }
    let name = &socket.name;
    let reload = format!("systemctl daemon-reload && systemctl restart {name}");
    let fix = match (
        &facts.systemd.socket_generator,
        &facts.config.address_family,
    ) {
        (Some(_), Some(line)) => format!(
            "{} && {reload}",
            super::comment_out_lines(&line.file, &[line.line])
        ),
        _ => {
            let port = sockets.first().map_or(22, |socket| socket.port);
            format!(
                "mkdir -p /etc/systemd/system/{name}.d && printf '[Socket]\\nListenStream=\\nListenStream=0.0.0.0:{port}\\nListenStream=[::]:{port}\\n' > /etc/systemd/system/{name}.d/50-ipv4.conf && {reload}"
            )
        }
    };
    let finding = with_sockets(
        Draft::new(RuleId::Ipv6Only).var("fix", fix),
        sockets.iter().copied(),
    );
    findings.push(finding.evidence(format!("{name} holds the listening socket"), None));
}

/// A port other than 22, or a port other than the configured one.
fn check_ports(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    let public: Vec<&ListeningSocket> = view
        .ssh_sockets
        .iter()
        .copied()
        .filter(|socket| !socket.address.is_loopback())
        .collect();
    if !public.is_empty() && !public.iter().any(|socket| socket.port == 22) {
        let mut ports: Vec<u16> = public.iter().map(|socket| socket.port).collect();
        ports.sort_unstable();
        ports.dedup();
        for port in ports {
            let mut finding = Draft::new(RuleId::NonstandardPort).var("port", port.to_string());
            finding = with_sockets(
                finding,
                public.iter().copied().filter(|socket| socket.port == port),
            );
            for line in facts.config.ports.iter().filter(|line| line.value == port) {
                finding = finding.evidence(format!("Port {port}"), Some(line.location()));
            }
            findings.push(finding);
        }
    }
    let listening = view.listening_ports();
    if view.socket_activated()
        || view.configured_ports.is_empty()
        || listening == view.configured_ports
    {
        return;
    }
    let join = |ports: &[u16]| {
        ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut finding = Draft::new(RuleId::PortDiffersFromConfig)
        .var("listening_ports", join(&listening))
        .var("configured_ports", join(&view.configured_ports));
    finding = with_sockets(finding, view.ssh_sockets.iter().copied());
    for line in &facts.config.ports {
        finding = finding.evidence(format!("Port {}", line.value), Some(line.location()));
    }
    findings.push(finding);
}
