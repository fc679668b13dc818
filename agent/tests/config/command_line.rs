//! Options on sshd's command line, which sshd reads before its config file: the unit's
//! ExecStart with its $VARIABLES, from Environment= and EnvironmentFile= (Debian's
//! /etc/default/ssh), expanded as systemd does. A real sshd started with them is the
//! ground truth; a fake systemd on a private bus says how the unit starts it.

use crate::support;
use support::accounts::{in_private_system, ALICE};
use support::dbus::{FakeSystemd, FakeUnit, TestBus};
use support::verdict::{only, problems};
use support::vm_net::VmNet;
use support::Sshd;

const NEEDS_ROOT: &str =
    "throw-away accounts in a private mount namespace and a real sshd on its own network need root";

/// /etc/default/ssh gives sshd "-o AllowUsers=bob" through $SSHD_OPTS: sshd_config lets
/// alice in, the running sshd does not. The verdict must say so, and name where the
/// option is written, not propose an edit of the config file.
#[test]
fn an_option_from_the_units_environment_file_decides_the_verdict() {
    if !support::requires_root(NEEDS_ROOT)
        || !support::requires_program("dbus-daemon", "a private bus for the fake systemd")
    {
        return;
    }
    let setup = format!(
        "{ALICE}; printf '# Options to pass to sshd\\nSSHD_OPTS=\"-o AllowUsers=bob\"\\n' > /etc/default/ssh"
    );
    // The fake systemd connects to the bus from a thread outside the private system:
    // zbus's own thread, started with the first connection, would otherwise live on in
    // that mount namespace. The socket is under /run, which the private system shares.
    let bus = TestBus::start_in(std::path::Path::new("/run"));
    let (unit_sender, unit_receiver) = std::sync::mpsc::channel::<FakeUnit>();
    let (ready_sender, ready_receiver) = std::sync::mpsc::channel::<()>();
    let (done_sender, done_receiver) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let bus = &bus;
        scope.spawn(move || {
            let unit = unit_receiver.recv().unwrap();
            let _systemd = FakeSystemd::serve(bus, "252", vec![unit]);
            ready_sender.send(()).unwrap();
            let _ = done_receiver.recv();
        });
        in_private_system(&setup, move || {
            let network = VmNet::new();
            let config = [
                "Include /etc/ssh/sshd_config.d/*.conf",
                "StrictModes yes",
                "PasswordAuthentication no",
            ];
            let sshd =
                Sshd::start_with_args(&network.server, 22, &config, &["-o", "AllowUsers=bob"]);
            let (logged_in, said) = network.login();
            assert!(!logged_in, "AllowUsers=bob keeps alice out: {said}");
            let config_path = sshd.config_path().display().to_string();
            unit_sender
                .send(FakeUnit {
                    names: vec!["ssh.service".into(), "sshd.service".into()],
                    active_state: "active".into(),
                    sub_state: "running".into(),
                    unit_file_state: "enabled".into(),
                    main_pid: sshd.pid(),
                    exec_start: vec![["/usr/sbin/sshd", "-D", "-f", &config_path, "$SSHD_OPTS"]
                        .iter()
                        .map(|word| word.to_string())
                        .collect()],
                    environment_files: vec![("/etc/default/ssh".into(), true)],
                    ..FakeUnit::new("ssh.service")
                })
                .unwrap();
            ready_receiver.recv().unwrap();
            judged_with_the_command_line(&network, &sshd, &bus.address, &config_path);
            done_sender.send(()).unwrap();
        });
    });
}

