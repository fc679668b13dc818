//! The service rules (SSH-SVC, SSH-PKG) judged on facts built by hand: ssh.service
//! stopped, disabled, masked or failed, socket activation, no unit, no systemd, no sshd.

use crate::support::facts::*;
use sshdoctor::facts::*;
use sshdoctor::rules::evaluate;
use sshdoctor::verdict::Status;

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
    // The fix first: clear the failure, test the config (recreating the privsep
    // directory systemd removed with the stopped service), then start; the log after.
    assert_eq!(
        findings[0].remediation.guest[0],
        "systemctl reset-failed ssh.service && /usr/sbin/sshd -t && systemctl restart ssh.service"
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

/// ssh.service disabled and stopped, ssh.socket active and listening on `listen`.
fn socket_activated(listen: &[&str]) -> Facts {
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
    socket.listen = listen
        .iter()
        .map(|address| ("Stream".to_string(), address.to_string()))
        .collect();
    facts.systemd.units.push(socket);
    facts
}

#[test]
fn socket_activation_is_explained_and_inactive_service_is_normal() {
    let mut facts = socket_activated(&["[::]:2222"]);
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

/// Ubuntu 24.04's layout: ssh.socket listening (0.0.0.0:22 and [::]:22 by default),
/// sshd-socket-generator installed, and what it wrote at the last daemon-reload
/// (`generated`). sshd_config says `ports`.
fn ubuntu_socket(generated: Option<&[&str]>, ports: &[u16]) -> Facts {
    let mut facts = socket_activated(&["0.0.0.0:22", "[::]:22"]);
    facts.systemd.socket_generator = Some(SocketGenerator {
        path: "/usr/lib/systemd/system-generators/sshd-socket-generator".into(),
        generated: generated.map(|lines| lines.iter().map(|line| line.to_string()).collect()),
    });
    let mut v4 = listener("0.0.0.0", 22, ("systemd", 1));
    v4.v6only = None;
    let mut v6 = listener("::", 22, ("systemd", 1));
    v6.v6only = Some(true);
    facts.sockets.listeners = vec![v4, v6];
    facts.config.ports = ports.iter().map(|port| located(*port, 14)).collect();
    facts.config.endpoints = ports
        .iter()
        .flat_map(|port| {
            ["0.0.0.0", "::"].map(|host| Endpoint {
                host: host.into(),
                port: *port,
                file: Some("/etc/ssh/sshd_config".into()),
                line: Some(14),
            })
        })
        .collect();
    facts
}

fn finding<'v>(
    verdict: &'v sshdoctor::verdict::Verdict,
    id: &str,
) -> &'v sshdoctor::rules::Finding {
    verdict
        .findings
        .iter()
        .find(|finding| finding.id == id)
        .unwrap_or_else(|| panic!("no {id}: {:#?}", verdict.findings))
}

/// Port 2222 in sshd_config, but the generator has not run since: ssh.socket still
/// listens on 22, and the fix is the daemon-reload and the socket's restart.
#[test]
fn a_port_edit_the_generator_has_not_seen_is_a_pending_daemon_reload() {
    let facts = ubuntu_socket(None, &[2222]);
    let verdict = verdict(facts);
    let pending = finding(&verdict, "SSH-SVC-010");
    assert_eq!(
        pending.title,
        "sshd_config listens on 0.0.0.0:2222, [::]:2222, but ssh.socket still listens on 0.0.0.0:22, [::]:22: a daemon-reload is pending"
    );
    assert_eq!(
        pending.remediation.guest[0],
        "systemctl daemon-reload && systemctl restart ssh.socket"
    );
    assert!(pending.remediation.manual.is_some());
    let activation = finding(&verdict, "SSH-SVC-007");
    assert!(
        activation.explanation.contains("sshd-socket-generator"),
        "{}",
        activation.explanation
    );
}

