//! The rules judged on facts built by hand: each case is a machine state the collectors
//! report (and the VM lab reproduces for real), and the findings it must produce.
//! The renderers are checked on the same verdicts: JSON against the published schema,
//! compact within Run Command's 4,096 bytes, text within 80 columns.

use sshdoctor::facts::*;
use sshdoctor::facts::{ProbeOutcome, ProbeReport};
use sshdoctor::render::{render_compact, render_json, render_text, TextStyle, COMPACT_BUDGET};
use sshdoctor::rules::{evaluate, Severity};
use sshdoctor::verdict::{Status, Verdict};
use std::net::IpAddr;

fn unit(name: &str, kind: UnitKind, active: &str, sub: &str, file_state: &str) -> UnitFacts {
    UnitFacts {
        active_state: active.into(),
        sub_state: sub.into(),
        unit_file_state: Some(file_state.into()),
        result: Some("success".into()),
        exec_main_status: Some(0),
        exec_main_code: Some(0),
        n_restarts: Some(0),
        fragment_path: Some(format!("/lib/systemd/system/{name}")),
        ..UnitFacts::new(name, kind)
    }
}

fn listener(address: &str, port: u16, owner: (&str, u32)) -> ListeningSocket {
    ListeningSocket {
        address: address.parse().unwrap(),
        port,
        v6only: address.contains(':').then_some(true),
        uid: 0,
        inode: 10_000 + u64::from(port) + address.len() as u64,
        bound_device: None,
        owners: vec![SocketOwner {
            pid: owner.1,
            comm: owner.0.into(),
            fd: 3,
            unit: None,
        }],
        accept_queue: Some(0),
        accept_backlog: Some(128),
    }
}

/// What the banner probe records for a listener that answered.
fn answered(address: &str, port: u16, pid: u32) -> BannerProbe {
    BannerProbe {
        address: address.parse().unwrap(),
        port,
        owners: vec![pid],
        target: format!("127.0.0.1:{port}"),
        source: Some("127.115.1.2".into()),
        outcome: BannerOutcome::Answered,
        banner: Some("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6".into()),
        elapsed_ms: 3,
        error: None,
    }
}

fn located<T>(value: T, line: u32) -> Located<T> {
    Located {
        value,
        file: "/etc/ssh/sshd_config".into(),
        line,
    }
}

/// A healthy Debian VM: ssh.service enabled and running, listening on 0.0.0.0:22 and [::]:22.
fn healthy() -> Facts {
    let mut service = unit(
        "ssh.service",
        UnitKind::Service,
        "active",
        "running",
        "enabled",
    );
    service.aliases = vec!["sshd.service".into()];
    service.main_pid = Some(829);
    Facts {
        host: HostFacts {
            hostname: Some("vm1".into()),
            os_id: Some("debian".into()),
            os_pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            euid: 0,
            is_root: true,
            ..HostFacts::default()
        },
        sshd: SshdFacts {
            binary: Some("/usr/sbin/sshd".into()),
            source: Some(SshdSource::Installed),
            ..SshdFacts::default()
        },
        systemd: SystemdFacts {
            reachable: true,
            error: None,
            version: Some("252".into()),
            units: vec![service],
        },
        processes: ProcessFacts {
            sshd: vec![SshdProcess {
                pid: 829,
                ppid: 1,
                comm: "sshd".into(),
                cmdline: vec!["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups".into()],
                is_listener: true,
                config_path: None,
                start_time_us: None,
                net_namespace: None,
                state: Some('S'),
                off_cpu_ms: None,
            }],
            pid_file: None,
            scanned: true,
            own_net_namespace: None,
        },
        sockets: SocketFacts {
            source: SocketSource::Netlink,
            listeners: vec![
                listener("0.0.0.0", 22, ("sshd", 829)),
                listener("::", 22, ("sshd", 829)),
            ],
            owners_complete: true,
            ..SocketFacts::default()
        },
        interfaces: InterfaceFacts {
            addresses: vec![
                InterfaceAddress {
                    interface: "lo".into(),
                    address: "127.0.0.1".parse().unwrap(),
                    up: true,
                    loopback: true,
                },
                InterfaceAddress {
                    interface: "eth0".into(),
                    address: "10.0.0.4".parse().unwrap(),
                    up: true,
                    loopback: false,
                },
            ],
            ..InterfaceFacts::default()
        },
        config: SshdConfigFacts {
            path: "/etc/ssh/sshd_config".into(),
            path_source: "default".into(),
            readable: true,
            files: vec!["/etc/ssh/sshd_config".into()],
            ports: vec![Located {
                value: 22,
                file: "(default)".into(),
                line: 0,
            }],
            endpoints: vec![
                Endpoint {
                    host: "0.0.0.0".into(),
                    port: 22,
                    file: None,
                    line: None,
                },
                Endpoint {
                    host: "::".into(),
                    port: 22,
                    file: None,
                    line: None,
                },
            ],
            syntax_check: Some(SshdRun {
                privsep_stand_in: None,
                command: vec!["/usr/sbin/sshd".into(), "-t".into()],
                exit_code: Some(0),
                timed_out: false,
                error: None,
                error_file: None,
                error_line: None,
                stderr: String::new(),
                environment_problem: false,
            }),
            ..SshdConfigFacts::default()
        },
        cloud: CloudFacts::default(),
        health: HealthFacts::default(),
        prereqs: PrereqFacts::default(),
        firewall: FirewallFacts::default(),
        selinux: SelinuxFacts::default(),
        logs: LogFacts::default(),
        auth: AuthFacts::default(),
        live: LiveFacts {
            ran: true,
            banners: vec![answered("0.0.0.0", 22, 829)],
            ..LiveFacts::default()
        },
        pam: Default::default(),
    }
}

