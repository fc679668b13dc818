//! A real firewalld in the VM's network namespace: its saved zones in the private /etc,
//! its bus a private one mounted where the system bus is looked for, its run-time files
//! a private /run/firewalld. Needs root and firewalld; callers check both first.

use super::accounts::{in_private_system, ALICE};
use super::vm_net::VmNet;
use super::{ProcessGuard, Sshd};
use std::time::Duration;

/// Runs `test` with the namespaces, a real sshd (alice's login, no PAM) and firewalld
/// running with its default zone (public) as installed.
pub fn with_firewalld(test: impl FnOnce(&VmNet, &Sshd) + Send) {
    in_private_system(ALICE, || {
        let bus = super::dbus::TestBus::start();
        let socket = bus.address.trim_start_matches("unix:path=");
        let socket_dir = std::path::Path::new(socket)
            .parent()
            .unwrap()
            .display()
            .to_string();
        super::accounts::sh(&format!(
            "mount --bind {socket_dir} /run/dbus; mkdir -p /run/firewalld; \
             mount -t tmpfs tmpfs /run/firewalld"
        ));
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        let _firewalld = ProcessGuard::spawn(
            network
                .server
                .command("firewalld")
                .args(["--nofork", "--nopid", "--log-target", "console"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null()),
        );
        let running = super::wait_for(Duration::from_secs(30), || {
            let state = network
                .server
                .command("firewall-cmd")
                .arg("--state")
                .output()
                .ok()?;
            state.status.success().then_some(())
        });
        assert!(running.is_some(), "firewalld did not start");
        test(&network, &sshd);
    });
}

/// `firewall-cmd ARGS` in the VM's namespace; panics if it fails.
pub fn firewall_cmd(network: &VmNet, args: &[&str]) {
    let mut argv = vec!["firewall-cmd"];
    argv.extend_from_slice(args);
    network.server.exec(&argv, "");
}
