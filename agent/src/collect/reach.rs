//! Reaching paths that may never answer. A dead NFS or CIFS server, a stopped FUSE
//! daemon or a stuck automount makes every stat under its mount wait in the kernel, deaf
//! to every signal but SIGKILL; sshd reading keys there hangs the same way. Work that
//! reaches such paths first asks the mount, from a child process, whether it answers at
//! all; then runs on a worker thread the caller stops waiting for after a bound. A mount
//! that did not answer once is not asked again.

use super::worker::{self, Late};
use super::ProbeNotes;
use crate::facts::{MountFacts, Unanswered};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one path is waited for. A live NFS server answers in milliseconds; a dead
/// one never does.
pub const PATH_BOUND: Duration = Duration::from_secs(2);

/// A worker only stats and reads small files: its stack need not be the default 2 MiB.
const WORKER_STACK: usize = 256 * 1024;

/// The mount table, and what each mount that may hang answered.
#[derive(Debug)]
pub struct Reach {
    mounts: Vec<MountFacts>,
    bound: Duration,
    /// By `answer_key`: None where the mount answered, why not where it did not.
    answers: Mutex<BTreeMap<String, Option<Unanswered>>>,
}

impl Reach {
    /// The mounts of /proc/self/mountinfo; without it every path counts as local.
    pub fn new(bound: Duration, notes: &mut ProbeNotes) -> Reach {
        let mounts = match procfs::process::Process::myself().and_then(|me| me.mountinfo()) {
            Ok(mounts) => mounts
                .0
                .into_iter()
                .map(|mount| MountFacts {
                    point: mount.mount_point.display().to_string(),
                    fs_type: mount.fs_type,
                    source: mount.mount_source.filter(|source| source != "none"),
                })
                .collect(),
            Err(err) => {
                notes.partial(format!("cannot read /proc/self/mountinfo: {err}"));
                Vec::new()
            }
        };
        Reach::with_mounts(mounts, bound)
    }

    pub fn with_mounts(mounts: Vec<MountFacts>, bound: Duration) -> Reach {
        Reach {
            mounts,
            bound,
            answers: Mutex::new(BTreeMap::new()),
        }
    }

    /// The mount holding `path`: the longest mount point that is a prefix of it, the
    /// last mounted where two share one (the one on top).
    pub fn mount_of(&self, path: &str) -> Option<&MountFacts> {
        self.mounts
            .iter()
            .filter(|mount| Path::new(path).starts_with(&mount.point))
            .max_by_key(|mount| mount.point.len())
    }

    /// Runs `work`, which reaches `path`: at once where the path's mount is a local
    /// one; where it may hang, once the mount has answered, on a worker within the
    /// bound; not at all where the mount did not answer.
    pub fn reach<T: Send + 'static>(
        &self,
        path: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Unanswered> {
        let mount = self.mount_of(path).filter(|mount| mount.may_hang());
        let Some(mount) = mount else {
            return Ok(work());
        };
        self.answered(path, mount)?;
        self.on_worker(path, Some(mount), work)
            .map_err(|late| self.remember(path, mount, late))
    }

    /// Runs `work` on a worker within the bound whatever the mount: for work that also
    /// waits on NSS, or may follow a symlink off a local mount. `path` is what to blame
    /// when it does not answer (a home directory, or "getpwnam(alice)").
    pub fn bounded<T: Send + 'static>(
        &self,
        path: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Unanswered> {
        let mount = path.starts_with('/').then(|| self.mount_of(path)).flatten();
        let may_hang = mount.filter(|mount| mount.may_hang());
        if let Some(mount) = may_hang {
            self.answered(path, mount)?;
        }
        self.on_worker(path, mount, work)
            .map_err(|late| match may_hang {
                Some(mount) => self.remember(path, mount, late),
                // A local mount that seemed to hang was a symlink elsewhere or a directory
                // service: the mount is not to blame.
                None => late,
            })
    }

