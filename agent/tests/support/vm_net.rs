//! A VM and a client beside it: a server network namespace (192.0.2.1 on eth0, with a
//! default route, as a VM has) and a client namespace over a veth pair (192.0.2.2), an
//! sshd on the VM configured as a cloud image has it (keys only), and alice's real login
//! from the client as ground truth. Used from a thread in a private system
//! (`accounts::in_private_system`), so sshd, ssh and sshdoctor see the private accounts.

use super::accounts::alice_login;
use super::verdict::{only, problems};
use super::{NetNs, Sshd};
use serde_json::Value;

pub const SERVER: &str = "192.0.2.1";

pub struct VmNet {
    pub server: NetNs,
    pub client: NetNs,
}

impl VmNet {
    pub fn new() -> VmNet {
        let server = NetNs::new();
        let client = NetNs::new();
        server.link_to(&client, "eth0", &format!("{SERVER}/24"), "192.0.2.2/24");
        server.ip(&[
            "route",
            "add",
            "default",
            "via",
            "192.0.2.254",
            "dev",
            "eth0",
        ]);
        VmNet { server, client }
    }

    /// sshd on port 22 of the VM with keys only, and `extra` config lines.
    pub fn start_sshd(&self, extra: &[&str]) -> Sshd {
        let mut config = vec![
            "StrictModes yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
        ];
        config.extend_from_slice(extra);
        Sshd::start(&self.server, 22, &config)
    }

    /// `start_sshd` with the system's own host keys (/etc/ssh/ssh_host_*_key) only.
    pub fn start_sshd_with_system_keys(&self, extra: &[&str]) -> Sshd {
        let mut config = vec![
            "HostKey /etc/ssh/ssh_host_ed25519_key",
            "StrictModes yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
        ];
        config.extend_from_slice(extra);
        Sshd::start_with_keys_of(&self.server, 22, &config)
    }

    /// alice's key login from the client: whether it worked, and what ssh said.
    pub fn login(&self) -> (bool, String) {
        alice_login(&self.client, SERVER, 22)
    }

    /// Runs a printed fix that ends in `&& systemctl reload UNIT` (or `restart`): the edit
    /// as printed, then SIGHUP, on which sshd re-executes itself and reads its config and
    /// keys again (a test namespace has no systemd); one that ends in `kill -HUP PID`, as
    /// it is; then waits until alice's login works again.
    pub fn apply_reload_fix(&self, sshd: &Sshd, fix: &str) {
        // Printed for an sshd outside systemd, as here: the command runs as it is.
        if fix.contains(&format!(" && kill -HUP {}", sshd.pid())) {
            super::accounts::sh(fix);
            super::wait_for(std::time::Duration::from_secs(5), || {
                self.login().0.then_some(())
            })
            .unwrap_or_else(|| panic!("login after {fix}: {}", sshd.log()));
            return;
        }
        let (edit, reload) = fix
            .split_once(" && systemctl reload ")
            .or_else(|| fix.split_once(" && systemctl restart "))
            .unwrap_or_else(|| panic!("not an edit and a reload: {fix}"));
        assert!(!reload.is_empty(), "{fix}");
        super::accounts::sh(edit);
        super::accounts::sh(&format!("kill -HUP {}", sshd.pid()));
        super::wait_for(std::time::Duration::from_secs(5), || {
            self.login().0.then_some(())
        })
        .unwrap_or_else(|| panic!("login after {fix}: {}", sshd.log()));
    }

    /// `ssh USER@server true` from the client with alice's key (a terminal asked for
    /// with `tty`), as a person runs it: the client's output, whatever happened.
    pub fn ssh_as(&self, user: &str, tty: bool) -> std::process::Output {
        let mut command = self.client.command("ssh");
        if tty {
            command.arg("-tt");
        }
        command
            .args(["-F", "/dev/null", "-i", "/tmp/alice_key"])
            .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null"])
            .arg(format!("{user}@{SERVER}"))
            .arg("true")
            .output()
            .unwrap()
    }

    /// Asserts that alice logs in and the verdict finds nothing (exit 0); returns it.
    pub fn assert_healthy(&self, sshd: &Sshd) -> Value {
        let (logged_in, said) = self.login();
        assert!(logged_in, "login should work: {said}\n{}", sshd.log());
        let (verdict, code) = self.diagnose(sshd);
        assert_eq!((problems(&verdict), code), (vec![], 0), "{verdict:#}");
        verdict
    }

