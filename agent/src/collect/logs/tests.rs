//! The log collector on a scratch machine: fake journalctl, real files.

use super::*;
use crate::collect::command::fake_tool;
use crate::facts::ProbeOutcome;
use std::fs;

const SSHD_LINE: &str =
    "Nov 24 07:00:00 vm1 sshd[42]: Invalid user admin from 198.51.100.23 port 40112";

/// A scratch machine: `bin/` for tools, `journal/` (empty) for journald, `log/`.
struct Machine {
    root: tempfile::TempDir,
}

impl Machine {
    fn new() -> Machine {
        let root = tempfile::tempdir().unwrap();
        for dir in ["bin", "journal", "log"] {
            fs::create_dir(root.path().join(dir)).unwrap();
        }
        Machine { root }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    fn sources(&self) -> LogSources {
        LogSources {
            tool_dirs: vec![self.path("bin")],
            journal_timeout: Duration::from_millis(500),
            journal_dirs: vec![self.path("journal")],
            log_dir: self.path("log"),
        }
    }

    fn with_journal_files(self) -> Machine {
        let machine_dir = self.path("journal/0d4f2e6a1b3c4d5e6f708192a3b4c5d6");
        fs::create_dir(&machine_dir).unwrap();
        fs::write(machine_dir.join("system.journal"), "").unwrap();
        self
    }

    fn write_log(&self, name: &str, lines: &[String]) {
        fs::write(self.path("log").join(name), lines.join("\n") + "\n").unwrap();
    }

    fn collect(&self) -> (LogFacts, ProbeNotes) {
        let mut notes = ProbeNotes::default();
        let facts = collect_from(&self.sources(), &mut notes);
        (facts, notes)
    }
}

fn sshd_lines(count: usize, pid: u32) -> Vec<String> {
    (0..count)
        .map(|index| {
            format!(
                "Nov 24 07:{:02}:{:02} vm1 sshd[{pid}]: Invalid user u{index} from 198.51.100.23 port 40112",
                index / 60 % 60,
                index % 60
            )
        })
        .collect()
}

fn said(notes: &ProbeNotes, text: &str) -> bool {
    notes.notes.iter().any(|note| note.contains(text))
}

/// Lines sshd 9.2 logged for a key query of the live probe (the refusal names no
/// address, the close does), between two lines of a real client's connection.
#[test]
fn the_probes_own_lines_are_marked_by_address_and_by_process() {
    let line = |pid: u32, message: &str| LogLine {
        time: None,
        pid: Some(pid),
        message: message.into(),
        source: "journal".into(),
        own_probe: false,
    };
    let mut lines = vec![
        line(
            900,
            "Connection from 203.0.113.5 port 50000 on 10.0.0.4 port 22 rdomain \"\"",
        ),
        line(
            901,
            "Authentication refused: bad ownership or modes for directory /home/alice/.ssh",
        ),
        line(
            901,
            "Connection closed by authenticating user alice 127.115.19.78 port 33947 [preauth]",
        ),
        line(
            902,
            "User alice from 127.115.3.4 not allowed because not listed in AllowUsers",
        ),
        line(
            900,
            "Authentication refused: bad ownership or modes for directory /home/alice/.ssh",
        ),
        line(903, "Connection closed by 127.0.0.1 port 41000 [preauth]"),
        // A from= refusal names the address inside parentheses, and its connection's
        // close may not be in the log yet.
        line(
            904,
            "Authentication tried for alice with correct key but not from a permitted host (host=127.115.175.64, ip=127.115.175.64).",
        ),
    ];
    mark_own_probes(&mut lines);
    let marked: Vec<bool> = lines.iter().map(|line| line.own_probe).collect();
    assert_eq!(marked, [false, true, true, true, false, false, true]);
}

#[test]
fn the_journal_is_asked_for_sshd_and_sshd_session_lines() {
    let machine = Machine::new().with_journal_files();
    let expected_args = journal_args(true).join(" ");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/logs/journal-sshd.json"
    );
    fake_tool(
        &machine.path("bin"),
        "journalctl",
        &format!(
            "[ \"$*\" = '{expected_args}' ] || {{ echo \"unexpected: $*\" >&2; exit 1; }}; tac {fixture}"
        ),
    );
    machine.write_log("auth.log", &[SSHD_LINE.to_string()]);
    let (facts, notes) = machine.collect();
    assert_eq!(notes.outcome, None, "{:?}", notes.notes);
    assert_eq!(facts.sources, ["journal"], "the files are not needed");
    assert_eq!((facts.lines.len(), facts.lines_found), (4, 4));
    // journalctl --reverse answers newest first; the facts hold them oldest first.
    let times: Vec<_> = facts.lines.iter().map(|line| line.time.clone()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    assert_ne!(times.first(), times.last());
    assert!(facts.lines.iter().all(|line| line.source == "journal"));
    assert!(said(
        &notes,
        "read 4 sshd lines of the last 7 days from the journal"
    ));
}

#[test]
fn a_journalctl_without_output_fields_is_asked_for_whole_entries() {
    let machine = Machine::new().with_journal_files();
    let whole_entries = journal_args(false).join(" ");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/logs/journal-sshd.json"
    );
    // What systemd 219's journalctl answers to an option it does not know.
    fake_tool(
        &machine.path("bin"),
        "journalctl",
        &format!(
            "case \"$*\" in *--output-fields=*) echo \"journalctl: unrecognized option '--output-fields=MESSAGE'\" >&2; exit 1;; esac; \
             [ \"$*\" = '{whole_entries}' ] || {{ echo \"unexpected: $*\" >&2; exit 1; }}; tac {fixture}"
        ),
    );
    let (facts, notes) = machine.collect();
    assert_eq!(notes.outcome, None, "{:?}", notes.notes);
    assert_eq!(facts.sources, ["journal"]);
    assert_eq!(facts.lines.len(), 4);
}