/// What the generator wrote matches sshd_config (its own format, or the bare port of
/// earlier versions), or sshd_config listens as the unit does by default: nothing pending.
#[test]
fn generated_addresses_that_match_sshd_config_are_not_pending() {
    for (generated, ports) in [
        (Some(&["0.0.0.0:2222", "[::]:2222"][..]), &[2222][..]),
        (Some(&["2222"][..]), &[2222][..]),
        (None, &[22][..]),
    ] {
        let verdict = verdict(ubuntu_socket(generated, ports));
        let ids: Vec<&str> = verdict.findings.iter().map(|f| f.id).collect();
        assert!(
            !ids.contains(&"SSH-SVC-010"),
            "{generated:?} {ports:?}: {ids:?}"
        );
    }
}

/// An /etc drop-in that resets ListenStream after the generator's: it decides the port,
/// sshd_config no longer does. The printed fix comments out its ListenStream lines.
#[test]
fn an_override_after_the_generator_shadows_sshd_config() {
    let mut facts = ubuntu_socket(Some(&["0.0.0.0:22"]), &[22]);
    let generated = "/run/systemd/generator/ssh.socket.d/addresses.conf";
    let override_conf = "/etc/systemd/system/ssh.socket.d/override.conf";
    let line = |file: &str, value: &str, line: u32| Located {
        value: value.to_string(),
        file: file.to_string(),
        line,
    };
    let socket = facts
        .systemd
        .units
        .iter_mut()
        .find(|unit| unit.name == "ssh.socket")
        .unwrap();
    socket.dropin_listen = vec![
        line(generated, "", 4),
        line(generated, "0.0.0.0:22", 5),
        line(override_conf, "", 2),
        line(override_conf, "2222", 3),
    ];
    socket.listen = vec![("Stream".into(), "[::]:2222".into())];
    let verdict = verdict(facts);
    let shadow = finding(&verdict, "SSH-SVC-011");
    assert_eq!(
        shadow.title,
        "/etc/systemd/system/ssh.socket.d/override.conf sets ssh.socket's ListenStream: sshd_config's Port and ListenAddress no longer count"
    );
    assert_eq!(
        shadow.remediation.guest[0],
        "sed -i '2s/^/# /;3s/^/# /' /etc/systemd/system/ssh.socket.d/override.conf && systemctl daemon-reload && systemctl restart ssh.socket"
    );
    let ids: Vec<&str> = verdict.findings.iter().map(|f| f.id).collect();
    assert!(!ids.contains(&"SSH-SVC-010"), "{ids:?}");
}

/// The override's bare ListenStream=2222 under Ubuntu's BindIPv6Only=ipv6-only: no IPv4
/// listener at all. The override is the cause (critical), not sshd's AddressFamily.
#[test]
fn an_ipv6_only_override_is_the_critical_cause() {
    let mut facts = ubuntu_socket(None, &[22]);
    let override_conf = "/etc/systemd/system/ssh.socket.d/override.conf";
    let socket = facts
        .systemd
        .units
        .iter_mut()
        .find(|unit| unit.name == "ssh.socket")
        .unwrap();
    socket.dropin_listen = vec![
        Located {
            value: String::new(),
            file: override_conf.into(),
            line: 2,
        },
        Located {
            value: "2222".into(),
            file: override_conf.into(),
            line: 3,
        },
    ];
    socket.listen = vec![("Stream".into(), "[::]:2222".into())];
    let mut v6 = listener("::", 2222, ("systemd", 1));
    v6.v6only = Some(true);
    facts.sockets.listeners = vec![v6];
    let with_override = verdict(facts.clone());
    let ids: Vec<&str> = with_override.findings.iter().map(|f| f.id).collect();
    assert!(!ids.contains(&"SSH-NET-007"), "{ids:?}");
    let shadow = finding(&with_override, "SSH-SVC-011");
    assert_eq!(shadow.severity, sshdoctor::rules::Severity::Critical);

    // Without the generator nothing copies sshd_config: both families in a drop-in.
    facts.systemd.socket_generator = None;
    let without_generator = verdict(facts);
    let ipv6_only = finding(&without_generator, "SSH-NET-007");
    assert_eq!(
        ipv6_only.remediation.guest[0],
        "mkdir -p /etc/systemd/system/ssh.socket.d && printf '[Socket]\\nListenStream=\\nListenStream=0.0.0.0:2222\\nListenStream=[::]:2222\\n' > /etc/systemd/system/ssh.socket.d/50-ipv4.conf && systemctl daemon-reload && systemctl restart ssh.socket"
    );
}

