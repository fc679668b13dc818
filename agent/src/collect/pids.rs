//! Which processes to look at. Every pid in /proc costs with the machine's size (2,000
//! idle processes are 2,000 files to read); where systemd runs a service, the service's
//! cgroup holds exactly its processes, whatever else runs.

use std::fs;
use std::path::{Path, PathBuf};

/// Bound on the cgroup directories walked: a unit with Delegate= may have children.
const MAX_CGROUPS: usize = 10_000;

/// Every pid in /proc, in /proc's (ascending) order.
pub fn all() -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// A process's name as the kernel keeps it (/proc/PID/comm, at most 15 bytes), read with
/// one openat and one read: where every process's is read, `fs::read_to_string` would
/// add a fstat and a second read to each, and musl's open a fcntl.
pub fn comm(pid: u32) -> Option<String> {
    use nix::fcntl::{openat, OFlag, AT_FDCWD};
    use nix::sys::stat::Mode;
    let path = format!("/proc/{pid}/comm");
    let fd = openat(
        AT_FDCWD,
        path.as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let mut buffer = [0u8; 64];
    let length = nix::unistd::read(&fd, &mut buffer).ok()?;
    let comm = std::str::from_utf8(&buffer[..length]).ok()?;
    Some(comm.trim_end_matches('\n').to_string())
}

/// The systemd unit a process belongs to: the last component of its cgroup path
/// (v2 "0::/system.slice/nginx.service", v1 "1:name=systemd:/system.slice/...").
pub fn unit_of(pid: u32) -> Option<String> {
    let cgroups = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let line = cgroups
        .lines()
        .find(|line| line.starts_with("0::"))
        .or_else(|| cgroups.lines().find(|line| line.contains(":name=systemd:")))?;
    let path = line.rsplit(':').next()?;
    let last = path.rsplit('/').next()?;
    (last.ends_with(".service") || last.ends_with(".scope")).then(|| last.to_string())
}

/// Where systemd keeps its cgroup tree: the unified hierarchy (cgroup v2, or v2 beside
/// v1 in hybrid mode), else v1's name=systemd hierarchy. None when neither is mounted.
pub fn cgroup_root() -> Option<PathBuf> {
    [
        "/sys/fs/cgroup",
        "/sys/fs/cgroup/unified",
        "/sys/fs/cgroup/systemd",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|root| root.join("cgroup.procs").exists())
}

/// The pids in each of `cgroups` (systemd's paths, "/system.slice/ssh.service") and in
/// the cgroups below them, under `root`. A cgroup that does not exist holds none.
pub fn in_cgroups(root: &Path, cgroups: &[String]) -> Vec<u32> {
    let mut pending: Vec<PathBuf> = cgroups
        .iter()
        .map(|cgroup| root.join(cgroup.trim_start_matches('/')))
        .collect();
    let mut pids = Vec::new();
    let mut walked = 0;
    while let Some(dir) = pending.pop() {
        walked += 1;
        if walked > MAX_CGROUPS {
            break;
        }
        if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
            pids.extend(
                text.lines()
                    .filter_map(|line| line.trim().parse::<u32>().ok()),
            );
        }
        if let Ok(entries) = fs::read_dir(&dir) {
            pending.extend(
                entries
                    .flatten()
                    .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
                    .map(|entry| entry.path()),
            );
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// The login sessions' scopes ("/user.slice/user-1000.slice/session-3.scope"): logind
/// (pam_systemd) moves each session's sshd there from the service's cgroup.
pub fn session_scopes(root: &Path) -> Vec<String> {
    let Ok(users) = fs::read_dir(root.join("user.slice")) else {
        return Vec::new();
    };
    let mut scopes = Vec::new();
    for user in users.flatten() {
        let user_slice = user.file_name().to_string_lossy().into_owned();
        if !user_slice.starts_with("user-") {
            continue;
        }
        let Ok(units) = fs::read_dir(user.path()) else {
            continue;
        };
        scopes.extend(
            units
                .flatten()
                .map(|unit| unit.file_name().to_string_lossy().into_owned())
                .filter(|unit| unit.starts_with("session-") && unit.ends_with(".scope"))
                .map(|scope| format!("/user.slice/{user_slice}/{scope}")),
        );
    }
    scopes.sort();
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cgroup tree as the kernel shows it: cgroup.procs files in nested directories.
    #[test]
    fn pids_come_from_the_cgroups_and_those_below_them() {
        let root = tempfile::tempdir().unwrap();
        let write = |dir: &str, procs: &str| {
            let dir = root.path().join(dir);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("cgroup.procs"), procs).unwrap();
        };
        write("system.slice/ssh.service", "812\n");
        write("system.slice/ssh.service/child", "900\n812\n");
        write("system.slice/cron.service", "77\n");
        write("user.slice/user-1000.slice/session-3.scope", "1201\n1240\n");
        write("user.slice/user-1000.slice/user@1000.service", "1300\n");
        let scopes = session_scopes(root.path());
        assert_eq!(scopes, ["/user.slice/user-1000.slice/session-3.scope"]);
        let mut cgroups = vec!["/system.slice/ssh.service".to_string()];
        cgroups.extend(scopes);
        cgroups.push("/system.slice/gone.service".into());
        assert_eq!(in_cgroups(root.path(), &cgroups), [812, 900, 1201, 1240]);
    }
}
