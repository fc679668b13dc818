//! A program other than sshd holding a TCP port: a small Python listener.

use super::{NetNs, ProcessGuard};
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::process::Stdio;

/// By path, so its comm is predictably "python3" (not a version manager's shim).
pub const PYTHON: &str = "/usr/bin/python3";

/// Binds and listens, optionally forks a child that keeps the same socket, then reports
/// "ready CHILD_PID" (0 without a child) and sleeps.
const SCRIPT: &str = r#"
import os, socket, sys, time
address, port, v6only, fork = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "fork"
family = socket.AF_INET6 if ":" in address else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if family == socket.AF_INET6 and v6only != "default":
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
s.bind((address, port))
s.listen()
child = os.fork() if fork else 0
if fork and child == 0:
    time.sleep(3600)
    sys.exit(0)
print("ready", child, flush=True)
time.sleep(3600)
"#;

/// How a PortHolder sets IPV6_V6ONLY on an IPv6 socket.
#[derive(Debug, Clone, Copy)]
pub enum V6Only {
    /// Leave it to net.ipv6.bindv6only.
    Default,
    On,
    Off,
}

pub struct PortHolder {
    process: ProcessGuard,
    child_pid: Option<u32>,
}

impl PortHolder {
    /// Listens on `address`:`port` inside `ns`.
    pub fn start(ns: &NetNs, address: IpAddr, port: u16) -> PortHolder {
        Self::spawn(ns, address, port, V6Only::Default, false)
    }

    /// Listens on an IPv6 `address`:`port` with IPV6_V6ONLY set as told.
    pub fn start_v6(ns: &NetNs, address: IpAddr, port: u16, v6only: V6Only) -> PortHolder {
        Self::spawn(ns, address, port, v6only, false)
    }

    /// Listens, then forks a child: both processes hold the one socket.
    pub fn start_shared(ns: &NetNs, address: IpAddr, port: u16) -> PortHolder {
        Self::spawn(ns, address, port, V6Only::Default, true)
    }

    fn spawn(ns: &NetNs, address: IpAddr, port: u16, v6only: V6Only, fork: bool) -> PortHolder {
        let v6only = match v6only {
            V6Only::Default => "default",
            V6Only::On => "1",
            V6Only::Off => "0",
        };
        let mut process = ProcessGuard::spawn(
            ns.command(PYTHON)
                .args([
                    "-c",
                    SCRIPT,
                    &address.to_string(),
                    &port.to_string(),
                    v6only,
                ])
                .arg(if fork { "fork" } else { "single" })
                .stdin(Stdio::null())
                .stdout(Stdio::piped()),
        );
        let stdout = process.child().stdout.take().expect("piped stdout");
        // The line comes after listen(); EOF means the script failed (its stderr is ours).
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listener's ready line");
        let child_pid = line
            .strip_prefix("ready ")
            .and_then(|pid| pid.trim().parse::<u32>().ok())
            .unwrap_or_else(|| panic!("listener on {address} port {port} failed: {line:?}"));
        PortHolder {
            process,
            child_pid: (child_pid != 0).then_some(child_pid),
        }
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The forked child sharing the socket (start_shared only).
    pub fn child_pid(&self) -> Option<u32> {
        self.child_pid
    }
}
