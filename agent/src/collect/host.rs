//! Who and what this machine is: hostname, distribution, kernel, privileges.

use super::ProbeNotes;
use crate::facts::HostFacts;
use std::path::Path;

/// Where distributions install sshd; the first that exists is the one systemd runs.
const SSHD_CANDIDATES: &[&str] = &[
    "/usr/sbin/sshd",
    "/usr/bin/sshd",
    "/sbin/sshd",
    "/usr/local/sbin/sshd",
    "/usr/local/bin/sshd",
];

pub fn collect(notes: &mut ProbeNotes) -> HostFacts {
    let euid = nix::unistd::geteuid().as_raw();
    if euid != 0 {
        notes.partial(
            "not running as root: other users' files, /proc/*/fd and sshd -T are out of sight",
        );
    }
    let pid1_comm = match procfs::process::Process::new(1).and_then(|p| p.stat()) {
        Ok(stat) => Some(stat.comm),
        Err(err) => {
            notes.partial(format!("cannot read /proc/1/stat: {err}"));
            None
        }
    };
    HostFacts {
        hostname: sysinfo::System::host_name(),
        os_id: Some(sysinfo::System::distribution_id()).filter(|id| !id.is_empty()),
        os_id_like: sysinfo::System::distribution_id_like(),
        os_pretty_name: sysinfo::System::long_os_version(),
        os_version_id: sysinfo::System::os_version(),
        kernel: sysinfo::System::kernel_version(),
        euid,
        is_root: euid == 0,
        pid1_comm,
        sshd_binary: find_sshd_binary(),
    }
}

/// The sshd binary: the usual install paths first, then $PATH.
pub fn find_sshd_binary() -> Option<String> {
    let from_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("sshd"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    SSHD_CANDIDATES
        .iter()
        .map(|candidate| Path::new(candidate).to_path_buf())
        .chain(from_path)
        .find(|candidate| candidate.is_file())
        .map(|found| found.display().to_string())
}