/// Debian's ssh.service left disabled beside an sshd.service of the machine's own that
/// runs (RHEL's layout on a Debian base): the running one is the SSH service.
#[test]
fn the_running_unit_is_the_ssh_service_when_there_are_two() {
    let mut facts = healthy();
    service(&mut facts).active_state = "inactive".into();
    service(&mut facts).sub_state = "dead".into();
    service(&mut facts).unit_file_state = Some("disabled".into());
    facts.systemd.units.push(unit(
        "sshd.service",
        UnitKind::Service,
        "active",
        "running",
        "enabled",
    ));
    let verdict = verdict(facts);
    assert!(verdict.findings.is_empty(), "{:#?}", verdict.findings);
}

/// systemctl freeze: the unit stays active, its listener sleeps and no banner comes.
/// The verdict names the freezer, not a hung daemon, and thaws rather than restarts
/// (systemd 257 refuses to restart a frozen unit).
#[test]
fn a_frozen_unit_is_thawed_not_restarted() {
    let mut facts = healthy();
    service(&mut facts).freezer_state = Some("frozen".into());
    facts.live.banners[0].outcome = BannerOutcome::BannerTimeout;
    facts.live.banners[0].banner = None;
    let verdict = verdict(facts);
    assert_eq!(
        verdict.findings.iter().map(|f| f.id).collect::<Vec<_>>(),
        ["SSH-SVC-012"]
    );
    assert_eq!(verdict.status, Status::Critical);
    let finding = &verdict.findings[0];
    assert_eq!(finding.remediation.guest[0], "systemctl thaw ssh.service");
    assert!(finding.evidence[0].fact.starts_with("FreezerState=frozen"));
}

#[test]
fn a_unit_frozen_through_its_slice_thaws_with_the_slice() {
    let mut facts = healthy();
    let unit = service(&mut facts);
    unit.freezer_state = Some("frozen-by-parent".into());
    unit.control_group = Some("/system.slice/ssh.service".into());
    let verdict = verdict(facts);
    assert_eq!(verdict.findings[0].id, "SSH-SVC-012");
    assert_eq!(
        verdict.findings[0].remediation.guest[0],
        "systemctl thaw system.slice"
    );
}

#[test]
fn a_running_freezer_state_is_no_finding() {
    let mut facts = healthy();
    service(&mut facts).freezer_state = Some("running".into());
    assert!(ids(&facts).is_empty());
}

/// A SysV init script's service, systemd not running: linked as `links`.
fn sysv_facts(links: &[&str], enable_tool: Option<&str>) -> Facts {
    let mut facts = healthy();
    facts.systemd = SystemdFacts::default();
    facts.systemd.error = Some("no system bus".into());
    facts.sysv = Some(SysvFacts {
        service: "sshd".into(),
        script: "/etc/init.d/sshd".into(),
        links: links.iter().map(|link| link.to_string()).collect(),
        default_runlevel: Some("3".into()),
        pid_file: None,
        enable_tool: enable_tool.map(String::from),
        makes_dirs: Vec::new(),
        start_blocked_by: None,
    });
    facts
}

