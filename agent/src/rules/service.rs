//! Is sshd installed, known to systemd, enabled and running?

use super::ssh_view::{socket_label, SshView};
use super::{Draft, RuleId};
use crate::facts::{Facts, OpenRcFacts, PidFile, SocketGenerator, SysvFacts, UnitFacts};
use crate::openssh::SOCKET_GENERATED as GENERATED;

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
    } else if let Some(openrc) = &facts.openrc {
        check_openrc(facts, view, openrc, findings);
    } else if let Some(sysv) = &facts.sysv {
        check_sysv(facts, view, sysv, findings);
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

/// OpenRC's sshd service: whether it runs sshd now, and whether a runlevel starts it at
/// boot. A "started" record without a running sshd (killed, crashed) keeps
/// `rc-service start` from doing anything until the record is zapped.
fn check_openrc(facts: &Facts, view: &SshView, openrc: &OpenRcFacts, findings: &mut Vec<Draft>) {
    let state = format!(
        "OpenRC: {} is {}; runlevels: {}",
        openrc.service,
        openrc.state,
        match openrc.runlevels.is_empty() {
            true => "none".to_string(),
            false => openrc.runlevels.join(", "),
        }
    );
    let pid_file = openrc.pid_file.as_ref().map(pid_file_evidence);
    let nothing_listens =
        facts.processes.scanned && !view.sshd_running && view.ssh_sockets.is_empty();
    if nothing_listens {
        let rule = match openrc.state.as_str() {
            "started" | "starting" | "stopping" => RuleId::OpenRcStaleStart,
            _ => RuleId::OpenRcStopped,
        };
        let mut finding = Draft::new(rule)
            .var("service", openrc.service.clone())
            .var("state", openrc.state.clone())
            .evidence(state.clone(), Some("/run/openrc".into()))
            .evidence("no process named sshd listens", None);
        if let Some((text, path)) = &pid_file {
            finding = finding.evidence(text.clone(), Some(path.clone()));
        }
        findings.push(finding);
    }
    if !openrc.starts_at_boot() {
        findings.push(
            Draft::new(RuleId::OpenRcNoRunlevel)
                .var("service", openrc.service.clone())
                .evidence(state, Some("/etc/runlevels".into())),
        );
    }
}

/// A pid file as evidence: what it says, and where.
fn pid_file_evidence(file: &PidFile) -> (String, String) {
    let pid = file
        .pid
        .map_or_else(|| "no pid".to_string(), |pid| format!("pid {pid}"));
    let running = match file.alive {
        true => "running",
        false => "not running",
    };
    (
        format!("{}: {pid}, {running}", file.path),
        file.path.clone(),
    )
}

/// A SysV init script's sshd: whether it runs now, and whether a link in a runlevel the
/// system boots into starts it.
fn check_sysv(facts: &Facts, view: &SshView, sysv: &SysvFacts, findings: &mut Vec<Draft>) {
    let links = match sysv.links.is_empty() {
        true => format!("{}: no runlevel links", sysv.script),
        false => format!("{}: linked as {}", sysv.script, sysv.links.join(", ")),
    };
    let runlevels = sysv.default_runlevel.as_ref().map_or_else(
        || "2 to 5: there is no /etc/inittab".to_string(),
        |level| format!("{level}, as /etc/inittab says"),
    );
    let nothing_listens =
        facts.processes.scanned && !view.sshd_running && view.ssh_sockets.is_empty();
    if let Some(path) = sysv.start_blocked_by.as_ref().filter(|_| nothing_listens) {
        findings.push(
            Draft::new(RuleId::StartSkipped)
                .var("starter", sysv.script.clone())
                .var("path", path.clone())
                .var("check", "its start exits 0 at once when it finds it")
                .var("start_command", format!("{} start", sysv.script))
                .var("script", sysv.script.clone())
                .evidence(
                    format!("{} starts nothing while {path} exists", sysv.script),
                    Some(sysv.script.clone()),
                )
                .evidence(format!("{path} exists"), Some(path.clone()))
                .evidence("no process named sshd listens", None),
        );
    } else if nothing_listens {
        let mut finding = Draft::new(RuleId::SysvStopped)
            .var("script", sysv.script.clone())
            .evidence(links.clone(), Some("/etc/init.d".into()))
            .evidence("no process named sshd listens", None);
        if let Some((text, path)) = sysv.pid_file.as_ref().map(pid_file_evidence) {
            finding = finding.evidence(text, Some(path));
        }
        findings.push(finding);
    }
    if !sysv.starts_at_boot() {
        let disabled = sysv.disabled_at_boot();
        let mut finding = Draft::new(RuleId::SysvNotAtBoot)
            .var("script", sysv.script.clone())
            .var("service", sysv.service.clone())
            .var("runlevels", runlevels)
            .var(
                "disabled",
                match disabled {
                    true => " (its links there are K links, which stop it: it was disabled)",
                    false => "",
                },
            )
            .evidence(links, Some("/etc/rc?.d".into()));
        finding = match sysv.enable_tool.as_deref() {
            Some(tool) => finding.var("enable_tool", tool).var(
                "enable_verb",
                match (tool, disabled) {
                    ("chkconfig", false) => "add",
                    ("chkconfig", true) => "on",
                    (_, false) => "defaults",
                    (_, true) => "enable",
                },
            ),
            // Neither tool: the links by hand, in the runlevels that boot the system.
            None => {
                let service = &sysv.service;
                let links: Vec<String> = sysv
                    .boot_runlevels()
                    .iter()
                    .map(|level| format!("ln -s ../init.d/{service} /etc/rc{level}.d/S20{service}"))
                    .collect();
                finding.var("fix", links.join(" && "))
            }
        };
        findings.push(finding);
    }
}

/// Ubuntu's sshd-socket-generator: is the socket's ListenStream still sshd_config's?
/// Not when an override resets it after the generator's drop-in (sshd_config's Port then
/// never counts again), nor when sshd_config changed since the generator last ran (no
/// daemon-reload since).
fn check_generated_listen(
    facts: &Facts,
    socket: &UnitFacts,
    generator: &SocketGenerator,
    findings: &mut Vec<Draft>,
) {
    let listen: Vec<&str> = socket
        .listen
        .iter()
        .map(|(_, address)| address.as_str())
        .collect();
    let generated_at = socket
        .dropin_listen
        .iter()
        .rposition(|line| line.file == GENERATED);
    let override_reset = socket
        .dropin_listen
        .iter()
        .enumerate()
        .filter(|(at, line)| {
            line.file != GENERATED && line.value.is_empty() && generated_at.is_none_or(|g| *at > g)
        })
        .map(|(_, line)| line)
        .next_back();
    if let Some(reset) = override_reset {
        let lines: Vec<u32> = socket
            .dropin_listen
            .iter()
            .filter(|line| line.file == reset.file)
            .map(|line| line.line)
            .collect();
        let generated = generator.generated.as_ref().map_or(
            "nothing: sshd_config listens as the unit does by default".into(),
            |values| values.join(", "),
        );
        let mut finding = Draft::new(RuleId::SocketOverrideShadowsGenerator)
            .var("unit", socket.name.clone())
            .var("override", reset.file.clone())
            .var("listen", listen.join(", "))
            .var("generated", generated)
            .var(
                "fix",
                format!(
                    "{} && systemctl daemon-reload && systemctl restart {}",
                    super::comment_out_lines(&reset.file, &lines),
                    socket.name
                ),
            );
        for line in socket
            .dropin_listen
            .iter()
            .filter(|line| line.file == reset.file)
        {
            finding = finding.evidence(
                format!("ListenStream={}", line.value),
                Some(line.location()),
            );
        }
        findings.push(finding);
        return;
    }
    let Some(expected) = generator_output(facts) else {
        return; // A host name sshd resolves: not compared.
    };
    let generated = generator.generated.clone().unwrap_or_default();
    if same_addresses(&expected, &generated) {
        return;
    }
    let configured = match expected.is_empty() {
        true => "0.0.0.0:22, [::]:22 (the defaults)".to_string(),
        false => expected.join(", "),
    };
    let mut finding = Draft::new(RuleId::SocketAddressesPending)
        .var("unit", socket.name.clone())
        .var("configured", configured)
        .var("listen", listen.join(", "))
        .evidence(
            format!(
                "{GENERATED}: {}",
                match generated.is_empty() {
                    true => "none (the unit's own ListenStream)".to_string(),
                    false => generated.join(", "),
                }
            ),
            Some(generator.path.clone()),
        );
    for port in &facts.config.ports {
        finding = finding.evidence(format!("Port {}", port.value), Some(port.location()));
    }
    if socket.need_daemon_reload {
        finding = finding.evidence("NeedDaemonReload=yes", unit_source(socket));
    }
    findings.push(finding);
}

/// What sshd-socket-generator writes for this sshd_config: "ADDR:PORT" or "[ADDR]:PORT"
/// for each address sshd would listen on, or none when they are the unit's defaults
/// (0.0.0.0 and :: on 22, any family). None when an address is a host name.
fn generator_output(facts: &Facts) -> Option<Vec<String>> {
    let config = &facts.config;
    let any_family = config
        .address_family
        .as_ref()
        .is_none_or(|family| family.value == crate::facts::AddressFamily::Any);
    let mut streams = Vec::new();
    let mut custom = !any_family;
    for endpoint in &config.endpoints {
        let address: std::net::IpAddr = endpoint.host.parse().ok()?;
        custom |= !(address.is_unspecified() && endpoint.port == 22);
        let stream = match address {
            std::net::IpAddr::V6(_) => format!("[{address}]:{}", endpoint.port),
            std::net::IpAddr::V4(_) => format!("{address}:{}", endpoint.port),
        };
        if !streams.contains(&stream) {
            streams.push(stream);
        }
    }
    Some(if custom { streams } else { Vec::new() })
}

/// Whether two ListenStream lists name the same addresses; a bare port (as earlier
/// generators wrote it) stands for both wildcards.
fn same_addresses(expected: &[String], generated: &[String]) -> bool {
    let set = |values: &[String]| -> std::collections::BTreeSet<String> {
        values
            .iter()
            .flat_map(|value| match value.parse::<u16>() {
                Ok(port) => vec![format!("0.0.0.0:{port}"), format!("[::]:{port}")],
                Err(_) => vec![value.clone()],
            })
            .collect()
    };
    set(expected) == set(generated)
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
        let generator = facts.systemd.socket_generator.as_ref();
        let how = match generator {
            Some(generator) => format!(
                "Here {} (Ubuntu 24.04 and later) copies sshd_config's Port and ListenAddress \
                 into its ListenStream at boot and at every systemctl daemon-reload: after \
                 editing them, run `systemctl daemon-reload && systemctl restart {}`.",
                generator.path, socket.name
            ),
            None => format!(
                "Port and ListenAddress in sshd_config are ignored for listening (Ubuntu \
                 22.10 to 23.10, and Debian's optional socket). To change the port, change \
                 ListenStream in a drop-in (systemctl edit {0}), then run `systemctl \
                 daemon-reload && systemctl restart {0}`.",
                socket.name
            ),
        };
        let mut finding = Draft::new(RuleId::SocketActivation)
            .var("unit", socket.name.clone())
            .var("listen", listen.join(", "))
            .var("how", how)
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
            let fact = match generator {
                Some(_) => format!(
                    "Port {} in sshd_config reaches ListenStream through the generator",
                    port.value
                ),
                None => format!(
                    "Port {} in sshd_config is not used for listening",
                    port.value
                ),
            };
            finding = finding.evidence(fact, Some(port.location()));
        }
        findings.push(finding);
        if let Some(generator) = generator {
            check_generated_listen(facts, socket, generator, findings);
        }
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
    check_frozen(service, findings);
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

/// A unit held by the cgroup freezer: active to systemd, every process asleep. A unit
/// frozen through its slice thaws with the slice.
fn check_frozen(service: &UnitFacts, findings: &mut Vec<Draft>) {
    let Some(state) = service
        .freezer_state
        .as_deref()
        .filter(|state| state.starts_with("frozen") || state.starts_with("freezing"))
    else {
        return;
    };
    let parent_slice = service
        .control_group
        .as_deref()
        .and_then(|group| group.rsplit('/').nth(1))
        .filter(|slice| slice.ends_with(".slice"));
    let thaw = match (state.ends_with("-by-parent"), parent_slice) {
        (true, Some(slice)) => slice.to_string(),
        _ => service.name.clone(),
    };
    findings.push(
        Draft::new(RuleId::UnitFrozen)
            .var("unit", service.name.clone())
            .var("thaw_unit", thaw)
            .evidence(
                format!(
                    "FreezerState={state} ActiveState={} SubState={}",
                    service.active_state, service.sub_state
                ),
                unit_source(service),
            ),
    );
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
        "inactive" | "deactivating"
            if !service.start_blocked_by.is_empty() && view.ssh_sockets.is_empty() =>
        {
            let blocker = &service.start_blocked_by[0];
            let condition = format!("ConditionPathExists=!{}", blocker.value);
            findings.push(
                Draft::new(RuleId::StartSkipped)
                    .var("starter", service.name.clone())
                    .var("path", blocker.value.clone())
                    .var(
                        "check",
                        format!("{condition}, {}:{}", blocker.file, blocker.line),
                    )
                    .var("start_command", format!("systemctl start {}", service.name))
                    .var("start_unit", service.name.clone())
                    .evidence(state_evidence(service), unit_source(service))
                    .evidence(
                        condition,
                        Some(format!("{}:{}", blocker.file, blocker.line)),
                    )
                    .evidence(
                        format!("{} exists", blocker.value),
                        Some(blocker.value.clone()),
                    ),
            );
        }
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