/// The verdict as the 80-column serial console shows it.
fn screen(verdict: &Verdict) -> String {
    render_text(
        verdict,
        TextStyle {
            width: 80,
            color: false,
        },
    )
}

fn ids(facts: &Facts) -> Vec<&'static str> {
    evaluate(facts).iter().map(|finding| finding.id).collect()
}

fn verdict(facts: Facts) -> Verdict {
    let findings = evaluate(&facts);
    let probes = vec![ProbeReport {
        name: "sockets",
        outcome: ProbeOutcome::Ok,
        notes: vec![],
        elapsed_ms: 1.0,
    }];
    Verdict::new(facts, probes, findings, 5.0)
}

fn service(facts: &mut Facts) -> &mut UnitFacts {
    &mut facts.systemd.units[0]
}

fn stop_sshd(facts: &mut Facts) {
    facts.processes.sshd.clear();
    facts.sockets.listeners.clear();
    let unit = service(facts);
    unit.active_state = "inactive".into();
    unit.sub_state = "dead".into();
    unit.main_pid = None;
}

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
fn stopped_service_is_critical() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    let verdict = verdict(facts);
    assert_eq!(
        verdict.findings.iter().map(|f| f.id).collect::<Vec<_>>(),
        ["SSH-SVC-005"]
    );
    assert_eq!(verdict.status, Status::Critical);
    assert_eq!(verdict.exit_code, 2);
    let finding = &verdict.findings[0];
    assert_eq!(finding.title, "ssh.service is not running");
    assert_eq!(finding.remediation.guest[0], "systemctl start ssh.service");
    assert_eq!(
        finding.evidence[0].source.as_deref(),
        Some("systemd:ssh.service")
    );
}

#[test]
fn disabled_and_stopped_after_reboot_gives_both_findings() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    service(&mut facts).unit_file_state = Some("disabled".into());
    assert_eq!(ids(&facts), ["SSH-SVC-005", "SSH-SVC-003"]);
}

#[test]
fn disabled_but_running_is_a_warning() {
    let mut facts = healthy();
    service(&mut facts).unit_file_state = Some("disabled".into());
    let verdict = verdict(facts);
    assert_eq!(verdict.findings[0].id, "SSH-SVC-003");
    assert_eq!(verdict.status, Status::Warning);
    assert!(verdict.findings[0].title.contains("will not start at boot"));
}

#[test]
fn masked_unit_is_reported_once_not_as_inactive() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    service(&mut facts).load_state = "masked".into();
    service(&mut facts).unit_file_state = Some("masked".into());
    assert_eq!(ids(&facts), ["SSH-SVC-002"]);
}

#[test]
fn failed_unit_names_result_and_exit_status() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    let unit = service(&mut facts);
    unit.active_state = "failed".into();
    unit.sub_state = "failed".into();
    unit.result = Some("exit-code".into());
    unit.exec_main_code = Some(1);
    unit.exec_main_status = Some(255);
    let findings = evaluate(&facts);
    assert_eq!(findings[0].id, "SSH-SVC-004");
    assert_eq!(findings[0].title, "ssh.service has failed (exit-code)");
    assert!(
        findings[0].evidence[0]
            .fact
            .contains("exited with status 255"),
        "{:?}",
        findings[0].evidence
    );
    // The fix first: test the config (recreating the privsep directory systemd removed
    // with the stopped service), then clear the failure and start; the log after.
    assert_eq!(
        findings[0].remediation.guest[0],
        "/usr/sbin/sshd -t && systemctl reset-failed ssh.service && systemctl start ssh.service"
    );
}

/// The package commands are this distribution's.
#[test]
fn install_commands_follow_the_distribution() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    facts.sshd.binary = None;
    for (os, install) in [
        ("debian", "apt-get install -y openssh-server"),
        ("azurelinux", "tdnf install -y openssh-server"),
        ("sles", "zypper --non-interactive install openssh-server"),
        ("rhel", "dnf install -y openssh-server"),
    ] {
        facts.host.os_id = Some(os.into());
        let found = evaluate(&facts);
        let missing = found
            .iter()
            .find(|f| f.id == "SSH-PKG-001")
            .expect("SSH-PKG-001");
        assert_eq!(missing.remediation.guest[0], install, "{os}");
    }
}

