//! The facts sshdoctor gathers about a machine: plain, serializable data.
//!
//! Collectors (in `collect`) fill these structs and only read the system; rules (in
//! `rules`) read them and never touch the system. Keeping the schema here, in one place,
//! is what lets a rule be tested from a fixture and a new check be "a field plus a rule".
//!
//! One module per family of checks, named like the family's collector, rule module and
//! catalogue file (`rules/<family>.toml`); `probes` records how each collector went. The
//! types shared by several families (a located value, a file's owner and mode) live here.

use serde::{Deserialize, Serialize};

mod auth;
mod cloud;
mod config;
mod firewall;
mod health;
mod host;
mod live;
mod logs;
mod network;
mod nic;
mod pam;
mod prereqs;
mod probes;
mod selinux;
mod service;
mod session;

pub use auth::*;
pub use cloud::*;
pub use config::*;
pub use firewall::*;
pub use health::*;
pub use host::*;
pub use live::*;
pub use logs::*;
pub use network::*;
pub use nic::*;
pub use pam::*;
pub use prereqs::*;
pub use probes::*;
pub use selinux::*;
pub use service::*;
pub use session::*;

/// Everything known about the machine after one diagnosis.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Facts {
    pub host: HostFacts,
    /// The OpenSSH server examined, resolved once.
    #[serde(default)]
    pub sshd: SshdFacts,
    pub systemd: SystemdFacts,
    pub processes: ProcessFacts,
    pub sockets: SocketFacts,
    pub interfaces: InterfaceFacts,
    pub config: SshdConfigFacts,
    pub cloud: CloudFacts,
    pub health: HealthFacts,
    pub prereqs: PrereqFacts,
    pub firewall: FirewallFacts,
    pub selinux: SelinuxFacts,
    pub logs: LogFacts,
    pub auth: AuthFacts,
    /// What the running sshd answered when asked, as a client meets it.
    #[serde(default)]
    pub live: LiveFacts,
    /// PAM's stacks for sshd: what a login passes through after the key is accepted.
    #[serde(default)]
    pub pam: PamFacts,
}

/// A value with the place it came from, for evidence ("file:line").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Located<T> {
    pub value: T,
    pub file: String,
    pub line: u32,
}

impl<T> Located<T> {
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    File,
    Directory,
    Other,
    /// Does not exist, or could not be examined (see `error`).
    Missing,
}

/// A path's owner and mode as stat(2) reports them (following symlinks).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileStat {
    pub path: String,
    /// False only when the path does not exist; an unreadable path exists.
    pub exists: bool,
    pub kind: FileKind,
    /// Permission bits (including setuid/setgid/sticky).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub group: Option<String>,
    pub error: Option<String>,
}

impl FileStat {
    /// A path with nothing known of it: absent, or not looked at yet.
    pub fn missing(path: impl Into<String>) -> FileStat {
        FileStat {
            path: path.into(),
            exists: false,
            kind: FileKind::Missing,
            mode: None,
            uid: None,
            gid: None,
            group: None,
            error: None,
        }
    }

    /// The file as evidence: "/home/alice/.ssh: directory, mode 0777, owner uid 1000,
    /// group alice", or why it could not be looked at.
    pub fn describe(&self) -> String {
        let (Some(mode), Some(uid)) = (self.mode, self.uid) else {
            return match self.kind {
                FileKind::Missing => {
                    format!(
                        "{}: {}",
                        self.path,
                        self.error.as_deref().unwrap_or("missing")
                    )
                }
                _ => self.path.clone(),
            };
        };
        let kind = match self.kind {
            FileKind::Directory => "directory",
            FileKind::File => "file",
            _ => "not a file or directory",
        };
        let group = match (&self.group, self.gid) {
            (Some(name), _) => name.clone(),
            (None, Some(gid)) => gid.to_string(),
            (None, None) => "?".into(),
        };
        format!(
            "{}: {kind}, mode {mode:04o}, owner uid {uid}, group {group}",
            self.path
        )
    }

    /// Why a program at this path cannot be run, if it cannot: what sshd finds when it
    /// executes a shell, a forced command or its own helpers.
    pub fn program_problem(&self) -> Option<&'static str> {
        match self.kind {
            FileKind::Missing if !self.exists => Some("does not exist"),
            FileKind::Missing => Some("cannot be examined"),
            FileKind::File if self.mode.is_some_and(|mode| mode & 0o111 == 0) => {
                Some("is not executable")
            }
            FileKind::File => None,
            _ => Some("is not a file"),
        }
    }

    /// Writable by group or others: what sshd's StrictModes and privsep checks refuse.
    pub fn group_or_other_writable(&self) -> bool {
        self.mode.is_some_and(|mode| mode & 0o022 != 0)
    }
}
