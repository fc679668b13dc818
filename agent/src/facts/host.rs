//! Who and what this machine is.

use serde::{Deserialize, Serialize};

/// Who and what this machine is.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct HostFacts {
    pub hostname: Option<String>,
    /// `ID` from /etc/os-release (debian, ubuntu, rhel, azurelinux, ...).
    pub os_id: Option<String>,
    /// `ID_LIKE` from /etc/os-release, split on spaces.
    pub os_id_like: Vec<String>,
    pub os_pretty_name: Option<String>,
    pub os_version_id: Option<String>,
    pub kernel: Option<String>,
    pub euid: u32,
    pub is_root: bool,
    /// Command name of PID 1 (`systemd`, `init`, `bash` in a container, ...).
    pub pid1_comm: Option<String>,
}

impl HostFacts {
    /// RHEL, its rebuilds (Alma, Rocky, Oracle, CentOS) and Fedora.
    pub fn is_rhel_like(&self) -> bool {
        self.os_id
            .iter()
            .chain(&self.os_id_like)
            .any(|id| matches!(id.as_str(), "rhel" | "fedora" | "centos"))
    }

    /// Debian or a derivative (Ubuntu): ssh.service, apt, Debian's StrictModes patch.
    pub fn is_debian_like(&self) -> bool {
        self.os_id
            .iter()
            .chain(&self.os_id_like)
            .any(|id| id == "debian" || id == "ubuntu")
    }

    /// Azure Linux, and CBL-Mariner before it.
    pub fn is_azure_linux(&self) -> bool {
        self.os_id
            .as_deref()
            .is_some_and(|id| id == "azurelinux" || id == "mariner")
    }
}
