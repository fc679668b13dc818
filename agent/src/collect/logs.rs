//! sshd's recent log lines: the journal first (`journalctl -o json`), the classic syslog
//! files (/var/log/auth.log, secure, messages) when there is no journal or it holds no
//! sshd line. Only the tail of a file is read, and only the newest lines are kept:
//! judging them is `rules::logs`'s job.

use super::command::{find_tool, run, tool_dirs};
use super::ProbeNotes;
use crate::facts::{LogFacts, LogLine};
use regex_lite::Regex;
use serde_json::Value;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};

/// Lines kept in the facts: enough to see a pattern, small enough for the verdict.
const KEEP_LINES: usize = 500;
/// Both sshd and, since OpenSSH 9.8, the per-connection sshd-session; `+` between terms
/// makes journalctl OR them (matches on different fields are otherwise ANDed).
const JOURNAL_ARGS: &[&str] = &[
    "--no-pager",
    "-o",
    "json",
    "--since=-7d",
    "-n",
    "2000",
    "_COMM=sshd",
    "+",
    "_COMM=sshd-session",
    "+",
    "SYSLOG_IDENTIFIER=sshd",
    "+",
    "SYSLOG_IDENTIFIER=sshd-session",
];
/// Where journald keeps its files: volatile, then persistent.
const JOURNAL_DIRS: &[&str] = &["/run/log/journal", "/var/log/journal"];
/// Where sshd's lines land when rsyslog writes files: Debian/Ubuntu, RHEL, SUSE.
const SYSLOG_FILES: &[&str] = &["auth.log", "secure", "messages"];
/// Bytes read from the end of a file: a few thousand lines.
const TAIL_BYTES: u64 = 2 << 20;
/// Fewer sshd lines than this in the current file: it was probably just rotated, so the
/// previous one is read too.
const FEW_LINES: usize = 50;
/// Line numbers are counted in the unread head of a file up to this size; past it a line
/// is placed by its byte offset instead, to keep the probe bounded.
const COUNT_LINES_UP_TO: u64 = 64 << 20;

/// Where the logs are looked for.
#[derive(Debug, Clone)]
pub struct LogSources {
    /// Directories searched for journalctl.
    pub tool_dirs: Vec<PathBuf>,
    pub journal_timeout: Duration,
    /// Where journald keeps its files (one directory per machine id below each).
    pub journal_dirs: Vec<PathBuf>,
    /// The directory holding auth.log, secure or messages.
    pub log_dir: PathBuf,
}

impl LogSources {
    pub fn system() -> LogSources {
        LogSources {
            tool_dirs: tool_dirs(),
            journal_timeout: Duration::from_secs(5),
            journal_dirs: JOURNAL_DIRS.iter().map(PathBuf::from).collect(),
            log_dir: "/var/log".into(),
        }
    }
}

pub fn collect(notes: &mut ProbeNotes) -> LogFacts {
    collect_from(&LogSources::system(), notes)
}

/// sshd's newest lines from the journal, else from the syslog files.
pub fn collect_from(sources: &LogSources, notes: &mut ProbeNotes) -> LogFacts {
    let mut facts = LogFacts {
        read_at: std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|since| i64::try_from(since.as_secs()).ok()),
        ..LogFacts::default()
    };
    let journal = read_journal(sources, notes);
    if journal.is_empty() {
        (facts.sources, facts.lines) = read_syslog_files(&sources.log_dir, notes);
    } else {
        notes.note(format!(
            "read {} sshd lines of the last 7 days from the journal",
            journal.len()
        ));
        facts.sources.push("journal".into());
        facts.lines = journal;
    }
    facts.lines_found = facts.lines.len();
    let excess = facts.lines.len().saturating_sub(KEEP_LINES);
    facts.lines.drain(..excess);
    mark_own_probes(&mut facts.lines);
    facts
}