    /// The verdict for alice as `diagnose` gives it, with what sshd logged so far as the
    /// machine's only sshd log (/var/log/auth.log; the private system's /var/log is its
    /// own, and a journal under /run/log is hidden).
    pub fn diagnose_with_log(&self, sshd: &Sshd) -> (Value, i32) {
        let lines = super::as_auth_log(&sshd.log(), sshd.pid());
        std::fs::write("/var/log/auth.log", lines.join("\n") + "\n").unwrap();
        super::accounts::sh("if [ -d /run/log ]; then mount -t tmpfs tmpfs /run/log; fi");
        self.diagnose(sshd)
    }

    /// Asserts that alice's login fails and that the verdict is critical with `id` as its
    /// one problem; returns that finding.
    pub fn refused_with(&self, sshd: &Sshd, id: &str) -> Value {
        let (logged_in, said) = self.login();
        assert!(!logged_in, "login should fail: {said}");
        let (verdict, code) = self.diagnose(sshd);
        assert_eq!((problems(&verdict), code), (vec![id], 2), "{verdict:#}");
        only(&verdict, id).clone()
    }

    /// The verdict for alice, with the running sshd's own config, and the exit status.
    pub fn diagnose(&self, sshd: &Sshd) -> (Value, i32) {
        let config = sshd.config_path().display().to_string();
        self.server
            .diagnose_with_status(&["--user", "alice", "--config", &config])
    }

    /// `sshdoctor fix ARGS` for alice with the running sshd's config, its transactions
    /// in the private /tmp: the JSON report and the exit status.
    pub fn fix(&self, sshd: &Sshd, args: &[&str]) -> (Value, i32) {
        self.fix_with(Some(sshd), args, &[])
    }

    /// `sshdoctor fix ARGS` for alice, with `sshd`'s config when given (else the one the
    /// service manager's settings name), its transactions in the private /tmp, with
    /// `env` added to its environment.
    pub fn fix_with(
        &self,
        sshd: Option<&Sshd>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (Value, i32) {
        let config = sshd.map(|sshd| sshd.config_path().display().to_string());
        let mut all = vec![
            "fix", "--format", "json", "--imds", "never", "--user", "alice",
        ];
        if let Some(config) = &config {
            all.extend_from_slice(&["--config", config]);
        }
        all.extend_from_slice(&["--state-dir", FIX_STATE]);
        all.extend_from_slice(args);
        self.sshdoctor(&all, env)
    }

    /// Runs `command` (sh) on the VM's network, as Run Command would; panics with its
    /// output when it fails.
    pub fn on_vm(&self, command: &str) {
        let output = self
            .server
            .command("sh")
            .args(["-ec", command])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{command}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// alice's verdict as a person gets it where a service manager runs sshd: no
    /// --config, so the service's own settings decide.
    pub fn diagnose_service(&self) -> (Value, i32) {
        self.sshdoctor(
            &["--format", "json", "--imds", "never", "--user", "alice"],
            &[],
        )
    }

    /// `sshdoctor fix --apply` for alice where a service manager runs sshd (no
    /// --config), as JSON, and the exit status.
    pub fn fix_service(&self) -> (Value, i32) {
        self.fix_with(None, &["--apply"], &[])
    }

    /// `sshdoctor undo ARGS`, as JSON, and the exit status.
    pub fn undo(&self, args: &[&str]) -> (Value, i32) {
        let mut all = vec!["undo", "--format", "json", "--state-dir", FIX_STATE];
        all.extend_from_slice(args);
        self.sshdoctor(&all, &[])
    }

    /// The real binary on the VM with `args` and extra environment, its JSON output
    /// and exit status.
    pub fn sshdoctor(&self, args: &[&str], env: &[(&str, &str)]) -> (Value, i32) {
        let output = self
            .server
            .command(super::sshdoctor_exe())
            .args(args)
            .envs(env.iter().copied())
            .output()
            .expect("ip netns exec runs");
        let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
            panic!(
                "no JSON from {args:?} ({err}): {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (report, output.status.code().expect("exited, not killed"))
    }
}

/// Where the tests' fix transactions are kept: the private system's /tmp.
pub const FIX_STATE: &str = "/tmp/sshdoctor-fix";