#[test]
fn config_syntax_error_points_at_file_and_line() {
    let mut facts = healthy();
    facts.config.syntax_check = Some(SshdRun {
        privsep_stand_in: None,
        command: vec!["/usr/sbin/sshd".into(), "-t".into()],
        exit_code: Some(255),
        timed_out: false,
        error: Some("/etc/ssh/sshd_config: line 14: Bad configuration option: Bogus".into()),
        error_file: Some("/etc/ssh/sshd_config".into()),
        error_line: Some(14),
        stderr: String::new(),
        environment_problem: false,
    });
    let findings = evaluate(&facts);
    assert_eq!(findings[0].id, "SSH-CFG-001");
    assert_eq!(
        findings[0].evidence[0].source.as_deref(),
        Some("/etc/ssh/sshd_config:14")
    );
    // The fix first: the line sshd names commented out, the config checked, a restart.
    assert_eq!(
        findings[0].remediation.guest[0],
        "sed -i '14s/^/# /' /etc/ssh/sshd_config && /usr/sbin/sshd -t && systemctl restart ssh.service"
    );
}

#[test]
fn ignored_dropins_name_the_include_to_restore_and_the_vmaccess_backup() {
    let mut facts = healthy();
    facts.config.ignored_dropins = vec![
        "/etc/ssh/sshd_config.d/50-cloud-init.conf".into(),
        "/etc/ssh/sshd_config.d/60-port.conf".into(),
    ];
    let findings = evaluate(&facts);
    assert_eq!(ids(&facts), ["SSH-CFG-005"]);
    let finding = &findings[0];
    assert_eq!(finding.severity, Severity::Warning);
    assert_eq!(
        finding.title,
        "sshd ignores 2 drop-in file(s) in /etc/ssh/sshd_config.d: /etc/ssh/sshd_config has no Include for them"
    );
    assert_eq!(
        finding.remediation.guest[0],
        "sed -i '1i Include /etc/ssh/sshd_config.d/*.conf' /etc/ssh/sshd_config && /usr/sbin/sshd -t && systemctl restart ssh.service"
    );
    // With ssh.service stopped systemd has removed /run/sshd, where sshd -t would stop:
    // the printed check recreates it first.
    facts.prereqs.privsep_dir = Some(FileStat {
        exists: false,
        ..stat("/run/sshd", FileKind::Missing, 0, 0)
    });
    let again = evaluate(&facts);
    let dropins = again.iter().find(|f| f.id == "SSH-CFG-005").unwrap();
    assert_eq!(
        dropins.remediation.guest[0],
        "sed -i '1i Include /etc/ssh/sshd_config.d/*.conf' /etc/ssh/sshd_config && mkdir -p -m 0755 /run/sshd && /usr/sbin/sshd -t && systemctl restart ssh.service"
    );
    facts.prereqs.privsep_dir = None;
    assert!(!finding
        .evidence
        .iter()
        .any(|e| e.fact.contains("Reset SSH")));
    facts.config.vmaccess_backup = Some("/var/cache/vmaccess/backup".into());
    let findings = evaluate(&facts);
    assert!(findings[0].evidence.iter().any(|e| e.fact
        == "Azure's Reset SSH configuration replaced /etc/ssh/sshd_config and kept the old one: diff /var/cache/vmaccess/backup /etc/ssh/sshd_config"));
}

#[test]
fn parser_fatal_problem_stands_in_when_sshd_cannot_run() {
    let mut facts = healthy();
    facts.config.syntax_check = None;
    facts.config.problems = vec![ConfigProblem {
        file: "/etc/ssh/sshd_config.d/50-x.conf".into(),
        line: Some(3),
        message: "Bad configuration option: Bogus".into(),
        fatal: true,
    }];
    let findings = evaluate(&facts);
    assert_eq!(findings[0].id, "SSH-CFG-001");
    assert_eq!(
        findings[0].evidence[0].source.as_deref(),
        Some("/etc/ssh/sshd_config.d/50-x.conf:3")
    );
}

#[test]
fn unreadable_config_is_critical() {
    let mut facts = healthy();
    facts.config.readable = false;
    facts.config.read_error = Some("No such file or directory (os error 2)".into());
    let findings = evaluate(&facts);
    assert_eq!(findings[0].id, "SSH-CFG-002");
    assert!(findings[0].title.contains("No such file"));
}

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

#[test]
fn socket_activation_is_explained_and_inactive_service_is_normal() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    service(&mut facts).unit_file_state = Some("disabled".into());
    let mut socket = unit(
        "ssh.socket",
        UnitKind::Socket,
        "active",
        "listening",
        "enabled",
    );
    socket.listen = vec![("Stream".into(), "[::]:2222".into())];
    facts.systemd.units.push(socket);
    // systemd's ListenStream=[::]:2222 is dual-stack (BindIPv6Only=default).
    let mut activation_socket = listener("::", 2222, ("systemd", 1));
    activation_socket.v6only = Some(false);
    facts.sockets.listeners = vec![activation_socket];
    facts.config.ports = vec![located(22, 14)];
    let verdict = verdict(facts);
    let found: Vec<&str> = verdict.findings.iter().map(|f| f.id).collect();
    assert_eq!(found, ["SSH-NET-004", "SSH-SVC-007"]);
    let activation = &verdict.findings[1];
    assert!(activation.title.contains("[::]:2222"));
    assert!(activation
        .evidence
        .iter()
        .any(|e| e.source.as_deref() == Some("/etc/ssh/sshd_config:14")));
}

#[test]
fn no_unit_and_not_installed() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    facts.systemd.units.clear();
    assert_eq!(ids(&facts), ["SSH-SVC-001"]);
    facts.sshd.binary = None;
    assert_eq!(ids(&facts), ["SSH-PKG-001"]);
}

