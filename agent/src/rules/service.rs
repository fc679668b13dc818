//! Is sshd installed, known to systemd, enabled and running?

use super::ssh_view::{socket_label, SshView};
use super::{Draft, RuleId};
use crate::facts::{Facts, UnitFacts};

/// Unit file states that start the unit at boot (or make it start with another unit).
const STARTS_AT_BOOT: &[&str] = &[
    "enabled",
    "enabled-runtime",
    "static",
    "indirect",
    "generated",
    "alias",
    "linked",
    "linked-runtime",
];

pub fn check(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    if facts.sshd.binary.is_none() && !view.sshd_running {
        findings.push(
            Draft::new(RuleId::SshdNotInstalled)
                .evidence(
                    "no sshd binary in /usr/sbin, /usr/bin, /sbin, /usr/local or $PATH",
                    None,
                )
                .evidence(known_units(facts), None),
        );
        return;
    }
    if facts.systemd.reachable {
        check_units(facts, view, findings);
    } else {
        let reason = facts
            .systemd
            .error
            .clone()
            .unwrap_or_else(|| "no answer".into());
        findings.push(
            Draft::new(RuleId::SystemdUnreachable)
                .var("reason", reason.clone())
                .evidence(reason, Some("D-Bus".into())),
        );
        if facts.processes.scanned && !view.sshd_running && view.ssh_sockets.is_empty() {
            let pid_file = facts.processes.pid_file.as_ref().map_or_else(
                || "no sshd pid file".to_string(),
                |file| format!("{}: pid {:?}, running: {}", file.path, file.pid, file.alive),
            );
            let mut finding = Draft::new(RuleId::SshdNotRunning);
            // Started by hand, as the config it would run with says; it writes its pid
            // file, through which undo stops it.
            if let Some(binary) = &facts.sshd.binary {
                let config = match facts.config.path.as_str() {
                    crate::openssh::DEFAULT_SSHD_CONFIG => "",
                    path => path,
                };
                let written_pid_file = facts
                    .config
                    .effective
                    .as_ref()
                    .and_then(|effective| effective.settings.get("pidfile"))
                    .and_then(|values| values.first())
                    .cloned();
                let pid_file = written_pid_file
                    .or_else(|| {
                        facts
                            .processes
                            .pid_file
                            .as_ref()
                            .map(|file| file.path.clone())
                    })
                    .unwrap_or_else(|| "/run/sshd.pid".into());
                finding = finding
                    .var("sshd_binary", binary.clone())
                    .var("sshd_config_arg", config)
                    .var("pid_file", pid_file);
            }
            findings.push(
                finding
                    .evidence("no process named sshd in /proc", None)
                    .evidence(pid_file, None),
            );
        }
    }
}

fn known_units(facts: &Facts) -> String {
    let names: Vec<String> = facts
        .systemd
        .units
        .iter()
        .map(|unit| format!("{}: {}", unit.name, unit.load_state))
        .collect();
    if names.is_empty() {
        "systemd knows no ssh unit".into()
    } else {
        names.join(", ")
    }
}

fn unit_source(unit: &UnitFacts) -> Option<String> {
    Some(format!("systemd:{}", unit.name))
}