/// The verdict with the fake systemd at `bus`: the option, where it is written, and a
/// fix that lets alice in.
fn judged_with_the_command_line(network: &VmNet, sshd: &Sshd, bus: &str, config_path: &str) {
    let (verdict, code) = network.sshdoctor(
        &["--format", "json", "--imds", "never", "--user", "alice"],
        &[("DBUS_SYSTEM_BUS_ADDRESS", bus)],
    );
    let config = &verdict["facts"]["config"];
    assert_eq!(
        config["command_line"],
        serde_json::json!([{
            "args": ["-o", "AllowUsers=bob"],
            "origin": "$SSHD_OPTS from /etc/default/ssh"
        }]),
        "{config:#}"
    );
    let asked = config["syntax_check"]["command"].as_array().unwrap();
    assert_eq!(asked[asked.len() - 2..], ["-o", "AllowUsers=bob"]);
    assert_eq!(
        (problems(&verdict), code),
        (vec!["SSH-ACL-001"], 2),
        "{verdict:#}"
    );
    let refused = only(&verdict, "SSH-ACL-001");
    let evidence = refused["evidence"].to_string();
    assert!(
        evidence.contains("$SSHD_OPTS from /etc/default/ssh"),
        "{evidence}"
    );
    // sshd adds every AllowUsers to the list, wherever it is written: a drop-in
    // lets alice in beside the command line's bob; no line of the config is edited.
    let fix = refused["remediation"]["guest"][0].as_str().unwrap();
    assert!(!fix.contains(config_path), "{fix}");
    assert!(
        fix.starts_with("echo 'AllowUsers alice' > /etc/ssh/sshd_config.d/"),
        "{fix}"
    );
    network.apply_reload_fix(sshd, fix);
}

/// sshd_config includes a drop-in first (as Debian's does) whose PubkeyAuthentication no
/// is in cloud-init's file, then says PubkeyAuthentication yes itself: sshd keeps the
/// first, alice's key is refused, and the verdict names the line that counts and who
/// wrote it. Commenting that line out, as printed, lets her in.
#[test]
fn a_later_line_that_sshd_ignores_is_named_with_the_one_that_counts() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; mkdir -p /etc/ssh/sshdoctor.d; \
         echo 'PubkeyAuthentication no' > /etc/ssh/sshdoctor.d/50-cloud-init.conf"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[
            "Include /etc/ssh/sshdoctor.d/*.conf",
            "PubkeyAuthentication yes",
        ]);
        assert!(!network.login().0, "the drop-in's value counts");
        let (verdict, _) = network.diagnose(&sshd);
        let effective =
            &verdict["facts"]["config"]["effective"]["settings"]["pubkeyauthentication"];
        assert_eq!(effective, &serde_json::json!(["no"]), "the real sshd -T");
        let shadowed = only(&verdict, "SSH-CFG-007");
        let config = sshd.config_path().display().to_string();
        let line = support::line_number(&config, "PubkeyAuthentication yes");
        assert_eq!(
            shadowed["title"],
            format!(
                "pubkeyauthentication yes at {config}:{line} has no effect: /etc/ssh/sshdoctor.d/50-cloud-init.conf:1 (written by cloud-init) set it first to no"
            )
        );
        let fix = shadowed["remediation"]["guest"][0].as_str().unwrap();
        network.apply_reload_fix(&sshd, fix);
    });
}

/// RHEL 9's layout: sshd_config.d/50-redhat.conf includes the crypto policy's back-end,
/// which sets PubkeyAcceptedAlgorithms before the main file's own line: that line does
/// nothing, and the verdict says the system crypto policy set the value first. The real
/// sshd -T agrees on the value.
#[test]
fn the_crypto_policy_sets_the_algorithms_before_a_later_line() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let policy = "/etc/crypto-policies/back-ends/opensshserver.config";
    let setup = format!(
        "{ALICE}; mkdir -p /etc/crypto-policies/back-ends /etc/ssh/sshdoctor.d; \
         printf 'Ciphers aes256-gcm@openssh.com,aes256-ctr\\nPubkeyAcceptedAlgorithms ssh-ed25519,rsa-sha2-512\\n' > {policy}; \
         printf 'Include {policy}\\n' > /etc/ssh/sshdoctor.d/50-redhat.conf"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[
            "Include /etc/ssh/sshdoctor.d/*.conf",
            "PubkeyAcceptedAlgorithms ecdsa-sha2-nistp256",
        ]);
        let (verdict, _) = network.diagnose(&sshd);
        let effective =
            &verdict["facts"]["config"]["effective"]["settings"]["pubkeyacceptedalgorithms"];
        assert_eq!(effective, &serde_json::json!(["ssh-ed25519,rsa-sha2-512"]));
        let shadowed = only(&verdict, "SSH-CFG-007");
        assert!(
            shadowed["title"]
                .as_str()
                .unwrap()
                .ends_with(&format!("has no effect: {policy}:2 (the system crypto policy) set it first to ssh-ed25519,rsa-sha2-512")),
            "{shadowed:#}"
        );
        // alice's ed25519 key is in the policy's list: she logs in all the same.
        assert!(network.login().0);
    });
}