    /// Everything that did not answer so far.
    pub fn unanswered(&self) -> Vec<Unanswered> {
        let answers = self.answers.lock().map(|answers| answers.clone());
        answers
            .unwrap_or_default()
            .into_values()
            .flatten()
            .collect()
    }

    /// Whether `path`'s mount answers, asked once per mount (per automounted directory
    /// under an autofs mount, each its own server's).
    fn answered(&self, path: &str, mount: &MountFacts) -> Result<(), Unanswered> {
        let key = answer_key(path, mount);
        let earlier = self
            .answers
            .lock()
            .ok()
            .and_then(|answers| answers.get(&key).cloned());
        let answer = match earlier {
            // The mount's earlier wait, told for this path.
            Some(answer) => answer.map(|earlier| Unanswered {
                what: path.to_string(),
                ..earlier
            }),
            None => {
                let started = Instant::now();
                let answer = (!answers_within(path, self.bound)).then(|| Unanswered {
                    what: path.to_string(),
                    mount: Some(mount.clone()),
                    waited_ms: started.elapsed().as_millis() as u64,
                });
                if let Some(answer) = &answer {
                    return Err(self.remember(path, mount, answer.clone()));
                }
                if let Ok(mut answers) = self.answers.lock() {
                    answers.insert(key, None);
                }
                None
            }
        };
        answer.map_or(Ok(()), Err)
    }

    /// `mount` did not answer for `path`: later paths there are not waited for.
    fn remember(&self, path: &str, mount: &MountFacts, unanswered: Unanswered) -> Unanswered {
        if let Ok(mut answers) = self.answers.lock() {
            answers.insert(answer_key(path, mount), Some(unanswered.clone()));
        }
        unanswered
    }

    fn on_worker<T: Send + 'static>(
        &self,
        path: &str,
        mount: Option<&MountFacts>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Unanswered> {
        let started = Instant::now();
        worker::within("reach", WORKER_STACK, self.bound, work).map_err(|late| Unanswered {
            what: path.to_string(),
            mount: mount.cloned(),
            // No thread to spare: not waiting is the safe side, and nothing was waited.
            waited_ms: match late {
                Late::NoThread => 0,
                _ => started.elapsed().as_millis() as u64,
            },
        })
    }
}

/// Under an autofs mount each directory is mounted on its own, often from its own
/// server: each is asked for itself.
fn answer_key(path: &str, mount: &MountFacts) -> String {
    if mount.fs_type != "autofs" {
        return mount.point.clone();
    }
    let below = Path::new(path)
        .strip_prefix(&mount.point)
        .ok()
        .and_then(|rest| rest.components().next())
        .map(|first| first.as_os_str().to_string_lossy().into_owned());
    format!("{}/{}", mount.point, below.unwrap_or_default())
}

/// Whether `path` answers within `bound`: a child process stats it, and opens and
/// reads a little of a directory or a regular file, so the server or FUSE daemon
/// behind it is asked for a lookup, attributes, an open and a read. A process, not a
/// thread: a FUSE request the daemon has read and never answers holds its caller
/// beyond even SIGKILL, and a thread so held would keep this process from being
/// reaped, and Run Command from ever returning. A child so held is left behind with
/// nothing of ours open. When no child can be made, the path counts as answering.
fn answers_within(path: &str, bound: Duration) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::unistd::{fork, ForkResult};
    use std::os::fd::{AsFd, AsRawFd};
    let Ok(c_path) = CString::new(path) else {
        return true;
    };
    let Ok((read_end, write_end)) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) else {
        return true;
    };
    // SAFETY: the child makes system calls only (async-signal-safe) and then _exits;
    // the path was converted before the fork, so nothing allocates there.
    let child = match unsafe { fork() } {
        Ok(ForkResult::Child) => unsafe { probe_in_child(&c_path, write_end.as_raw_fd()) },
        Ok(ForkResult::Parent { child }) => child,
        Err(_) => return true,
    };
    drop(write_end);
    let timeout = PollTimeout::try_from(bound).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(read_end.as_fd(), PollFlags::POLLIN)];
    let answered = matches!(poll(&mut fds, timeout), Ok(1))
        && matches!(nix::unistd::read(&read_end, &mut [0u8; 1]), Ok(1));
    if answered {
        let _ = nix::sys::wait::waitpid(child, None);
    } else {
        // Not waited for: it may never die. The init process reaps it after us.
        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
    }
    answered
}