fn check_units(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    let (service, socket) = (view.service, view.socket);
    if service.is_none() && socket.is_none() {
        findings.push(Draft::new(RuleId::NoSshUnit).evidence(known_units(facts), None));
        return;
    }
    for unit in service.iter().chain(socket.iter()) {
        if is_masked(unit) {
            findings.push(
                Draft::new(RuleId::UnitMasked)
                    .var("unit", unit.name.clone())
                    .evidence(
                        format!(
                            "LoadState={} UnitFileState={}",
                            unit.load_state,
                            unit.unit_file_state.as_deref().unwrap_or("?")
                        ),
                        unit_source(unit),
                    ),
            );
        }
    }
    if let Some(socket) = socket.filter(|_| view.socket_activated()) {
        let listen: Vec<&str> = socket
            .listen
            .iter()
            .map(|(_, address)| address.as_str())
            .collect();
        let mut finding = Draft::new(RuleId::SocketActivation)
            .var("unit", socket.name.clone())
            .var("listen", listen.join(", "))
            .evidence(
                format!(
                    "{} is {} ({}), Listen={}",
                    socket.name,
                    socket.active_state,
                    socket.sub_state,
                    listen.join(", ")
                ),
                unit_source(socket),
            );
        for port in &facts.config.ports {
            finding = finding.evidence(
                format!(
                    "Port {} in sshd_config is not used for listening",
                    port.value
                ),
                Some(port.location()),
            );
        }
        findings.push(finding);
    }
    let Some(service) = service.filter(|unit| !is_masked(unit)) else {
        return;
    };
    let socket_enabled = socket.is_some_and(|unit| {
        unit.unit_file_state
            .as_deref()
            .is_some_and(|state| STARTS_AT_BOOT.contains(&state))
    });
    check_service_state(service, view, findings);
    let state = service.unit_file_state.as_deref().unwrap_or("unknown");
    if !STARTS_AT_BOOT.contains(&state) && !socket_enabled && service.unit_file_state.is_some() {
        findings.push(
            Draft::new(RuleId::UnitNotEnabled)
                .var("unit", service.name.clone())
                .var("unit_file_state", state)
                .evidence(
                    format!("UnitFileState={state} ActiveState={}", service.active_state),
                    unit_source(service),
                ),
        );
    }
}

fn is_masked(unit: &UnitFacts) -> bool {
    unit.load_state == "masked" || unit.unit_file_state.as_deref() == Some("masked")
}

fn state_evidence(unit: &UnitFacts) -> String {
    let mut text = format!(
        "ActiveState={} SubState={}",
        unit.active_state, unit.sub_state
    );
    if let Some(result) = &unit.result {
        text.push_str(&format!(" Result={result}"));
    }
    if let (Some(code), Some(status)) = (unit.exec_main_code, unit.exec_main_status) {
        let how = match code {
            1 => "exited with status",
            2 => "killed by signal",
            3 => "dumped core on signal",
            _ => "ended with",
        };
        if code != 0 {
            text.push_str(&format!(", main process {how} {status}"));
        }
    }
    if let Some(restarts) = unit.n_restarts.filter(|count| *count > 0) {
        text.push_str(&format!(", NRestarts={restarts}"));
    }
    text
}

fn check_service_state(service: &UnitFacts, view: &SshView, findings: &mut Vec<Draft>) {
    let socket_listening = view.socket_activated();
    match service.active_state.as_str() {
        "failed" => findings.push(
            Draft::new(RuleId::UnitFailed)
                .var("unit", service.name.clone())
                .var(
                    "result",
                    service.result.clone().unwrap_or_else(|| "failed".into()),
                )
                .evidence(state_evidence(service), unit_source(service)),
        ),
        // A socket-activated sshd starts on the first connection: inactive is normal.
        "inactive" if socket_listening => {}
        "inactive" | "deactivating" => {
            let mut finding = Draft::new(RuleId::UnitInactive)
                .var("unit", service.name.clone())
                .evidence(state_evidence(service), unit_source(service));
            // A listener that survives its unit (started by hand) still serves clients.
            if let Some(socket) = view.ssh_sockets.first() {
                finding = finding.severity(super::Severity::Warning).evidence(
                    format!(
                        "but an sshd outside systemd listens on {}",
                        socket_label(socket)
                    ),
                    Some(format!("socket inode {}", socket.inode)),
                );
            }
            findings.push(finding);
        }
        "activating" if service.sub_state == "auto-restart" => findings.push(
            Draft::new(RuleId::UnitRestarting)
                .var("unit", service.name.clone())
                .var("n_restarts", service.n_restarts.unwrap_or(0).to_string())
                .evidence(state_evidence(service), unit_source(service)),
        ),
        "active" if service.n_restarts.unwrap_or(0) > 0 => findings.push(
            Draft::new(RuleId::UnitRestarting)
                .var("unit", service.name.clone())
                .var("n_restarts", service.n_restarts.unwrap_or(0).to_string())
                .evidence(state_evidence(service), unit_source(service)),
        ),
        _ => {}
    }
}