/// How far (in lines) from a line naming a probe address its connection's other lines
/// are looked for: one connection's lines come together, and a pid is not reused so soon.
const PROBE_LINE_REACH: usize = 20;

/// Marks the lines of sshdoctor's own live probes: those naming an address of the
/// probes' range, and the nearby lines of the same sshd process (a key refusal such as
/// "bad ownership or modes" names no address, but the same connection's close does).
pub fn mark_own_probes(lines: &mut [LogLine]) {
    let named: Vec<usize> = (0..lines.len())
        .filter(|&index| names_probe_address(&lines[index].message))
        .collect();
    for index in named {
        lines[index].own_probe = true;
        let Some(pid) = lines[index].pid else {
            continue;
        };
        let start = index.saturating_sub(PROBE_LINE_REACH);
        let end = (index + PROBE_LINE_REACH + 1).min(lines.len());
        for line in &mut lines[start..end] {
            if line.pid == Some(pid) {
                line.own_probe = true;
            }
        }
    }
}

fn names_probe_address(message: &str) -> bool {
    message.split([' ', '[', ']', ',', '"']).any(|word| {
        word.trim_end_matches([':', '.'])
            .parse()
            .is_ok_and(crate::facts::is_probe_address)
    })
}

/// The journal's sshd lines, or none with a note saying why.
fn read_journal(sources: &LogSources, notes: &mut ProbeNotes) -> Vec<LogLine> {
    let Some(journalctl) = find_tool(&sources.tool_dirs, "journalctl") else {
        notes.note("journalctl is not installed: reading the syslog files");
        return Vec::new();
    };
    // journalctl -o json prints nothing at all when there are no journal files: look.
    if !sources
        .journal_dirs
        .iter()
        .any(|dir| holds_journal_files(dir))
    {
        notes.note(
            "there is no journal (journald not running, or Storage=none): reading the syslog files",
        );
        return Vec::new();
    }
    let output = match run(&journalctl, JOURNAL_ARGS, sources.journal_timeout) {
        Ok(output) if output.success() => output,
        Ok(output) => {
            notes.partial(format!("journalctl failed: {}", output.error_line()));
            return Vec::new();
        }
        Err(why) => {
            notes.partial(why);
            return Vec::new();
        }
    };
    // journalctl's hint when the caller may read only its own user's journal.
    if output
        .stderr
        .contains("not seeing messages from other users and the system")
    {
        notes.partial("not root: the journal shows only this user's lines, not sshd's");
    }
    let lines = parse_journal_json(&output.stdout);
    if lines.is_empty() {
        notes.note("the journal holds no sshd line of the last 7 days: reading the syslog files");
    }
    lines
}

/// A journal file in `dir/MACHINE-ID/`: active (`.journal`) or left over (`.journal~`).
fn holds_journal_files(dir: &Path) -> bool {
    let Ok(machines) = std::fs::read_dir(dir) else {
        return false;
    };
    machines
        .filter_map(|machine| std::fs::read_dir(machine.ok()?.path()).ok())
        .flatten()
        .filter_map(|file| file.ok()?.file_name().into_string().ok())
        .any(|name| name.ends_with(".journal") || name.ends_with(".journal~"))
}

/// `journalctl -o json` output: one JSON object per line.
pub fn parse_journal_json(output: &str) -> Vec<LogLine> {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|entry| journal_line(&entry))
        .collect()
}

fn journal_line(entry: &Value) -> Option<LogLine> {
    let message = field_text(entry.get("MESSAGE")?)?;
    let time = entry
        .get("__REALTIME_TIMESTAMP")
        .and_then(Value::as_str)
        .and_then(|micros| micros.parse::<u64>().ok())
        .map(|micros| {
            let when = UNIX_EPOCH + Duration::from_micros(micros);
            humantime::format_rfc3339_seconds(when).to_string()
        });
    let pid = entry
        .get("_PID")
        .or_else(|| entry.get("SYSLOG_PID"))
        .and_then(field_text)
        .and_then(|pid| pid.parse().ok());
    Some(LogLine {
        time,
        pid,
        message: message.trim_end().to_string(),
        source: "journal".into(),
        own_probe: false,
    })
}

