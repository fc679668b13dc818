//! A mount that never answers (`hung_fuse.py`): a FUSE daemon that reads every request
//! and replies to none, as a dead NFS server or a stopped sshfs leaves a mount. Mounted
//! in the calling thread's mount namespace; dropping it ends the daemon, which aborts
//! the connection and frees everything still waiting there.

use super::ProcessGuard;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

pub struct HungMount {
    _daemon: ProcessGuard,
}

impl HungMount {
    /// Mounts at `point` (a directory that exists) a filesystem whose daemon reads every
    /// request and answers none: its callers wait beyond SIGKILL.
    pub fn at(point: &str) -> HungMount {
        HungMount::start(point, &[])
    }

    /// Mounts at `point` a filesystem whose daemon reads no request: its callers wait
    /// until SIGKILL, as on a dead NFS server.
    pub fn unread_at(point: &str) -> HungMount {
        HungMount::start(point, &["--unread"])
    }

    fn start(point: &str, mode: &[&str]) -> HungMount {
        // A fresh machine may not have loaded the module yet.
        if !std::path::Path::new("/dev/fuse").exists() {
            let _ = Command::new("modprobe").arg("fuse").status();
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/hung_fuse.py");
        let mut daemon = ProcessGuard::spawn(
            Command::new("python3")
                .arg(script)
                .arg(point)
                .args(mode)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        );
        let stdout = daemon.child().stdout.take().expect("daemon's stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("daemon's first line");
        assert_eq!(line.trim(), "mounted", "hung_fuse.py did not mount {point}");
        HungMount { _daemon: daemon }
    }
}
