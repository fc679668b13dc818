//! Which processes hold which sockets, from /proc/PID/fd links (`socket:[INODE]`).
//!
//! `ss -p` reads every fd of every process. This search reads the likely owners first,
//! then processes named sshd, then the rest, and stops once every socket has an owner.

use crate::collect::pids;
use crate::facts::SocketOwner;
use nix::dir::Dir;
use nix::fcntl::{open, readlinkat, OFlag};
use nix::sys::stat::Mode;
use std::collections::{HashMap, HashSet};
use std::io;

/// Process names whose fd tables are read before any other process's.
const SSHD_COMMS: &[&str] = &["sshd"];

/// The result of one owner search.
#[derive(Debug, Default)]
pub struct OwnerSearch {
    /// Holders of each socket found, by inode. A socket shared by several examined
    /// processes (systemd and the sshd it passed the socket to) lists each one.
    pub owners: HashMap<u64, Vec<SocketOwner>>,
    /// Every socket has an owner, or every process was examined.
    pub complete: bool,
    /// Processes whose fd table was read.
    pub processes_examined: usize,
    /// Processes whose fd table could not be read (permission denied).
    pub processes_unreadable: usize,
}

/// Finds the processes holding `inodes`: the `likely_owners` pids first, then processes
/// named sshd, then every other process, stopping as soon as each of the `required`
/// inodes has an owner. Owners of the other inodes are recorded when met on the way;
/// further holders of a socket are only found among the processes read before that.
pub fn find_owners(inodes: &[u64], required: &[u64], likely_owners: &[u32]) -> OwnerSearch {
    let mut scan = Scan {
        wanted: inodes.iter().copied().collect(),
        unowned: required.iter().copied().collect(),
        examined: HashSet::new(),
        result: OwnerSearch::default(),
    };
    for &pid in likely_owners {
        scan.examine(pid);
    }
    if !scan.unowned.is_empty() {
        let (sshd_pids, other_pids): (Vec<u32>, Vec<u32>) = pids::all()
            .into_iter()
            .filter(|pid| !scan.examined.contains(pid))
            .partition(|&pid| {
                pids::comm(pid).is_some_and(|comm| SSHD_COMMS.contains(&comm.as_str()))
            });
        for pid in sshd_pids.into_iter().chain(other_pids) {
            if scan.unowned.is_empty() {
                break;
            }
            scan.examine(pid);
        }
    }
    scan.result.complete = scan.unowned.is_empty() || scan.result.processes_unreadable == 0;
    scan.result
}

struct Scan {
    wanted: HashSet<u64>,
    unowned: HashSet<u64>,
    examined: HashSet<u32>,
    result: OwnerSearch,
}

impl Scan {
    /// Reads one process's fd table and records it as an owner of the wanted sockets it holds.
    fn examine(&mut self, pid: u32) {
        if !self.examined.insert(pid) {
            return;
        }
        let held = match sockets_held(pid) {
            Ok(held) => held,
            Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
                self.result.processes_unreadable += 1;
                return;
            }
            Err(_) => return, // The process exited mid-scan.
        };
        self.result.processes_examined += 1;
        let mut comm = None;
        let mut unit = None;
        for (fd, inode) in held {
            if !self.wanted.contains(&inode) {
                continue;
            }
            let comm = comm.get_or_insert_with(|| pids::comm(pid).unwrap_or_default());
            let unit = unit.get_or_insert_with(|| pids::unit_of(pid));
            self.unowned.remove(&inode);
            self.result
                .owners
                .entry(inode)
                .or_default()
                .push(SocketOwner {
                    pid,
                    comm: comm.clone(),
                    fd,
                    unit: unit.clone(),
                });
        }
    }
}

/// (fd, inode) of every socket a process holds. Fds closed while reading are skipped.
/// Links are read relative to the open fd directory, which measured ~17% faster than
/// resolving the full /proc/PID/fd/N path for each fd.
fn sockets_held(pid: u32) -> io::Result<Vec<(u32, u64)>> {
    let fd_dir = open(
        format!("/proc/{pid}/fd").as_str(),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut listing = Dir::from_fd(fd_dir.try_clone()?)?;
    let mut held = Vec::new();
    for entry in listing.iter() {
        let name = entry?.file_name().to_owned();
        let Some(fd) = name.to_str().ok().and_then(|name| name.parse().ok()) else {
            continue; // "." and ".."
        };
        let Ok(target) = readlinkat(&fd_dir, name.as_c_str()) else {
            continue;
        };
        if let Some(inode) = target.to_str().and_then(socket_inode) {
            held.push((fd, inode));
        }
    }
    Ok(held)
}

/// The inode in an fd link such as `socket:[12345]`.
fn socket_inode(target: &str) -> Option<u64> {
    target
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_links_give_their_inode_and_other_links_none() {
        assert_eq!(socket_inode("socket:[12345]"), Some(12345));
        assert_eq!(socket_inode("pipe:[12345]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
        assert_eq!(socket_inode("socket:[]"), None);
    }
}