#[test]
fn without_a_journal_or_journalctl_the_syslog_file_is_read() {
    let machine = Machine::new();
    fake_tool(
        &machine.path("bin"),
        "journalctl",
        "echo 'must not run' >&2; exit 1",
    );
    machine.write_log("secure", &[SSHD_LINE.to_string()]);
    let (facts, notes) = machine.collect();
    assert_eq!(notes.outcome, None, "{:?}", notes.notes);
    assert!(said(&notes, "there is no journal"));
    let secure = machine.path("log/secure").display().to_string();
    assert_eq!(facts.sources, std::slice::from_ref(&secure));
    assert_eq!(facts.lines[0].source, format!("{secure}:1"));

    fs::remove_file(machine.path("bin/journalctl")).unwrap();
    let (facts, notes) = machine.collect();
    assert!(said(&notes, "journalctl is not installed"));
    assert_eq!(facts.lines.len(), 1);
}

#[test]
fn a_failing_journalctl_is_partial_and_the_files_still_count() {
    let machine = Machine::new().with_journal_files();
    fake_tool(
        &machine.path("bin"),
        "journalctl",
        "echo 'Failed to get journal fields: Bad message' >&2; exit 1",
    );
    machine.write_log("auth.log", &[SSHD_LINE.to_string()]);
    let (facts, notes) = machine.collect();
    assert_eq!(notes.outcome, Some(ProbeOutcome::Partial));
    assert!(said(
        &notes,
        "journalctl failed: Failed to get journal fields: Bad message"
    ));
    assert_eq!(facts.lines.len(), 1);
}

#[test]
fn nothing_to_read_is_unavailable() {
    let machine = Machine::new();
    let (facts, notes) = machine.collect();
    assert_eq!(notes.outcome, Some(ProbeOutcome::Unavailable));
    assert!(said(&notes, "none of auth.log, secure, messages exists"));
    assert!(facts.sources.is_empty() && facts.lines.is_empty());

    fs::create_dir(machine.path("log/auth.log")).unwrap();
    let (_, notes) = machine.collect();
    assert_eq!(notes.outcome, Some(ProbeOutcome::Unavailable));
    assert!(said(&notes, "cannot read"), "{:?}", notes.notes);
}

