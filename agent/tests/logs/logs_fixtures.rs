//! sshd's log lines as distributions write them — Debian 12's auth.log (RFC 3339 stamps),
//! RHEL 9's secure (classic stamps), SUSE's messages, the journal's JSON with a message
//! that is not UTF-8 — read by the collector and judged by the rules: one finding per
//! kind of refusal, with its count, the captured names, and the newest line's time and
//! place. Ordinary sshd lines must raise nothing.

use sshdoctor::collect::logs::{collect_from, parse_journal_json, LogSources};
use sshdoctor::collect::ProbeNotes;
use sshdoctor::facts::{Facts, LogFacts};
use sshdoctor::rules::evaluate;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logs")
}

/// The syslog file in `fixtures/logs/DIR`, read as the collector reads /var/log when
/// there is no journal.
fn read_log_dir(dir: &str) -> LogFacts {
    let sources = LogSources {
        tool_dirs: Vec::new(),
        journal_timeout: Duration::from_secs(1),
        journal_dirs: Vec::new(),
        log_dir: fixtures().join(dir),
    };
    collect_from(&sources, &mut ProbeNotes::default())
}

/// A log finding: its id and title, and the newest line with its place.
#[derive(Debug, PartialEq)]
struct LogFinding {
    id: &'static str,
    title: String,
    newest: String,
    place: String,
}

fn log_findings(logs: LogFacts) -> Vec<LogFinding> {
    let facts = Facts {
        logs,
        ..Facts::default()
    };
    let mut found: Vec<LogFinding> = evaluate(&facts)
        .into_iter()
        .filter(|finding| finding.id.starts_with("SSH-LOG"))
        .map(|finding| LogFinding {
            id: finding.id,
            title: finding.title,
            newest: finding.evidence[0].fact.clone(),
            place: finding.evidence[0].source.clone().unwrap_or_default(),
        })
        .collect();
    found.sort_by_key(|finding| finding.id);
    found
}

fn titles(found: &[LogFinding]) -> Vec<(&'static str, &str)> {
    found
        .iter()
        .map(|finding| (finding.id, finding.title.as_str()))
        .collect()
}

#[test]
fn debian_12_auth_log() {
    let logs = read_log_dir("debian12");
    let file = fixtures().join("debian12/auth.log").display().to_string();
    assert_eq!(logs.sources, std::slice::from_ref(&file));
    assert_eq!(logs.lines_found, 29, "every line but CRON's");
    // The log ends with sshd starting again: its earlier start failures are history.
    let mut before_restart = logs.clone();
    let restart = before_restart
        .lines
        .iter()
        .rposition(|line| line.message.starts_with("Server listening on"))
        .unwrap();
    before_restart.lines.truncate(restart);
    let found = log_findings(logs);
    assert_eq!(
        titles(&found),
        [
            ("SSH-LOG-001", "sshd refused keys: bad ownership or modes for file /home/alice/.ssh/authorized_keys (2 in the log, last 2026-11-24T06:59:40.004211+00:00)"),
            ("SSH-LOG-004", "sshd refused eve: none of user's groups are listed in AllowGroups (1 in the log, last 2026-11-24T07:05:00.009911+00:00)"),
            ("SSH-LOG-005", "sshd refused frank: shell /usr/bin/zsh does not exist (1 in the log, last 2026-11-24T07:05:30.771234+00:00)"),
            ("SSH-LOG-010", "Logins for user names this machine does not have: ubuntu, admin (2 in the log, last 2026-11-24T07:01:10.220145+00:00)"),
            ("SSH-LOG-011", "Too many authentication attempts for bob (1 in the log, last 2026-11-24T07:02:10.340077+00:00)"),
            ("SSH-LOG-012", "The account carol has expired (1 in the log, last 2026-11-24T07:03:00.401010+00:00)"),
            ("SSH-LOG-013", "The password of dave has expired (1 in the log, last 2026-11-24T07:04:00.512300+00:00)"),
            ("SSH-LOG-014", "PAM's account or session stage refused logins (1 in the log, last 2026-11-24T07:03:00.401515+00:00)"),
            ("SSH-LOG-015", "Wrong passwords for bob (2 in the log, last 2026-11-24T07:02:00.660021+00:00)"),
        ]
    );
    assert_eq!(
        found[0].newest,
        "Authentication refused: bad ownership or modes for file /home/alice/.ssh/authorized_keys"
    );
    assert_eq!(
        found[0].place,
        format!("2026-11-24T06:59:40.004211+00:00, {file}:6, pid 1531")
    );
    let startup: Vec<(&str, String)> = log_findings(before_restart)
        .into_iter()
        .filter(|finding| matches!(finding.id, "SSH-LOG-008" | "SSH-LOG-009"))
        .map(|finding| (finding.id, finding.title))
        .collect();
    assert_eq!(
        startup,
        [
            ("SSH-LOG-008", "sshd did not start: privilege separation directory /run/sshd missing (1 in the log, last 2026-11-24T07:07:00.551208+00:00)".to_string()),
            // The newest line ("Cannot bind any address") names no address: the newest that does.
            ("SSH-LOG-009", "sshd could not bind :: port 22: Address already in use (3 in the log, last 2026-11-24T07:06:01.230702+00:00)".to_string()),
        ]
    );
}

