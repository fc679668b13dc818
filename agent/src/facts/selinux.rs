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