#[test]
fn without_systemd_the_processes_decide() {
    let mut facts = healthy();
    facts.systemd = SystemdFacts {
        reachable: false,
        error: Some("no system bus".into()),
        ..SystemdFacts::default()
    };
    assert_eq!(ids(&facts), ["SSH-SVC-009"]);
    assert_eq!(verdict(facts.clone()).status, Status::Healthy);
    facts.processes.sshd.clear();
    facts.sockets.listeners.clear();
    assert_eq!(ids(&facts), ["SSH-SVC-008", "SSH-SVC-009"]);
}

/// Stopped sshd and no /run/sshd: systemd removes the directory when it stops the unit
/// and creates it again on start, so it is no finding while systemd is PID 1, even when
/// systemd does not answer in time (the lab's reboot under load). Without systemd the
/// directory must exist for sshd to start.
#[test]
fn missing_privsep_dir_counts_only_where_systemd_does_not_create_it() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    facts.prereqs.privsep_dir = Some(FileStat {
        path: "/run/sshd".into(),
        exists: false,
        kind: FileKind::Missing,
        mode: None,
        uid: None,
        gid: None,
        group: None,
        error: None,
    });
    assert!(!ids(&facts).contains(&"SSH-PRV-001"), "{:?}", ids(&facts));
    facts.systemd = SystemdFacts {
        reachable: false,
        error: Some("timed out after 5s".into()),
        ..SystemdFacts::default()
    };
    facts.host.pid1_comm = Some("systemd".into());
    assert_eq!(ids(&facts), ["SSH-SVC-008", "SSH-SVC-009"]);
    facts.host.pid1_comm = Some("init".into());
    assert_eq!(ids(&facts), ["SSH-PRV-001", "SSH-SVC-008", "SSH-SVC-009"]);
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

fn schema() -> jsonschema::Validator {
    let text = include_str!("../schema/verdict.schema.json");
    jsonschema::validator_for(&serde_json::from_str(text).unwrap()).expect("schema compiles")
}

/// Every verdict the cases above produce validates against the published schema.
#[test]
fn json_output_validates_against_schema() {
    let validator = schema();
    let mut cases = vec![healthy()];
    for change in [stop_sshd as fn(&mut Facts), |f: &mut Facts| {
        f.sockets.listeners = vec![listener("127.0.0.1", 2222, ("sshd", 829))];
    }] {
        let mut facts = healthy();
        change(&mut facts);
        cases.push(facts);
    }
    for facts in cases {
        let json: serde_json::Value = serde_json::from_str(&render_json(&verdict(facts))).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}

/// The schema is not a rubber stamp: it rejects a finding with an unfilled placeholder.
#[test]
fn schema_rejects_malformed_verdicts() {
    let validator = schema();
    let mut facts = healthy();
    stop_sshd(&mut facts);
    let mut json: serde_json::Value = serde_json::from_str(&render_json(&verdict(facts))).unwrap();
    json["findings"][0]["title"] = "{unit} is not running".into();
    assert!(!validator.is_valid(&json));
    json["findings"][0]["title"] = "fine".into();
    json["status"] = "fine".into();
    assert!(!validator.is_valid(&json));
}

fn many_findings() -> Facts {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    service(&mut facts).active_state = "failed".into();
    facts.sockets.listeners = vec![listener("0.0.0.0", 22, ("python3", 4242))];
    facts.config.problems = (1..200)
        .map(|line| ConfigProblem {
            file: "/etc/ssh/sshd_config.d/99-generated.conf".into(),
            line: Some(line),
            message: format!(
                "keyword Ciphers given again on line {line}; only the first counts ({})",
                "x".repeat(80)
            ),
            fatal: false,
        })
        .collect();
    facts
}

#[test]
fn compact_fits_run_command_and_ends_with_the_result_line() {
    let verdict = verdict(many_findings());
    let compact = render_compact(&verdict, COMPACT_BUDGET);
    assert!(compact.len() <= COMPACT_BUDGET, "{} bytes", compact.len());
    let last = compact.lines().last().unwrap();
    assert!(
        last.starts_with(
            "SSHDOCTOR schema=2 status=critical exit=2 findings=SSH-NET-006,SSH-SVC-004"
        ),
        "{last}"
    );
    // Most severe first: the critical findings come before the warnings that were cut.
    let first_block = compact.lines().nth(1).unwrap();
    assert!(first_block.starts_with("[critical]"), "{first_block}");
    assert!(compact.contains("more findings cut to fit"));
}

#[test]
fn text_fits_an_80_column_serial_console() {
    let verdict = verdict(many_findings());
    let text = screen(&verdict);
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(text.starts_with("CRITICAL: SSH-NET-006"), "{}", &text[..80]);
    assert!(!text.contains('\x1b'));
}

#[test]
fn text_color_only_when_asked() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    let text = render_text(
        &verdict(facts),
        TextStyle {
            width: 80,
            color: true,
        },
    );
    assert!(text.starts_with("\x1b[1;31mCRITICAL\x1b[0m: "));
}

