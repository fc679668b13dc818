//! SELinux now and at the next boot, and the ports sshd may bind under it.

use serde::{Deserialize, Serialize};

/// The file that sets SELinux's mode at the next boot, which `SelinuxFacts::config_mode`
/// comes from.
pub const SELINUX_CONFIG: &str = "/etc/selinux/config";

/// SELinux now and at the next boot, and the ports sshd may bind under it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SelinuxFacts {
    /// "enforcing" or "permissive" from selinuxfs; None when SELinux is off in the kernel.
    pub kernel_mode: Option<String>,
    /// `SELINUX=` in /etc/selinux/config: what the next boot loads.
    pub config_mode: Option<String>,
    /// `SELINUXTYPE=`, e.g. "targeted".
    pub config_type: Option<String>,
    /// Whether /etc/selinux/TYPE exists (a missing policy stops an enforcing boot).
    pub policy_installed: Option<bool>,
    pub config_problems: Vec<String>,
    /// TCP ports labeled ssh_port_t: 22 from the base policy plus local labels.
    pub ssh_ports: Vec<PortRange>,
    /// The ports.local file the local labels came from.
    pub ports_source: Option<String>,
    /// SELinux's denials of sshd and its helpers in the audit log, newest first, alike
    /// ones counted together.
    #[serde(default)]
    pub denials: Vec<AvcDenial>,
    /// The audit log the denials were read from, where it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_log: Option<String>,
}

/// One kind of denial, as the kernel logs it: `avc:  denied  { read } for pid=812
/// comm="sshd" name="authorized_keys" ... scontext=...:sshd_t:... tcontext=...:user_tmp_t:...
/// tclass=file permissive=0`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvcDenial {
    /// Seconds since the epoch of the newest such denial.
    pub time: Option<i64>,
    /// The process denied: sshd, sshd-session, sshd-auth, or a helper sshd ran.
    pub comm: String,
    pub permissions: Vec<String>,
    /// The object's name as logged (a file name, not a path), or its path where logged.
    pub name: Option<String>,
    /// The denied process's and the object's SELinux types: sshd_t, user_tmp_t.
    pub source_type: String,
    pub target_type: String,
    /// The object's class: file, dir, tcp_socket, ...
    pub class: String,
    /// Logged as allowed all the same (the domain or the system is permissive).
    pub permissive: bool,
    /// How many such denials were read.
    pub count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}