/// The forked child of `answers_within`: reports on `report` once the path answered.
///
/// # Safety
/// Only in a child just forked: it closes every other descriptor and never returns.
unsafe fn probe_in_child(path: &CString, report: i32) -> ! {
    use nix::libc;
    // A child held forever must not hold what other threads wait on: their pipes.
    if report > 0 {
        libc::syscall(libc::SYS_close_range, 0u32, (report - 1) as u32, 0u32);
    }
    libc::syscall(libc::SYS_close_range, (report + 1) as u32, u32::MAX, 0u32);
    let mut stat: libc::stat = std::mem::zeroed();
    if libc::stat(path.as_ptr(), &mut stat) == 0 {
        let kind = stat.st_mode & libc::S_IFMT;
        // Devices and FIFOs are not opened: opening one can act.
        if kind == libc::S_IFDIR || kind == libc::S_IFREG {
            let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY;
            let fd = libc::open(path.as_ptr(), flags);
            if fd >= 0 {
                let mut buffer = [0u8; 512];
                if kind == libc::S_IFDIR {
                    libc::syscall(libc::SYS_getdents64, fd, buffer.as_mut_ptr(), buffer.len());
                } else {
                    libc::read(fd, buffer.as_mut_ptr().cast(), 1);
                }
            }
        }
    }
    libc::write(report, b"!".as_ptr().cast(), 1);
    libc::_exit(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(point: &str, fs_type: &str) -> MountFacts {
        MountFacts {
            point: point.into(),
            fs_type: fs_type.into(),
            source: None,
        }
    }

    #[test]
    fn the_mount_of_a_path_is_the_deepest_one_above_it_by_whole_names() {
        let reach = Reach::with_mounts(
            vec![
                mount("/", "ext4"),
                mount("/home", "nfs4"),
                mount("/home/al", "tmpfs"),
            ],
            PATH_BOUND,
        );
        let of = |path: &str| reach.mount_of(path).map(|mount| mount.point.as_str());
        assert_eq!(of("/home/alice/.ssh"), Some("/home"));
        assert_eq!(of("/home/al/x"), Some("/home/al"));
        assert_eq!(of("/etc/passwd"), Some("/"));
    }

    #[test]
    fn a_mount_that_did_not_answer_is_not_waited_for_again() {
        let reach = Reach::with_mounts(
            vec![mount("/", "ext4"), mount("/srv", "fuse.sshfs")],
            Duration::from_millis(50),
        );
        // The mount answers the child's stat (no such file), then the work outlives
        // the bound.
        let late = reach.reach("/srv/a", || std::thread::sleep(Duration::from_secs(5)));
        let late = late.expect_err("the worker outlives the bound");
        assert!(late.waited_ms >= 50, "{late:?}");
        // The next path there is not asked: the earlier wait is told for it.
        let again = reach
            .reach("/srv/b", || ())
            .expect_err("the mount is known hung");
        assert_eq!(
            (again.what.as_str(), again.waited_ms),
            ("/srv/b", late.waited_ms)
        );
        // Local paths run as before, at once.
        assert_eq!(reach.reach("/etc/x", || 7), Ok(7));
        assert_eq!(reach.unanswered(), [late]);
    }

    #[test]
    fn automounted_directories_are_asked_for_each() {
        let home = mount("/home", "autofs");
        assert_eq!(answer_key("/home/alice/.ssh", &home), "/home/alice");
        assert_eq!(answer_key("/srv/x", &mount("/srv", "nfs4")), "/srv");
    }
}