#[test]
fn listener_addresses_serialize_as_plain_strings() {
    let json = serde_json::to_value(listener("::1", 22, ("sshd", 1))).unwrap();
    assert_eq!(json["address"], "::1");
    let parsed: IpAddr = json["address"].as_str().unwrap().parse().unwrap();
    assert!(parsed.is_loopback());
}

#[test]
fn azure_context_fills_az_commands_with_this_vms_names() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    facts.cloud.azure = Some(AzureInstance {
        subscription_id: "1111".into(),
        resource_group: "rg-prod".into(),
        vm_name: "web1".into(),
        location: None,
        vm_id: None,
        private_ipv4: vec!["10.0.0.4".into()],
        public_ipv4: vec![],
    });
    let findings = evaluate(&facts);
    assert!(findings[0].remediation.azure[0]
        .starts_with("az vm run-command invoke -g rg-prod -n web1 "));
}

#[test]
fn memory_pressure_and_oom_kills_of_sshd() {
    let mut facts = healthy();
    facts.health.memory = Some(MemoryFacts {
        total_bytes: 1 << 30,
        available_bytes: 20 << 20,
        swap_total_bytes: 0,
        swap_free_bytes: 0,
    });
    facts.health.oom_kills = vec![
        OomKill {
            pid: 812,
            comm: "sshd".into(),
            seconds_since_boot: 3600,
            message: "Out of memory: Killed process 812 (sshd)".into(),
        },
        OomKill {
            pid: 900,
            comm: "java".into(),
            seconds_since_boot: 3700,
            message: "Out of memory: Killed process 900 (java)".into(),
        },
    ];
    let findings = evaluate(&facts);
    let found: Vec<&str> = findings.iter().map(|f| f.id).collect();
    assert_eq!(found, ["SSH-HST-004", "SSH-HST-005"]);
    assert_eq!(
        findings[0].title,
        "Memory is nearly exhausted (20.0 MiB available of 1.0 GiB)"
    );
    assert_eq!(
        findings[1].title,
        "The kernel's OOM killer killed sshd (pid 812)"
    );
    // With free swap, low MemAvailable alone does not starve forks.
    facts.health.memory.as_mut().unwrap().swap_total_bytes = 2 << 30;
    facts.health.memory.as_mut().unwrap().swap_free_bytes = 2 << 30;
    assert_eq!(ids(&facts), ["SSH-HST-005"]);
}

#[test]
fn sshd_t_failing_for_the_machines_sake_is_not_a_syntax_error() {
    let mut facts = healthy();
    facts.config.syntax_check = Some(SshdRun {
        privsep_stand_in: None,
        command: vec!["/usr/sbin/sshd".into(), "-t".into()],
        exit_code: Some(255),
        timed_out: false,
        error: Some("Missing privilege separation directory: /run/sshd".into()),
        error_file: None,
        error_line: None,
        stderr: String::new(),
        environment_problem: true,
    });
    assert!(ids(&facts).is_empty(), "{:?}", ids(&facts));
    // The parser's own fatal finding still stands in for the run that could not judge.
    facts.config.problems = vec![ConfigProblem {
        file: "/etc/ssh/sshd_config".into(),
        line: Some(9),
        message: "Bad configuration option: Bogus".into(),
        fatal: true,
    }];
    assert_eq!(ids(&facts), ["SSH-CFG-001"]);
}

fn log_line(pid: u32, message: &str) -> LogLine {
    LogLine {
        time: Some("2026-11-24T07:00:00+00:00".into()),
        pid: Some(pid),
        message: message.into(),
        source: "journal".into(),
        own_probe: false,
    }
}

/// A bind failure that a later, successful start of sshd superseded is history: the
/// verdict of a repaired machine must not keep warning about it.
#[test]
fn startup_failures_before_a_later_successful_start_are_history() {
    let bind_failed =
        "error: Bind to port 22 on 10.99.99.99 failed: Cannot assign requested address.";
    let mut facts = healthy();
    facts.logs.lines = vec![
        log_line(100, bind_failed),
        log_line(200, "Server listening on 0.0.0.0 port 22."),
    ];
    assert!(ids(&facts).is_empty(), "{:?}", ids(&facts));
    // One start that bound only some addresses: the failure stands.
    facts.logs.lines = vec![
        log_line(300, bind_failed),
        log_line(300, "Server listening on 0.0.0.0 port 22."),
    ];
    assert_eq!(ids(&facts), ["SSH-LOG-009"]);
    // A failure after the last successful start stands.
    facts.logs.lines = vec![
        log_line(200, "Server listening on 0.0.0.0 port 22."),
        log_line(400, bind_failed),
    ];
    assert_eq!(ids(&facts), ["SSH-LOG-009"]);
    // Authentication trouble is not about starting: it stays after a restart.
    facts.logs.lines = vec![
        log_line(
            500,
            "User alice from 203.0.113.9 not allowed because not listed in AllowUsers",
        ),
        log_line(600, "Server listening on 0.0.0.0 port 22."),
    ];
    assert_eq!(ids(&facts), ["SSH-LOG-004"]);
}

