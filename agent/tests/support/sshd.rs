//! The real Debian sshd, started in a namespace with a throw-away host key and config.

use super::{wait_for, NetNs, ProcessGuard};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

/// The real sshd the tests run.
pub const SSHD: &str = "/usr/sbin/sshd";
/// Debian's sshd refuses to start without its privilege separation directory.
const PRIVSEP_DIR: &str = "/run/sshd";
const START_LIMIT: Duration = Duration::from_secs(10);

pub struct Sshd {
    // Field order is drop order: stop the daemon before deleting its files.
    process: ProcessGuard,
    dir: TempDir,
}

impl Sshd {
    /// Starts `sshd -D -e` in `ns` with `Port port` and `extra_config` lines (e.g.
    /// "ListenAddress ::", "AddressFamily inet6"), and waits until its sockets listen.
    pub fn start(ns: &NetNs, port: u16, extra_config: &[&str]) -> Sshd {
        Sshd::start_with(ns, port, true, extra_config, &[])
    }

    /// `start` with only the host keys `extra_config` names (HostKey lines), none of
    /// its own.
    pub fn start_with_keys_of(ns: &NetNs, port: u16, extra_config: &[&str]) -> Sshd {
        Sshd::start_with(ns, port, false, extra_config, &[])
    }

    /// `start` with `args` on sshd's command line too (as a unit's ExecStart gives them).
    pub fn start_with_args(ns: &NetNs, port: u16, extra_config: &[&str], args: &[&str]) -> Sshd {
        Sshd::start_with(ns, port, true, extra_config, args)
    }

    fn start_with(
        ns: &NetNs,
        port: u16,
        own_key: bool,
        extra_config: &[&str],
        args: &[&str],
    ) -> Sshd {
        fs::create_dir_all(PRIVSEP_DIR).expect("create /run/sshd");
        let dir = tempfile::tempdir().expect("temp dir for sshd");
        let config = dir.path().join("sshd_config");
        let mut lines = vec![format!("Port {port}")];
        if own_key {
            let host_key = generate_host_key(dir.path());
            lines.push(format!("HostKey {}", host_key.display()));
        }
        // PAM off unless the extra lines say (a line sshd would ignore is itself a
        // finding); before any Match block, where UsePAM is not allowed.
        let match_at = extra_config
            .iter()
            .position(|line| line.starts_with("Match "))
            .unwrap_or(extra_config.len());
        lines.extend(extra_config[..match_at].iter().map(|line| line.to_string()));
        if !extra_config[..match_at]
            .iter()
            .any(|line| line.to_ascii_lowercase().starts_with("usepam"))
        {
            lines.push("UsePAM no".to_string());
        }
        lines.extend(extra_config[match_at..].iter().map(|line| line.to_string()));
        fs::write(&config, lines.join("\n") + "\n").expect("write sshd_config");
        let log = fs::File::create(dir.path().join("sshd.log")).expect("create sshd.log");
        let pid_file = dir.path().join("sshd.pid");
        let process = ProcessGuard::spawn(
            ns.command(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .arg("-o")
                .arg(format!("PidFile={}", pid_file.display()))
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log),
        );
        let mut sshd = Sshd { process, dir };
        sshd.wait_until_listening(&pid_file);
        sshd
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("sshd_config")
    }

    /// sshd writes its PidFile once its listening sockets are bound.
    fn wait_until_listening(&mut self, pid_file: &Path) {
        let pid = self.pid().to_string();
        let written = wait_for(START_LIMIT, || {
            if let Some(status) = self.process.exited() {
                panic!("sshd exited ({status}): {}", self.log());
            }
            let content = fs::read_to_string(pid_file).ok()?;
            (content.trim() == pid).then_some(())
        });
        if written.is_none() {
            panic!("sshd did not listen within {START_LIMIT:?}: {}", self.log());
        }
    }

    /// What sshd printed on stderr (`-e`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    /// Each connection's sshd makes its own session, out of the listener's process
    /// group: one whose client vanished (a login that hung, then was killed) would
    /// outlive the test. They go first, with the processes they started.
    fn drop(&mut self) {
        let leader = self.pid() as i32;
        let connections = procfs::process::all_processes()
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|process| process.stat().ok())
            .filter(|stat| stat.ppid == leader);
        for connection in connections {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(connection.session),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

fn generate_host_key(dir: &Path) -> PathBuf {
    let key = dir.join("ssh_host_ed25519_key");
    let output = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .expect("run ssh-keygen");
    assert!(
        output.status.success(),
        "ssh-keygen failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    key
}
