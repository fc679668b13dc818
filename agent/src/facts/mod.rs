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
    /// OpenRC's SSH service, where OpenRC manages services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openrc: Option<OpenRcFacts>,
    /// A SysV init script's SSH service, where neither systemd nor OpenRC booted the
    /// system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysv: Option<SysvFacts>,
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
    /// The probes that had not finished when the diagnosis reached its deadline: their
    /// facts are missing, and nothing the verdict says rests on them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfinished: Vec<String>,
}

/// A value with the place it came from, for evidence ("file:line").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Located<T> {
    pub value: T,
    pub file: String,
    pub line: u32,
}

impl<T> Located<T> {
    /// "file:line"; the place alone for line 0 (sshd's command line, a built-in default).
    pub fn location(&self) -> String {
        match self.line {
            0 => self.file.clone(),
            line => format!("{}:{line}", self.file),
        }
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

/// A mount as /proc/self/mountinfo lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountFacts {
    pub point: String,
    pub fs_type: String,
    /// "server:/export", "//server/share", the FUSE daemon's name; None when not given.
    pub source: Option<String>,
}

impl MountFacts {
    /// A filesystem served by something other than a local disk (a server, a FUSE
    /// daemon, the automounter): when that stops answering, so does every stat under it,
    /// and the kernel waits beyond any signal but SIGKILL.
    pub fn may_hang(&self) -> bool {
        const SERVED: &[&str] = &[
            "nfs",
            "nfs4",
            "cifs",
            "smb3",
            "smbfs",
            "9p",
            "ceph",
            "glusterfs",
            "afs",
            "lustre",
            "gpfs",
            "davfs",
            "ncpfs",
            "autofs",
            "virtiofs",
            "ocfs2",
            "gfs2",
        ];
        SERVED.contains(&self.fs_type.as_str()) || self.fs_type.starts_with("fuse")
    }

    /// "/mnt/home, a nfs4 mount of server:/export".
    pub fn describe(&self) -> String {
        match &self.source {
            Some(source) => format!("{}, a {} mount of {source}", self.point, self.fs_type),
            None => format!("{}, a {} mount", self.point, self.fs_type),
        }
    }
}

/// Something that did not answer within its bound: a path on a hung mount, or an
/// account lookup that waits on a directory service (NSS: LDAP, SSSD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unanswered {
    /// The path asked about, or "getpwnam(alice)" for the account's lookup.
    pub what: String,
    /// The mount the path is on, when it is a path.
    pub mount: Option<MountFacts>,
    /// How long it (or, for a later path on the same mount, the first) was waited for.
    pub waited_ms: u64,
}

impl Unanswered {
    /// "/home/alice did not answer in 2.0 s (/home, a nfs4 mount of server:/export)".
    pub fn describe(&self) -> String {
        let on = self
            .mount
            .as_ref()
            .map(|mount| format!(" ({})", mount.describe()))
            .unwrap_or_default();
        let seconds = self.waited_ms as f64 / 1000.0;
        format!("{} did not answer in {seconds:.1} s{on}", self.what)
    }
}