/// The shell's words for `command`, as `sh` splits them (`set -- COMMAND`).
fn shell_argv(command: &str) -> Vec<String> {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("set -- {command}\nprintf '%s\\0' \"$@\""))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .split('\0')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// The `az` commands of the text output, wrapped for 80 columns, still give the shell
/// the same words as the verdict's one-line commands: a person can copy them off the
/// serial console.
#[test]
fn wrapped_az_commands_paste_into_a_shell_unchanged() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    service(&mut facts).active_state = "failed".into();
    // Unknown names print as <resource-group>, which a shell refuses on purpose.
    facts.cloud.azure = Some(AzureInstance {
        subscription_id: "1111".into(),
        resource_group: "rg-web-prod-westeurope".into(),
        vm_name: "web-frontend-vm-01".into(),
        location: None,
        vm_id: None,
        private_ipv4: vec!["10.0.0.4".into()],
        public_ipv4: vec![],
    });
    let verdict = verdict(facts);
    let text = screen(&verdict);
    let mut pasted = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(first) = line.strip_prefix("  az:   ") else {
            continue;
        };
        let mut block = first.to_string();
        let mut current = first.to_string();
        while current.ends_with('\\') {
            current = lines.next().unwrap().trim_start().to_string();
            block.push('\n');
            block.push_str(&current);
        }
        pasted.push(block);
    }
    let originals: Vec<&String> = verdict
        .findings
        .iter()
        .filter_map(|f| f.remediation.azure.first())
        .collect();
    assert_eq!(pasted.len(), originals.len());
    assert!(pasted.iter().any(|block| block.contains('\n')), "{text}");
    for (block, original) in pasted.iter().zip(originals) {
        assert_eq!(shell_argv(block), shell_argv(original), "{block}");
    }
}

/// On EC2 the verdict speaks AWS: the instance id from DMI fills the AWS commands, and
/// the text shows them instead of Azure's.
#[test]
fn aws_vms_get_aws_commands() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    facts.cloud.provider = Some(CloudProvider::Aws);
    facts.cloud.dmi.board_asset_tag = Some("i-0123456789abcdef0".into());
    let verdict = verdict(facts);
    let finding = &verdict.findings[0];
    assert_eq!(
        finding.remediation.aws[1],
        "aws ec2 reboot-instances --instance-ids i-0123456789abcdef0"
    );
    let text = screen(&verdict);
    assert!(
        text.contains("  aws:  aws ssm send-command --instance-ids i-0123456789abcdef0"),
        "{text}"
    );
    assert!(!text.contains("az vm"), "{text}");
}

/// A user refused, then the cause fixed and the same user logged in: the refusal is
/// history. Another user's refusal, or one after the login, stands.
#[test]
fn refusals_outlived_by_a_login_of_the_same_user_are_history() {
    let refused = "User labuser from 10.0.2.2 not allowed because not listed in AllowUsers";
    let bad_modes = "Authentication refused: bad ownership or modes for file /home/labuser/.ssh/authorized_keys";
    let accepted =
        "Accepted publickey for labuser from 10.0.2.2 port 51234 ssh2: ED25519 SHA256:abc";
    let mut facts = healthy();
    facts.logs.lines = vec![
        log_line(10, refused),
        log_line(11, bad_modes),
        log_line(12, accepted),
    ];
    assert!(ids(&facts).is_empty(), "{:?}", ids(&facts));
    facts.logs.lines = vec![
        log_line(12, accepted),
        log_line(10, refused),
        log_line(11, bad_modes),
    ];
    assert_eq!(ids(&facts), ["SSH-LOG-001", "SSH-LOG-004"]);
    let other = "User alice from 10.0.2.2 not allowed because not listed in AllowUsers";
    facts.logs.lines = vec![log_line(10, other), log_line(12, accepted)];
    assert_eq!(ids(&facts), ["SSH-LOG-004"]);
}

/// sshd checks its privsep directory when it starts (and, before OpenSSH 9.8, on every
/// connection): with sshd-session and sshd running, an unsafe directory is a warning
/// about the next restart (the VM lab's trixie logs in fine); otherwise it is critical.
#[test]
fn unsafe_privsep_dir_is_critical_only_when_sshd_must_start() {
    let mut facts = healthy();
    facts.prereqs.privsep_dir = Some(FileStat {
        path: "/run/sshd".into(),
        exists: true,
        kind: FileKind::Directory,
        mode: Some(0o777),
        uid: Some(0),
        gid: Some(0),
        group: Some("root".into()),
        error: None,
    });
    // OpenSSH before 9.8 re-executes sshd per connection: every connection fails.
    let running = evaluate(&facts);
    assert_eq!(running[0].id, "SSH-PRV-002");
    assert_eq!(running[0].severity, Severity::Critical);
    facts.sshd.session = Some("/usr/lib/openssh/sshd-session".into());
    let running = evaluate(&facts);
    assert_eq!(running[0].severity, Severity::Warning);
    stop_sshd(&mut facts);
    let stopped = evaluate(&facts);
    let unsafe_dir = stopped.iter().find(|f| f.id == "SSH-PRV-002").unwrap();
    assert_eq!(unsafe_dir.severity, Severity::Critical);
}

