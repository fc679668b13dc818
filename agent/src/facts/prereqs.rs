//! What sshd needs before it accepts anyone: host keys, privilege separation,
//! /etc/ssh, its helper programs.

use super::FileStat;
use serde::{Deserialize, Serialize};

/// What sshd needs before it accepts anyone.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct PrereqFacts {
    pub host_keys: Vec<HostKey>,
    /// The privilege-separation (chroot) directory, when known.
    pub privsep_dir: Option<FileStat>,
    /// How the directory was determined.
    pub privsep_dir_source: String,
    pub privsep_user: String,
    pub privsep_user_exists: Option<bool>,
    /// /etc/ssh and everything below it.
    pub etc_ssh: Vec<FileStat>,
    /// The programs OpenSSH 9.8+ sshd runs for each connection (sshd-session, and
    /// sshd-auth from 10.0): it refuses to start, and ends every connection, without them.
    #[serde(default)]
    pub helpers: Vec<SshdHelper>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SshdHelper {
    /// "sshd-session" or "sshd-auth".
    pub name: String,
    pub stat: FileStat,
    /// How its path was found: "sshd -T" (SshdSessionPath, SshdAuthPath), or "compiled
    /// into /usr/sbin/sshd".
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostKey {
    pub path: String,
    /// Where the path came from: "sshd -T", a HostKey line "file:line", or None for the
    /// built-in defaults.
    pub source: Option<String>,
    pub private: FileStat,
    pub public_exists: bool,
    /// The key loaded as sshd loads it; None when it could not be tried.
    #[serde(default)]
    pub load: Option<HostKeyLoad>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostKeyLoad {
    pub loaded: bool,
    /// The key's type as OpenSSH names it (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256).
    pub key_type: Option<String>,
    /// What OpenSSH's loader said when it failed ("invalid format").
    pub error: Option<String>,
}