#[test]
fn only_the_tail_of_a_long_file_is_read_with_true_line_numbers() {
    let machine = Machine::new();
    // 3 MiB of another program's lines, then 600 sshd lines: the tail holds them all.
    let filler =
        "Nov 24 06:00:00 vm1 CRON[7]: pam_unix(cron:session): session closed for user root";
    let filler_lines = (3 << 20) / (filler.len() + 1);
    let mut lines = vec![filler.to_string(); filler_lines];
    lines.extend(sshd_lines(600, 42));
    machine.write_log("auth.log", &lines);
    let (facts, _) = machine.collect();
    assert_eq!(facts.lines_found, 600);
    assert_eq!(facts.lines.len(), KEEP_LINES, "the newest are kept");
    let newest = facts.lines.last().unwrap();
    assert_eq!(
        newest.message,
        "Invalid user u599 from 198.51.100.23 port 40112"
    );
    assert_eq!(
        newest.source,
        format!("{}:{}", machine.path("log/auth.log").display(), lines.len())
    );
    assert_eq!(
        (newest.pid, newest.time.as_deref()),
        (Some(42), Some("Nov 24 07:09:59"))
    );
}

#[test]
fn past_the_counting_limit_lines_are_placed_by_byte_offset() {
    let machine = Machine::new();
    let path = machine.path("log/auth.log");
    // A sparse head that leaves more than the counting limit unread, then one line.
    let file = File::create(&path).unwrap();
    let head = COUNT_LINES_UP_TO + TAIL_BYTES + 1;
    file.set_len(head).unwrap();
    drop(file);
    let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut file, format!("\n{SSHD_LINE}\n").as_bytes()).unwrap();
    let (facts, _) = machine.collect();
    assert_eq!(facts.lines.len(), 1);
    assert_eq!(
        facts.lines[0].source,
        format!("{}, byte {}", path.display(), head + 1)
    );
}

#[test]
fn a_nearly_empty_file_is_read_after_its_rotated_predecessor() {
    let machine = Machine::new();
    machine.write_log("auth.log.1", &sshd_lines(2, 1));
    machine.write_log("auth.log", &sshd_lines(1, 2));
    let (facts, _) = machine.collect();
    let file = |name: &str| machine.path("log").join(name).display().to_string();
    assert_eq!(facts.sources, [file("auth.log.1"), file("auth.log")]);
    let pids: Vec<Option<u32>> = facts.lines.iter().map(|line| line.pid).collect();
    assert_eq!(pids, [Some(1), Some(1), Some(2)], "oldest first");

    // RHEL's logrotate names the old file by date and compresses older ones.
    let machine = Machine::new();
    for name in ["secure-20261103.gz", "secure-20261110", "secure-20261117"] {
        machine.write_log(name, &sshd_lines(1, 3));
    }
    machine.write_log("secure", &[]);
    let (facts, _) = machine.collect();
    assert_eq!(
        facts.sources[0],
        machine.path("log/secure-20261117").display().to_string()
    );
}

#[test]
fn syslog_lines_of_sshd_in_both_stamp_forms() {
    let classic =
        parse_syslog_line("Nov  4 07:03:30 vm1 sshd[2281]: Server listening on :: port 22.")
            .unwrap();
    assert_eq!(classic.time.as_deref(), Some("Nov  4 07:03:30"));
    assert_eq!(classic.message, "Server listening on :: port 22.");
    let precise = parse_syslog_line(
        "2026-11-24T07:00:00.123456+01:00 vm1 sshd-session[7]: Invalid user x from 192.0.2.9 port 1",
    )
    .unwrap();
    assert_eq!(
        precise.time.as_deref(),
        Some("2026-11-24T07:00:00.123456+01:00")
    );
    assert_eq!(precise.pid, Some(7));
    let auth = parse_syslog_line(
        "2026-11-24T07:00:01+00:00 vm1 sshd-auth[8]: Authentication refused: bad ownership or modes for directory /home/x",
    )
    .unwrap();
    assert_eq!(auth.pid, Some(8));
    for other in [
        "Nov 24 07:00:00 vm1 sshd: no pid",
        "Nov 24 07:00:00 vm1 sshdx[1]: close",
        "Nov 24 07:00:00 vm1 CRON[1]: sshd[2]: nested",
        "garbage \u{fffd}\u{fffd}",
    ] {
        assert!(parse_syslog_line(other).is_none(), "{other}");
    }
}