/// A journal field as text: a string; an array of bytes when the value is not valid
/// UTF-8; an array of values when the field was set more than once (the first is
/// taken); null when it was too large to print.
fn field_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Array(items) if items.iter().all(Value::is_u64) => {
            let bytes: Vec<u8> = items
                .iter()
                .filter_map(|byte| byte.as_u64().and_then(|byte| u8::try_from(byte).ok()))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        Value::Array(items) => items.first().and_then(field_text),
        _ => None,
    }
}

/// The tail of the first syslog file that exists (and of its rotated predecessor when it
/// holds few sshd lines): the files read and their sshd lines, oldest first.
fn read_syslog_files(log_dir: &Path, notes: &mut ProbeNotes) -> (Vec<String>, Vec<LogLine>) {
    let Some(current) = SYSLOG_FILES
        .iter()
        .map(|name| log_dir.join(name))
        .find(|path| path.exists())
    else {
        notes.unavailable(format!(
            "no sshd log: no journal, and none of {} exists in {}",
            SYSLOG_FILES.join(", "),
            log_dir.display()
        ));
        return (Vec::new(), Vec::new());
    };
    let mut lines = match read_sshd_lines(&current) {
        Ok(lines) => lines,
        Err(err) => {
            notes.unavailable(cannot_read(&current, &err));
            return (Vec::new(), Vec::new());
        }
    };
    let mut read = vec![current.display().to_string()];
    if lines.len() < FEW_LINES {
        if let Some(previous) = rotated(&current) {
            match read_sshd_lines(&previous) {
                Ok(mut older) => {
                    older.append(&mut lines);
                    lines = older;
                    read.insert(0, previous.display().to_string());
                }
                Err(err) => notes.partial(cannot_read(&previous, &err)),
            }
        }
    }
    notes.note(format!(
        "read {} sshd lines from the last {} MiB of {}",
        lines.len(),
        TAIL_BYTES >> 20,
        read.join(" and ")
    ));
    (read, lines)
}

fn cannot_read(path: &Path, err: &io::Error) -> String {
    // auth.log and secure are readable by root (and adm on Debian) only.
    let hint = match err.kind() {
        io::ErrorKind::PermissionDenied => " (not root)",
        _ => "",
    };
    format!("cannot read {}: {err}{hint}", path.display())
}

/// The file logrotate made of `path` last time: `NAME.1` (Debian, SUSE), else the newest
/// uncompressed `NAME-YYYYMMDD` (RHEL's dateext).
fn rotated(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let numbered = path.with_file_name(format!("{name}.1"));
    if numbered.is_file() {
        return Some(numbered);
    }
    let dated_prefix = format!("{name}-");
    std::fs::read_dir(path.parent()?)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|file| {
            file.strip_prefix(&dated_prefix).is_some_and(|date| {
                date.len() == 8 && date.bytes().all(|byte| byte.is_ascii_digit())
            })
        })
        .max()
        .map(|file| path.with_file_name(file))
}