/// A full conntrack table drops every new connection (critical); a table at 90% warns;
/// drops since boot, with room again now, are for information; max 0 means no limit.
#[test]
fn conntrack_table_full_dropping_and_nearly_full() {
    let mut facts = healthy();
    let mut conntrack = ConntrackFacts {
        entries: 1200,
        max: 65536,
        drops: Some(0),
        ..ConntrackFacts::default()
    };
    facts.health.conntrack = Some(conntrack.clone());
    assert!(ids(&facts).is_empty(), "{:?}", ids(&facts));

    conntrack.entries = 65536;
    conntrack.drops = Some(412);
    conntrack.table_full_messages = 3;
    conntrack.last_table_full_seconds_since_boot = Some(5400);
    facts.health.conntrack = Some(conntrack.clone());
    let full = evaluate(&facts);
    assert_eq!(full[0].id, "SSH-HST-006");
    assert_eq!(full[0].severity, Severity::Critical);
    assert_eq!(
        full[0].title,
        "The connection-tracking table is full (65536 of 65536 entries)"
    );
    assert_eq!(
        full[0].remediation.guest[0],
        "sysctl -w net.netfilter.nf_conntrack_max=131072"
    );
    let facts_seen: Vec<&str> = full[0].evidence.iter().map(|e| e.fact.as_str()).collect();
    assert_eq!(
        facts_seen,
        [
            "65536 of 65536 entries (100%)",
            "412 packets dropped since boot because the table was full",
            "3 \"table full, dropping packet\" line(s) in the kernel log",
        ]
    );
    assert_eq!(
        verdict(facts.clone()).summary,
        "SSH-HST-006: The connection-tracking table is full (65536 of 65536 entries)"
    );

    conntrack.entries = 900;
    facts.health.conntrack = Some(conntrack.clone());
    let dropped = evaluate(&facts);
    assert_eq!(ids(&facts), ["SSH-HST-007"]);
    assert_eq!(dropped[0].severity, Severity::Info, "room again now");
    assert_eq!(verdict(facts.clone()).status, Status::Healthy);
    assert_eq!(
        dropped[0].title,
        "The connection-tracking table was full since boot: 412 new connections' packets dropped"
    );

    conntrack.drops = Some(0);
    conntrack.table_full_messages = 0;
    conntrack.last_table_full_seconds_since_boot = None;
    conntrack.entries = 60000;
    facts.health.conntrack = Some(conntrack.clone());
    assert_eq!(ids(&facts), ["SSH-HST-007"]);
    assert_eq!(evaluate(&facts)[0].severity, Severity::Warning);

    conntrack.max = 0;
    facts.health.conntrack = Some(conntrack);
    assert!(ids(&facts).is_empty(), "max 0: no limit");
}

fn connection(remote: &str, remote_port: u16, state: ConnectionState) -> TcpConnection {
    TcpConnection {
        local_address: "10.0.0.4".parse().unwrap(),
        local_port: 22,
        remote_address: remote.parse().unwrap(),
        remote_port,
        state,
        retransmits: Some(0),
        half_open_ms: None,
        accepted: state.is_open().then_some(true),
    }
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

fn stat(path: &str, kind: FileKind, mode: u32, uid: u32) -> FileStat {
    FileStat {
        path: path.into(),
        exists: true,
        kind,
        mode: Some(mode),
        uid: Some(uid),
        gid: Some(uid),
        group: None,
        error: None,
    }
}

/// alice, with one ed25519 key in a correct ~/.ssh/authorized_keys, as the auth
/// collector reports her.
fn alice() -> UserAuth {
    let keys = "/home/alice/.ssh/authorized_keys";
    UserAuth {
        name: "alice".into(),
        role: UserRole::Discovered,
        account: Some(Account {
            uid: 1000,
            gid: 1000,
            home: "/home/alice".into(),
            shell: "/bin/bash".into(),
            groups: vec!["alice".into()],
            shadow: None,
            shell_stat: stat("/bin/bash", FileKind::File, 0o755, 0),
            shell_listed: Some(true),
            home_stat: stat("/home/alice", FileKind::Directory, 0o755, 1000),
        }),
        settings: UserSettings {
            source: SettingsSource::SshdT,
            command: Some("sshd -T -C user=alice".into()),
            values: [
                ("pubkeyauthentication", "yes"),
                ("strictmodes", "yes"),
                ("usepam", "yes"),
                ("authorizedkeysfile", ".ssh/authorized_keys"),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_string(), vec![value.to_string()]))
            .collect(),
            locations: Default::default(),
        },
        keys_files: vec![KeysFile {
            pattern: ".ssh/authorized_keys".into(),
            path: keys.into(),
            stat: stat(keys, FileKind::File, 0o600, 1000),
            chain: vec![],
            unreadable_by_user: None,
            keys: vec![AuthorizedKey {
                line: 1,
                key_type: "ssh-ed25519".into(),
                options: vec![],
                comment: Some("alice@laptop".into()),
                from: None,
                expiry_time: None,
                command_program: None,
                public_key: "ssh-ed25519 AAAA".into(),
            }],
            bad_lines: vec![],
            truncated: false,
        }],
        unread_keys_files: Vec::new(),
        session: Default::default(),
    }
}

fn key_query(outcome: KeyQueryOutcome) -> KeyQuery {
    KeyQuery {
        user: "alice".into(),
        keys_file: "/home/alice/.ssh/authorized_keys".into(),
        line: 1,
        key_type: "ssh-ed25519".into(),
        fingerprint: Some("SHA256:C5lCi+3Va6pUQ".into()),
        from: None,
        target: "127.0.0.1:22".into(),
        source: Some("127.115.7.9".into()),
        outcome,
        detail: None,
        elapsed_ms: 90,
    }
}

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
        "systemctl restart ssh.service"
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

