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
