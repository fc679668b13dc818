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
/// sshd and, since OpenSSH 9.8, the per-connection sshd-session and (10.0) sshd-auth;
/// `+` between terms makes journalctl OR them (matches on different fields are otherwise
/// ANDed).
const JOURNAL_MATCHES: &[&str] = &[
    "_COMM=sshd",
    "+",
    "_COMM=sshd-session",
    "+",
    "_COMM=sshd-auth",
    "+",
    "SYSLOG_IDENTIFIER=sshd",
    "+",
    "SYSLOG_IDENTIFIER=sshd-session",
    "+",
    "SYSLOG_IDENTIFIER=sshd-auth",
];
/// Only the fields `journal_line` reads (the timestamp always comes): a whole entry is
/// about three times as much JSON, which on a slow VM costs journalctl seconds for a
/// busy week. systemd 236 and later know the option.
const JOURNAL_FIELDS: &str = "--output-fields=MESSAGE,_PID,SYSLOG_PID";
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
            // journalctl needs seconds for a week of a busy journal on a slow VM (over
            // 5 s on one emulated CPU); the probe runs on its own thread, well within
            // the deadline.
            journal_timeout: Duration::from_secs(10),
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
    // "(host=127.115.1.2, ip=127.115.1.2)." is how a from= refusal names it.
    message
        .split([' ', '[', ']', ',', '"', '(', ')', '='])
        .any(|word| {
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
    let ask = |only_needed_fields: bool| {
        let args = journal_args(only_needed_fields);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&journalctl, &args, sources.journal_timeout)
    };
    let mut output = ask(true);
    if output
        .as_ref()
        .is_ok_and(|output| !output.success() && output.stderr.contains("output-fields"))
    {
        // An older journalctl (RHEL 7's systemd 219) refuses the option: whole entries.
        output = ask(false);
    }
    let output = match output {
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
    let mut lines = parse_journal_json(&output.stdout);
    lines.reverse();
    if lines.is_empty() {
        notes.note("the journal holds no sshd line of the last 7 days: reading the syslog files");
    }
    lines
}

/// journalctl's arguments: the newest sshd lines of the last week as JSON, newest first,
/// with only the fields read when `only_needed_fields`. Without --reverse, `--since` with
/// `-n` gives the oldest lines after that time: on a VM whose week holds more sshd lines
/// than are kept, the refusals of the last hour would be left out.
fn journal_args(only_needed_fields: bool) -> Vec<String> {
    let mut args: Vec<String> = ["--no-pager", "-o", "json", "--reverse", "--since=-7d", "-n"]
        .map(String::from)
        .into();
    args.push(KEEP_LINES.to_string());
    if only_needed_fields {
        args.push(JOURNAL_FIELDS.into());
    }
    args.extend(JOURNAL_MATCHES.iter().map(|arg| arg.to_string()));
    args
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
/// "2026-11-24T07:00:00.123+00:00 host sshd-session[123]: msg" (or sshd-auth); None
/// for other programs.
/// The source is left for the caller to fill.
pub fn parse_syslog_line(line: &str) -> Option<LogLine> {
    static SSHD_LINE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^(?P<time>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}",
            r"|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2}))",
            r" \S+ sshd(?:-session|-auth)?\[(?P<pid>[0-9]+)\]: (?P<message>.*)$",
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
mod tests;
