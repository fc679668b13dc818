//! What several families' tests share: facts built by hand (`facts`), helpers for
//! reading a verdict (`verdict`), and real components: network namespaces, a real sshd,
//! programs holding ports, private accounts, a D-Bus bus with a fake systemd, a real
//! firewalld, staged sshd_config fixtures. Everything started here is stopped on drop,
//! even on panic. The namespaces, mounts and the real sshd need root and iproute2
//! (`ip netns`), like the tests that use them, which start with `requires_root` (see
//! `skip`).

pub mod accounts;
pub mod dbus;
pub mod facts;
pub mod firewalld;
mod guard;
pub mod hung_mount;
mod listener;
pub mod mount_ns;
mod netns;
mod skip;
mod sshd;
pub mod sshd_config;
pub mod verdict;
pub mod vm_net;
mod watchdog;

pub use guard::ProcessGuard;
pub use listener::{PortHolder, V6Only};
pub use netns::NetNs;
pub use skip::{requires_program, requires_root, requires_sshd};
pub use sshd::{Sshd, SSHD};

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The sshdoctor binary under a name that survives mounts over its directory: an open
/// descriptor, kept across exec, named through /proc/self/fd. Tests that mount a tmpfs
/// over /tmp would otherwise hide a binary built in a checkout under /tmp.
pub fn sshdoctor_exe() -> &'static str {
    static EXE: OnceLock<String> = OnceLock::new();
    EXE.get_or_init(|| {
        use std::os::fd::IntoRawFd;
        let file = std::fs::File::open(env!("CARGO_BIN_EXE_sshdoctor")).expect("open sshdoctor");
        nix::fcntl::fcntl(
            &file,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .expect("keep the descriptor across exec");
        // Held for the life of the test process.
        format!("/proc/self/fd/{}", file.into_raw_fd())
    })
}

/// Polls `ready` every 20 ms until it returns Some or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = ready() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The 1-based number of the last line of the file at `path` that equals `line`: where a
/// verdict should say a setting or rule is.
pub fn line_number(path: impl AsRef<std::path::Path>, line: &str) -> usize {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    1 + lines
        .iter()
        .rposition(|candidate| *candidate == line)
        .unwrap_or_else(|| panic!("{line:?} not in {}", path.display()))
}

/// sshd's stderr lines as syslog writes them: "Nov 24 07:MM:SS vm1 sshd[PID]: message",
/// one second apart.
pub fn as_auth_log(sshd_log: &str, pid: u32) -> Vec<String> {
    sshd_log
        .lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(index, message)| {
            format!(
                "Nov 24 07:{:02}:{:02} vm1 sshd[{pid}]: {message}",
                index / 60,
                index % 60
            )
        })
        .collect()
}