/// The sshd lines in the last `TAIL_BYTES` of a syslog file.
fn read_sshd_lines(path: &Path) -> io::Result<Vec<LogLine>> {
    let mut file = File::open(path)?;
    let start = file.metadata()?.len().saturating_sub(TAIL_BYTES);
    let lines_before = if start > 0 {
        count_lines(&mut file, start)?
    } else {
        Some(0)
    };
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut tail)?;
    // Reading from the middle of a file starts inside a line: drop up to its end. The
    // dropped line is number lines_before + 1.
    let (skipped, first_number) = match (start, tail.iter().position(|&byte| byte == b'\n')) {
        (0, _) => (0, Some(1)),
        (_, Some(newline)) => (newline + 1, lines_before.map(|count| count + 2)),
        (_, None) => return Ok(Vec::new()),
    };
    let file_name = path.display().to_string();
    let mut offset = start + skipped as u64;
    let mut lines = Vec::new();
    for (index, raw) in tail[skipped..].split(|&byte| byte == b'\n').enumerate() {
        let text = String::from_utf8_lossy(raw);
        if let Some(line) = parse_syslog_line(text.trim_end_matches('\r')) {
            let source = match first_number {
                Some(first) => format!("{file_name}:{}", first + index as u64),
                None => format!("{file_name}, byte {offset}"),
            };
            lines.push(LogLine { source, ..line });
        }
        offset += raw.len() as u64 + 1;
    }
    Ok(lines)
}

/// Newlines in the first `length` bytes, or None when that is more than worth counting.
fn count_lines(file: &mut File, length: u64) -> io::Result<Option<u64>> {
    if length > COUNT_LINES_UP_TO {
        return Ok(None);
    }
    let mut head = file.take(length);
    let mut buffer = vec![0u8; 64 << 10];
    let mut count = 0u64;
    loop {
        let read = head.read(&mut buffer)?;
        if read == 0 {
            return Ok(Some(count));
        }
        count += buffer[..read].iter().filter(|&&byte| byte == b'\n').count() as u64;
    }
}

/// An sshd line in either syslog form, "Nov 24 07:00:00 host sshd[123]: msg" or
/// "2026-11-24T07:00:00.123+00:00 host sshd-session[123]: msg"; None for other programs.
/// The source is left for the caller to fill.
pub fn parse_syslog_line(line: &str) -> Option<LogLine> {
    static SSHD_LINE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^(?P<time>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}",
            r"|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2}))",
            r" \S+ sshd(?:-session)?\[(?P<pid>[0-9]+)\]: (?P<message>.*)$",
        ))
        .unwrap()
    });
    let found = SSHD_LINE.captures(line)?;
    Some(LogLine {
        time: Some(found["time"].to_string()),
        pid: found["pid"].parse().ok(),
        message: found["message"].trim_end().to_string(),
        source: String::new(),
        own_probe: false,
    })
}

#[cfg(test)]
mod tests {
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
        ];
        mark_own_probes(&mut lines);
        let marked: Vec<bool> = lines.iter().map(|line| line.own_probe).collect();
        assert_eq!(marked, [false, true, true, true, false, false]);
    }

    #[test]
    fn the_journal_is_asked_for_sshd_and_sshd_session_lines() {
        let machine = Machine::new().with_journal_files();
        let expected_args = JOURNAL_ARGS.join(" ");
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/logs/journal-sshd.json"
        );
        fake_tool(
            &machine.path("bin"),
            "journalctl",
            &format!(
                "[ \"$*\" = '{expected_args}' ] || {{ echo \"unexpected: $*\" >&2; exit 1; }}; cat {fixture}"
            ),
        );
        machine.write_log("auth.log", &[SSHD_LINE.to_string()]);
        let (facts, notes) = machine.collect();
        assert_eq!(notes.outcome, None, "{:?}", notes.notes);
        assert_eq!(facts.sources, ["journal"], "the files are not needed");
        assert_eq!((facts.lines.len(), facts.lines_found), (4, 4));
        assert!(facts.lines.iter().all(|line| line.source == "journal"));
        assert!(said(
            &notes,
            "read 4 sshd lines of the last 7 days from the journal"
        ));
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
        for other in [
            "Nov 24 07:00:00 vm1 sshd: no pid",
            "Nov 24 07:00:00 vm1 sshdx[1]: close",
            "Nov 24 07:00:00 vm1 CRON[1]: sshd[2]: nested",
            "garbage \u{fffd}\u{fffd}",
        ] {
            assert!(parse_syslog_line(other).is_none(), "{other}");
        }
    }
}