/// RHEL 6's chkconfig: `--add` where the script has no links, `on` where it was turned
/// off; only a start link in the runlevel inittab boots into counts.
#[test]
fn sysv_boot_links_are_made_by_this_machines_tool() {
    let fix = |facts: Facts| {
        let verdict = verdict(facts);
        assert_eq!(
            verdict.findings.iter().map(|f| f.id).collect::<Vec<_>>(),
            ["SSH-SVC-017"]
        );
        verdict.findings[0].remediation.guest[0].clone()
    };
    assert_eq!(
        fix(sysv_facts(&[], Some("chkconfig"))),
        "chkconfig --add sshd"
    );
    assert_eq!(
        fix(sysv_facts(&["/etc/rc3.d/K25sshd"], Some("chkconfig"))),
        "chkconfig sshd on"
    );
    assert_eq!(
        fix(sysv_facts(&["/etc/rc2.d/S55sshd"], Some("update-rc.d"))),
        "update-rc.d sshd defaults",
        "a start link in runlevel 2 does not start it in 3"
    );
    // Neither tool: the link by hand, and no action to apply.
    let verdict = verdict(sysv_facts(&[], None));
    let finding = &verdict.findings[0];
    assert_eq!(
        finding.remediation.guest[0],
        "ln -s ../init.d/sshd /etc/rc3.d/S20sshd"
    );
    assert!(finding.remediation.actions.is_empty());
    assert!(ids(&sysv_facts(&["/etc/rc3.d/S55sshd"], Some("chkconfig"))).is_empty());
}

/// sshd is restarted through the SysV script only where the script's pid file names the
/// sshd that listens: its restart and reload act on that process alone.
#[test]
fn sysv_restarts_only_the_scripts_own_sshd() {
    let restart_advice = |pid_in_file: u32| {
        let mut facts = sysv_facts(&["/etc/rc3.d/S55sshd"], Some("chkconfig"));
        facts.sysv.as_mut().unwrap().pid_file = Some(PidFile {
            path: "/var/run/sshd.pid".into(),
            pid: Some(pid_in_file),
            alive: true,
        });
        facts.prereqs.privsep_dir = Some(FileStat {
            exists: false,
            ..stat("/run/sshd", FileKind::Directory, 0o755, 0)
        });
        let verdict = verdict(facts);
        let missing = verdict
            .findings
            .iter()
            .find(|finding| finding.id == "SSH-PRV-001")
            .expect("SSH-PRV-001");
        missing.remediation.guest[1].clone()
    };
    assert_eq!(
        restart_advice(829),
        "/etc/init.d/sshd restart   # when sshd is not running"
    );
    assert!(
        !restart_advice(4242).contains("/etc/init.d"),
        "{}",
        restart_advice(4242)
    );
}

/// Debian's ssh.service skips its start while /etc/ssh/sshd_not_to_be_run exists: the
/// verdict names the condition's line, and the fix removes the file before the start
/// (`systemctl start` alone succeeds and starts nothing).
#[test]
fn a_start_skipped_by_its_condition_names_the_file() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    service(&mut facts).start_blocked_by = vec![Located {
        value: "/etc/ssh/sshd_not_to_be_run".into(),
        file: "/lib/systemd/system/ssh.service".into(),
        line: 5,
    }];
    let verdict = verdict(facts);
    assert_eq!(
        verdict.findings.iter().map(|f| f.id).collect::<Vec<_>>(),
        ["SSH-SVC-018"]
    );
    let finding = &verdict.findings[0];
    assert_eq!(
        finding.title,
        "ssh.service starts nothing while /etc/ssh/sshd_not_to_be_run exists: no sshd runs"
    );
    assert!(finding.explanation.contains(
        "ConditionPathExists=!/etc/ssh/sshd_not_to_be_run, /lib/systemd/system/ssh.service:5"
    ));
    assert_eq!(
        finding.remediation.guest[0],
        "rm -f /etc/ssh/sshd_not_to_be_run && systemctl start ssh.service"
    );
}
