//! A throw-away network namespace with loopback up, deleted on drop.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub struct NetNs {
    name: String,
}

impl NetNs {
    /// `ip netns add` under a name unique to this process, then `ip link set lo up`.
    pub fn new() -> NetNs {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "sshdoctor-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        run_ip(&["netns", "add", &name]);
        let netns = NetNs { name };
        netns.ip(&["link", "set", "lo", "up"]);
        netns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip ARGS` inside the namespace (`ip -n NAME ARGS`), panicking on failure.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        run_ip(&all);
    }

    /// Gives the namespace's loopback `addresses` (CIDR) for daemons to bind; a plain
    /// address, unlike 127.0.0.1 or ::1, is not treated as loopback-only by the rules.
    pub fn add_addresses(&self, addresses: &[&str]) {
        for address in addresses {
            let mut args = vec!["address", "add", address, "dev", "lo"];
            if address.contains(':') {
                args.push("nodad"); // A tentative IPv6 address cannot be bound yet.
            }
            self.ip(&args);
        }
    }

    /// A command that runs `program` inside the namespace. `ip netns exec` execs it in
    /// place, so the spawned child's pid is `program`'s pid.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// A veth pair inside the namespace: `name` (with `cidr`, when given) and its peer,
    /// both up, so `name` has a carrier like a VM's NIC.
    pub fn add_veth(&self, name: &str, cidr: Option<&str>) {
        let peer = format!("{name}-peer");
        self.ip(&["link", "add", name, "type", "veth", "peer", "name", &peer]);
        self.ip(&["link", "set", name, "up"]);
        self.ip(&["link", "set", &peer, "up"]);
        if let Some(cidr) = cidr {
            self.ip(&["address", "add", cidr, "dev", name]);
        }
    }

    /// A veth pair from this namespace to `peer`: `name` here holding `cidr`, and
    /// `name` there holding `peer_cidr`, both up: two hosts on one link.
    pub fn link_to(&self, peer: &NetNs, name: &str, cidr: &str, peer_cidr: &str) {
        let far = format!("{name}-far");
        self.ip(&[
            "link", "add", name, "type", "veth", "peer", "name", &far, "netns", &peer.name,
        ]);
        peer.ip(&["link", "set", &far, "name", name]);
        for (ns, address) in [(self, cidr), (peer, peer_cidr)] {
            ns.ip(&["address", "add", address, "dev", name]);
            ns.ip(&["link", "set", name, "up"]);
        }
    }

    /// Runs `argv` inside the namespace with `stdin` fed to it; panics if it fails.
    pub fn exec(&self, argv: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run {argv:?}: {err}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{argv:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// The real binary's JSON verdict from inside the namespace, with `args` after
    /// `--format json --imds never`.
    pub fn diagnose(&self, args: &[&str]) -> serde_json::Value {
        self.diagnose_with_status(args).0
    }

    /// The verdict and the process's exit status.
    pub fn diagnose_with_status(&self, args: &[&str]) -> (serde_json::Value, i32) {
        let output = self
            .command(super::sshdoctor_exe())
            .args(["--format", "json", "--imds", "never"])
            .args(args)
            .output()
            .expect("ip netns exec runs");
        super::verdict::assert_no_secrets(&String::from_utf8_lossy(&output.stdout));
        let verdict = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
            panic!(
                "no JSON verdict ({err}): {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (verdict, output.status.code().expect("exited, not killed"))
    }

    /// Runs `work` on a thread that has joined the namespace; this process's other
    /// threads stay where they are. The thread's sockets live in the namespace, and its
    /// `/proc/thread-self/net` shows the namespace's tables (`/proc/net` does not).
    pub fn run<T: Send>(&self, work: impl FnOnce() -> T + Send) -> T {
        let handle = File::open(format!("/run/netns/{}", self.name))
            .unwrap_or_else(|err| panic!("cannot open netns {}: {err}", self.name));
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    nix::sched::setns(&handle, nix::sched::CloneFlags::CLONE_NEWNET)
                        .expect("setns into the test namespace");
                    work()
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

fn run_ip(args: &[&str]) {
    let output = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run ip: {err}"));
    assert!(
        output.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}