/// The live probes' own refusals in sshd's log are not a client's: no log finding.
#[test]
fn the_probes_own_log_lines_are_not_judged() {
    let mut facts = healthy();
    let refusal = "User alice from 127.115.3.4 not allowed because not listed in AllowUsers";
    facts.logs.lines = vec![LogLine {
        own_probe: true,
        ..log_line(901, refusal)
    }];
    assert!(ids(&facts).is_empty(), "{:?}", ids(&facts));
    facts.logs.lines[0].own_probe = false;
    assert_eq!(ids(&facts), ["SSH-LOG-004"]);
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

/// OpenSSH 10's sshd-session made non-executable (or removed): critical, with this
/// distribution's reinstall and a restart of the unit first; the listener closing
/// connections before its banner is this finding's alone.
#[test]
fn a_missing_sshd_session_is_critical_with_the_reinstall_first() {
    let mut facts = healthy();
    facts.prereqs.helpers = vec![SshdHelper {
        name: "sshd-session".into(),
        stat: stat("/usr/lib/openssh/sshd-session", FileKind::File, 0o644, 0),
        source: "sshd -T".into(),
    }];
    facts.live.banners[0].outcome = BannerOutcome::ClosedBeforeBanner;
    let found = evaluate(&facts);
    let ids: Vec<&str> = found.iter().map(|finding| finding.id).collect();
    assert_eq!(ids, ["SSH-PRV-004"], "{found:#?}");
    assert_eq!(
        found[0].title,
        "sshd's sshd-session /usr/lib/openssh/sshd-session is not executable"
    );
    assert_eq!(
        found[0].remediation.guest[0],
        "apt-get install --reinstall -y openssh-server && systemctl restart ssh.service"
    );
    facts.host.os_id = Some("rhel".into());
    assert_eq!(
        evaluate(&facts)[0].remediation.guest[0],
        "dnf reinstall -y openssh-server && systemctl restart ssh.service"
    );
}

/// sshd's log read half an hour after users were refused, with no good login of theirs
/// since: on an otherwise healthy machine those refusals describe it now (critical),
/// unless a current finding already says why a user is refused. Refusals that are not a
/// user's (TCP wrappers, a missing sshd-session) stay warnings.
#[test]
fn recent_refusals_of_a_user_are_critical_unless_explained() {
    use sshdoctor::collect::logs::{collect_from, LogSources};
    use sshdoctor::collect::ProbeNotes;
    let sources = LogSources {
        tool_dirs: Vec::new(),
        journal_timeout: std::time::Duration::from_secs(1),
        journal_dirs: Vec::new(),
        log_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/logs/session-phase"),
    };
    let mut facts = healthy();
    facts.logs = collect_from(&sources, &mut ProbeNotes::default());
    facts.logs.read_at = Some(1_796_117_400); // 2026-12-01T09:30:00Z
    let severities = |facts: &Facts| -> Vec<(&'static str, Severity)> {
        evaluate(facts)
            .into_iter()
            .filter(|finding| finding.id.starts_with("SSH-LOG"))
            .map(|finding| (finding.id, finding.severity))
            .collect()
    };
    assert_eq!(
        severities(&facts),
        [
            ("SSH-LOG-007", Severity::Critical),
            ("SSH-LOG-017", Severity::Critical),
            ("SSH-LOG-018", Severity::Critical),
            ("SSH-LOG-019", Severity::Critical),
            ("SSH-LOG-020", Severity::Critical),
            ("SSH-LOG-021", Severity::Warning),
            ("SSH-LOG-022", Severity::Warning),
        ]
    );
    let critical = evaluate(&facts)
        .into_iter()
        .find(|finding| finding.id == "SSH-LOG-017")
        .unwrap();
    assert_eq!(
        critical.evidence.last().unwrap().fact,
        "no login of alice has succeeded since, and the last refusal was 30 min before this diagnosis"
    );
    // A file that decides a login changed after them: they may be fixed, history again.
    facts.logs.login_files_changed_at = Some(1_796_117_400 - 60);
    assert!(severities(&facts)
        .iter()
        .all(|(_, severity)| *severity == Severity::Warning));
    facts.logs.login_files_changed_at = None;
    // A day later the same lines are history again.
    facts.logs.read_at = Some(1_796_117_400 + 86_400);
    assert!(severities(&facts)
        .iter()
        .all(|(_, severity)| *severity == Severity::Warning));
    // alice's nologin shell already says why she is refused: no escalation for her.
    facts.logs.read_at = Some(1_796_117_400);
    let mut alice = alice();
    alice.account.as_mut().unwrap().shell = "/usr/sbin/nologin".into();
    alice.role = UserRole::Requested;
    facts.auth.users = vec![alice];
    let found = evaluate(&facts);
    let severity_of = |id: &str| found.iter().find(|f| f.id == id).map(|f| f.severity);
    assert_eq!(severity_of("SSH-SES-001"), Some(Severity::Critical));
    assert_eq!(severity_of("SSH-LOG-017"), Some(Severity::Warning));
}
