//! sshd's recent log lines.

use serde::{Deserialize, Serialize};

/// sshd's recent log lines: its own account of refused logins and failed starts.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct LogFacts {
    /// What was read, oldest first: "journal", "/var/log/auth.log.1", "/var/log/auth.log".
    pub sources: Vec<String>,
    /// sshd lines found in those sources; only the newest are kept in `lines`.
    pub lines_found: usize,
    /// The newest sshd lines, oldest first.
    pub lines: Vec<LogLine>,
    /// When the log was read, in seconds since the epoch: how recent a line is.
    #[serde(default)]
    pub read_at: Option<i64>,
    /// The newest change (modification or status change, seconds since the epoch) to the
    /// files that decide a login: sshd's config files, the PAM stack and its rules, the
    /// account databases, the examined users' keys files and the directories above them.
    /// A refusal older than that may have been fixed since.
    #[serde(default)]
    pub login_files_changed_at: Option<i64>,
}

/// One line sshd logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// When: RFC 3339 from the journal and from RFC 3339 syslog stamps; a classic syslog
    /// stamp ("Nov 24 07:00:00": local time, no year) as written.
    pub time: Option<String>,
    pub pid: Option<u32>,
    /// The message after "sshd[PID]: ".
    pub message: String,
    /// "journal", or "FILE:LINE" ("FILE, byte OFFSET" when the file was too long to count).
    pub source: String,
    /// Logged for one of sshdoctor's own live probes (its connection came from the
    /// probes' loopback range): not a client's experience.
    #[serde(default)]
    pub own_probe: bool,
}
