//! A child process (and everything it forks) that dies with its guard.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::Duration;
use wait_timeout::ChildExt;

pub struct ProcessGuard {
    child: Child,
}

impl ProcessGuard {
    /// Spawns `command` as the leader of a new process group, so that drop also stops the
    /// processes it forks.
    pub fn spawn(command: &mut Command) -> ProcessGuard {
        let child = command
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {command:?}: {err}"));
        ProcessGuard { child }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The exit status, if the process has already exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        let group = Pid::from_raw(self.child.id() as i32);
        let _ = killpg(group, Signal::SIGTERM);
        let exited = matches!(self.child.wait_timeout(Duration::from_secs(3)), Ok(Some(_)));
        // Whatever is left: a leader ignoring SIGTERM, or forked children outliving it.
        let _ = killpg(group, Signal::SIGKILL);
        if !exited {
            let _ = self.child.wait();
        }
    }
}