#[test]
fn rhel_9_secure() {
    let logs = read_log_dir("rhel9");
    assert_eq!(logs.lines_found, 19, "every line but sudo's");
    let found = log_findings(logs);
    assert_eq!(
        titles(&found),
        [
            ("SSH-LOG-002", "sshd could not load host key /etc/ssh/ssh_host_ed25519_key (2 in the log, last Nov 24 07:02:00)"),
            ("SSH-LOG-003", "sshd exited: no host keys available (1 in the log, last Nov 24 07:02:00)"),
            ("SSH-LOG-004", "sshd refused root: not listed in AllowUsers (1 in the log, last Nov 24 06:58:00)"),
            ("SSH-LOG-006", "sshd refused svc: the account is locked (1 in the log, last Nov 24 06:59:00)"),
            ("SSH-LOG-007", "sshd refused ssh-dss keys: not in PubkeyAcceptedAlgorithms (2 in the log, last Nov 24 06:56:30)"),
            ("SSH-LOG-012", "The account olduser has expired (1 in the log, last Nov 24 07:03:00)"),
            ("SSH-LOG-013", "The password of temp has expired (1 in the log, last Nov 24 07:03:30)"),
            ("SSH-LOG-014", "PAM's account or session stage refused logins (1 in the log, last Nov 24 07:00:00)"),
            ("SSH-LOG-015", "Wrong passwords for azureuser (1 in the log, last Nov 24 06:57:00)"),
            // "exited MaxStartups throttling" closes an episode already counted.
            ("SSH-LOG-016", "sshd dropped connections past MaxStartups (3 in the log, last Nov 24 07:01:01)"),
        ]
    );
    let pam = &found[7];
    assert_eq!(
        pam.newest,
        "fatal: PAM: pam_open_session(): Module is unknown"
    );
    assert!(
        pam.place.ends_with("/rhel9/secure:10, pid 2260"),
        "{}",
        pam.place
    );
}

#[test]
fn journal_json_with_a_message_that_is_not_utf8() {
    let output = std::fs::read_to_string(fixtures().join("journal-sshd.json")).unwrap();
    let lines = parse_journal_json(&output);
    // A null MESSAGE (too large to print) and a cut-off last line are skipped.
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0].message,
        "Invalid user b\u{fffd}a from 198.51.100.30 port 41022"
    );
    assert_eq!(
        (lines[0].time.as_deref(), lines[0].pid),
        (Some("2026-11-24T07:10:00Z"), Some(4242))
    );
    let found = log_findings(LogFacts {
        sources: vec!["journal".into()],
        lines_found: lines.len(),
        lines,
        read_at: None,
        login_files_changed_at: None,
    });
    assert_eq!(
        titles(&found),
        [
            ("SSH-LOG-009", "sshd could not bind 10.0.0.9 port 22: Cannot assign requested address (1 in the log, last 2026-11-24T07:12:05Z)"),
            ("SSH-LOG-010", "Logins for user names this machine does not have: admin, b\u{fffd}a (2 in the log, last 2026-11-24T07:11:30Z)"),
        ]
    );
    assert_eq!(found[1].place, "2026-11-24T07:11:30Z, journal, pid 4250");
}

