//! The whole diagnosis against a real sshd in a network namespace that looks like a VM
//! (eth0 with an address and a default route), checked against ground truth: does an SSH
//! server answer on the VM's address (`ssh-keyscan`, a real SSH handshake)?

use crate::support;

use std::process::Command;
use support::verdict::{assert_matches_schema, ids};
use support::{NetNs, Sshd};

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str = "a real sshd in a network namespace (ip netns) needs root";

const VM_ADDRESS: &str = "10.9.0.2";

/// A namespace with eth0 (veth, carrier up) holding 10.9.0.2/24 and a default route.
/// Whether this machine's sshd is started by a SysV init script: systemd did not boot
/// it, and openssh-server's script is there (a test namespace sees the machine's files).
fn sysv_host() -> bool {
    std::path::Path::new("/etc/init.d/ssh").is_file()
        && !std::path::Path::new("/run/systemd/system").is_dir()
}

/// What a verdict says of the service where systemd does not run: the note that the
/// service verdict comes from /proc, or, where the SysV script judges it, nothing (the
/// test's sshd runs, the script is linked for boot).
fn service_note() -> Vec<&'static str> {
    match sysv_host() {
        true => vec![],
        false => vec!["SSH-SVC-009"],
    }
}

fn vm_like_namespace() -> NetNs {
    let ns = NetNs::new();
    ns.add_veth("eth0", Some(&format!("{VM_ADDRESS}/24")));
    ns.ip(&["route", "add", "default", "via", "10.9.0.1", "dev", "eth0"]);
    ns
}

/// The verdict and exit status; every real verdict must match the published schema.
fn diagnose_in(ns: &NetNs) -> (serde_json::Value, i32) {
    let (verdict, code) = ns.diagnose_with_status(&[]);
    assert_matches_schema(&verdict);
    (verdict, code)
}

/// Ground truth: an SSH server completes a key exchange at `address:port`.
fn ssh_answers(ns: &NetNs, address: &str, port: u16) -> bool {
    let output = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            "ssh-keyscan",
            "-T",
            "5",
            "-p",
            &port.to_string(),
            address,
        ])
        .output()
        .expect("ssh-keyscan runs");
    String::from_utf8_lossy(&output.stdout).contains("ssh-ed25519")
}

#[test]
fn healthy_sshd_gives_a_healthy_verdict_and_ssh_answers() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = vm_like_namespace();
    let sshd = Sshd::start(&ns, 22, &[]);
    let (verdict, code) = diagnose_in(&ns);
    assert!(ssh_answers(&ns, VM_ADDRESS, 22));
    assert_eq!(ids(&verdict), service_note(), "{verdict:#}");
    assert_eq!(verdict["status"], "healthy");
    assert_eq!(code, 0);
    // The config came from the running sshd's -f, and sshd -T agreed with the parser.
    let config = &verdict["facts"]["config"];
    assert_eq!(config["path"], sshd.config_path().display().to_string());
    assert!(config["path_source"]
        .as_str()
        .unwrap()
        .starts_with("sshd cmdline"));
    assert_eq!(config["effective"]["ports"], serde_json::json!([22]));
    assert_eq!(config["discrepancies"], serde_json::json!([]));
    let processes = &verdict["facts"]["processes"];
    let ours = processes["sshd"]
        .as_array()
        .unwrap()
        .iter()
        .find(|process| process["pid"] == sshd.pid())
        .expect("our sshd among the processes");
    assert_eq!(ours["is_listener"], true);
    // Other tests' sshds run in other namespaces; ours is the one in this namespace.
    assert_eq!(ours["net_namespace"], processes["own_net_namespace"]);
}

#[test]
fn loopback_only_sshd_is_critical_and_unreachable() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = vm_like_namespace();
    let _sshd = Sshd::start(&ns, 22, &["ListenAddress 127.0.0.1"]);
    let (verdict, code) = diagnose_in(&ns);
    assert!(!ssh_answers(&ns, VM_ADDRESS, 22));
    assert!(ssh_answers(&ns, "127.0.0.1", 22));
    assert_eq!(
        ids(&verdict),
        [vec!["SSH-NET-002"], service_note()].concat(),
        "{verdict:#}"
    );
    assert_eq!(code, 2);
}

#[test]
fn other_port_is_a_warning_and_answers_there() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = vm_like_namespace();
    let _sshd = Sshd::start(&ns, 2222, &[]);
    let (verdict, code) = diagnose_in(&ns);
    assert!(ssh_answers(&ns, VM_ADDRESS, 2222));
    assert!(!ssh_answers(&ns, VM_ADDRESS, 22));
    assert_eq!(
        ids(&verdict),
        [vec!["SSH-NET-004"], service_note()].concat(),
        "{verdict:#}"
    );
    assert_eq!(code, 1);
    let finding = &verdict["findings"][0];
    assert!(
        finding["evidence"][0]["fact"]
            .as_str()
            .unwrap()
            .contains(":2222"),
        "{finding:#}"
    );
}

#[test]
fn nothing_running_is_critical_and_nothing_answers() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = vm_like_namespace();
    let (verdict, code) = diagnose_in(&ns);
    assert!(!ssh_answers(&ns, VM_ADDRESS, 22));
    // Started by the machine's init script where it has one, else by hand.
    let nothing_runs = match sysv_host() {
        true => "SSH-SVC-016",
        false => "SSH-SVC-008",
    };
    assert!(ids(&verdict).contains(&nothing_runs), "{verdict:#}");
    assert_eq!(code, 2);
}
