//! Host health that breaks logins: disks, memory, the OOM killer, conntrack.

use serde::{Deserialize, Serialize};

/// Host health that breaks logins: full disks, exhausted memory, the OOM killer.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct HealthFacts {
    /// One entry per filesystem holding a path a login writes to (/, /var, /tmp, /run, /home).
    pub filesystems: Vec<FilesystemUsage>,
    pub memory: Option<MemoryFacts>,
    /// 1, 5 and 15 minute load averages.
    pub load_average: Option<[f32; 3]>,
    /// OOM kills still in the kernel's ring buffer.
    pub oom_kills: Vec<OomKill>,
    /// Netfilter's connection tracking; None when it is not loaded (nothing is tracked,
    /// so nothing is dropped for want of room).
    #[serde(default)]
    pub conntrack: Option<ConntrackFacts>,
}

/// The connection-tracking table: when it is full the kernel drops every new connection,
/// SSH's included, before any firewall rule or sshd sees it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConntrackFacts {
    /// net.netfilter.nf_conntrack_count and nf_conntrack_max.
    pub entries: u64,
    pub max: u64,
    /// Packets dropped since boot because the table was full: /proc/net/stat/nf_conntrack's
    /// "drop" less "insert_failed" (packets lost racing for one flow), summed over CPUs.
    pub drops: Option<u64>,
    /// "nf_conntrack: table full, dropping packet" lines still in the kernel log (the
    /// kernel rate-limits them), and the newest one's time.
    pub table_full_messages: u32,
    pub last_table_full_seconds_since_boot: Option<u64>,
}

impl ConntrackFacts {
    /// Percent of the table in use; a max of 0 means no limit, as the kernel reads it.
    pub fn used_percent(&self) -> f64 {
        percent(self.entries, self.max)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FilesystemUsage {
    /// The path looked at (the first of the list on this filesystem).
    pub path: String,
    pub mount_point: String,
    pub fs_type: Option<String>,
    pub source: Option<String>,
    pub total_bytes: u64,
    /// Free, including blocks reserved for root.
    pub free_bytes: u64,
    /// Free for unprivileged users (what a login's session can use).
    pub available_bytes: u64,
    pub total_inodes: u64,
    pub free_inodes: u64,
    pub read_only: bool,
}

impl FilesystemUsage {
    /// Percent used as `df` shows it: used / (used + available).
    pub fn used_percent(&self) -> f64 {
        let used = self.total_bytes.saturating_sub(self.free_bytes);
        percent(used, used + self.available_bytes)
    }

    pub fn inodes_used_percent(&self) -> f64 {
        percent(
            self.total_inodes.saturating_sub(self.free_inodes),
            self.total_inodes,
        )
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryFacts {
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_free_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OomKill {
    pub pid: u32,
    pub comm: String,
    pub seconds_since_boot: u64,
    /// The kernel's line, e.g. "Out of memory: Killed process 812 (sshd) ...".
    pub message: String,
}