#[test]
fn ordinary_sshd_lines_raise_nothing() {
    let logs = read_log_dir("suse15");
    assert_eq!(logs.sources.len(), 1);
    assert!(logs.sources[0].ends_with("/suse15/messages"));
    assert_eq!(
        logs.lines_found, 24,
        "every line but systemd's, kernel's and sudo's"
    );
    assert_eq!(log_findings(logs), []);
}

/// What sshd logs past the key check, as real OpenSSH 9.2 and 10 servers wrote it: a key
/// refused by its from= (with the "Refused by key options" that repeats it) and by its
/// other options, no more sessions, a chroot refused, TCP wrappers, a missing
/// sshd-session. Lines that name no user get the user of the same connection.
#[test]
fn session_phase_refusals() {
    let logs = read_log_dir("session-phase");
    assert_eq!(
        titles(&log_findings(logs.clone())),
        [
            ("SSH-LOG-007", "sshd refused ssh-ed25519 keys: not in PubkeyAcceptedAlgorithms (1 in the log, last 2026-12-01T09:07:00.800000+00:00)"),
            ("SSH-LOG-017", "sshd refused alice's key for a client at 192.0.2.2: the key's from= does not allow it (1 in the log, last 2026-12-01T09:00:00.100100+00:00)"),
            ("SSH-LOG-018", "sshd refused keys of bob by their options (1 in the log, last 2026-12-01T09:01:00.200000+00:00)"),
            // erin's session child logs under its own pid: the login just before names her.
            ("SSH-LOG-019", "sshd opened no session after accepting erin, carol: no more sessions (2 in the log, last 2026-12-01T09:06:00.700900+00:00)"),
            ("SSH-LOG-020", "sshd could not confine dave to their ChrootDirectory: bad ownership or modes for chroot directory \"/srv/jail\" (1 in the log, last 2026-12-01T09:03:00.400500+00:00)"),
            ("SSH-LOG-021", "TCP wrappers refused connections from 192.0.2.9 (1 in the log, last 2026-12-01T09:04:00.500000+00:00)"),
            ("SSH-LOG-022", "sshd could not run /usr/lib/openssh/sshd-session (1 in the log, last 2026-12-01T09:05:00.600000+00:00)"),
        ]
    );
    // With nothing else critical, refusals this recent are critical: see
    // logs::rules::recent_refusals_of_a_user_are_critical_unless_explained.
    // carol and dave log in later, from the host TCP wrappers refused, and sshd starts
    // again: those refusals are history.
    let mut later = logs;
    let line = |pid: u32, message: String| sshdoctor::facts::LogLine {
        time: Some("2026-12-01T09:10:00+00:00".into()),
        pid: Some(pid),
        message,
        source: "journal".into(),
        own_probe: false,
    };
    later
        .lines
        .push(line(2055, "Server listening on 0.0.0.0 port 22.".into()));
    for (pid, user, host) in [
        (2060, "carol", "192.0.2.2"),
        (2070, "dave", "192.0.2.9"),
        (2090, "erin", "192.0.2.2"),
        (2110, "frank", "192.0.2.2"),
    ] {
        later.lines.push(line(
            pid,
            format!("Accepted publickey for {user} from {host} port 40000 ssh2"),
        ));
    }
    let ids: Vec<&str> = log_findings(later)
        .iter()
        .map(|finding| finding.id)
        .collect();
    assert_eq!(ids, ["SSH-LOG-017", "SSH-LOG-018"]);
}
