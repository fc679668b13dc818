//! Throw-away accounts in a private copy of the system: /etc copied and bound over the
//! real one, and /home, /tmp, /root, /var/log and /var/mail on tmpfs, in the calling
//! thread's own mount namespace. Name lookups go to loopback, where nothing answers: a
//! reverse lookup (libwrap's) fails at once and no query leaves the test's namespaces. A real sshd, ssh and sshdoctor started from that thread
//! see the private accounts; nothing reaches the host's.

use super::NetNs;
use std::process::Command;

/// Private copies of everything useradd, ssh and the tests write.
pub const PRIVATE_SYSTEM: &str =
    "mount -t tmpfs tmpfs /tmp; mkdir /tmp/etc; cp -a /etc/. /tmp/etc/; \
     mount --bind /tmp/etc /etc; mount -t tmpfs tmpfs /home; mount -t tmpfs tmpfs /var/log; \
     mount -t tmpfs tmpfs /var/mail; mount -t tmpfs -o mode=0700 tmpfs /root; \
     rm -f /etc/resolv.conf; echo 'nameserver 127.0.0.1' > /etc/resolv.conf";

/// `alice` with a real ed25519 key in a correct ~/.ssh, and no password ("*"). The
/// private key stays in /tmp/alice_key.
pub const ALICE: &str = "useradd -m -s /bin/bash alice; usermod -p '*' alice; \
     install -d -m 700 -o alice -g alice /home/alice/.ssh; \
     ssh-keygen -q -t ed25519 -N '' -C alice@laptop -f /tmp/alice_key; \
     install -m 600 -o alice -g alice /tmp/alice_key.pub /home/alice/.ssh/authorized_keys";

/// Runs `work` on a thread in a private mount namespace where `setup` (sh) has run
/// after PRIVATE_SYSTEM.
pub fn in_private_system<T: Send>(setup: &str, work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).expect("unshare mount ns");
                sh(&format!(
                    "mount --make-rprivate /; {PRIVATE_SYSTEM}; {setup}"
                ));
                work()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Runs `script` with sh, panicking with its stderr when it fails.
pub fn sh(script: &str) {
    let output = Command::new("sh").args(["-ec", script]).output().unwrap();
    assert!(
        output.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A real key login as alice from `ns` to `address:port`: whether it succeeded, and what
/// the client said. A login that hangs (after the key, sshd waiting on her home) fails
/// after 15 s.
pub fn alice_login(ns: &NetNs, address: &str, port: u16) -> (bool, String) {
    let output = ns
        .command("timeout")
        .args(["15", "ssh", "-F", "/dev/null", "-i", "/tmp/alice_key", "-p"])
        .arg(port.to_string())
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
            &format!("alice@{address}"),
            "true",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), said)
}
