//! The configuration rules (SSH-CFG) judged on facts built by hand: what `sshd -t` and
//! the parser report about sshd_config, and the fix that points at the line.

use crate::support::facts::*;
use sshdoctor::facts::*;
use sshdoctor::rules::{evaluate, Severity};

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

/// SUSE: an /etc/ssh/sshd_config written by hand hides the vendor file and its Include
/// lines; one that keeps them (a full copy) is a choice and is left alone.
#[test]
fn an_etc_config_without_the_vendor_include_hides_the_vendor_config() {
    let mut facts = healthy();
    facts.config.vendor_config = Some(VendorConfig {
        path: "/usr/etc/ssh/sshd_config".into(),
        used: false,
        includes: vec![
            "/usr/etc/ssh/sshd_config.d/*.conf".into(),
            "/etc/ssh/sshd_config.d/*.conf".into(),
        ],
        main_includes: Vec::new(),
    });
    let findings = sshdoctor::rules::evaluate(&facts);
    let hidden = findings
        .iter()
        .find(|finding| finding.id == "SSH-CFG-006")
        .expect("CFG-006");
    assert_eq!(
        hidden.title,
        "/etc/ssh/sshd_config hides the vendor config /usr/etc/ssh/sshd_config and its Include"
    );
    assert_eq!(hidden.evidence.len(), 2);
    assert!(hidden.remediation.guest[0]
        .starts_with("mv /etc/ssh/sshd_config /etc/ssh/sshd_config.d/50-local.conf && "));
    let vendor = facts.config.vendor_config.as_mut().unwrap();
    vendor.main_includes = vendor.includes.clone();
    let findings = sshdoctor::rules::evaluate(&facts);
    assert!(findings.iter().all(|finding| finding.id != "SSH-CFG-006"));
}
