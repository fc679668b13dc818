//! The log rules (SSH-LOG) judged on facts built by hand: which of sshd's logged
//! refusals and failures still describe the machine, and which are history.

use crate::support::facts::*;
use sshdoctor::facts::*;
use sshdoctor::rules::{evaluate, Severity};

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
