//! sshd's prerequisites on real files: each test builds a private /etc/ssh (fresh host
//! keys from `ssh-keygen -A`), /run or /etc/passwd in its own mount namespace, breaks it
//! the way VMs break, and runs the real binary there.

use crate::support;

use support::accounts::{in_private_system, ALICE};
use support::mount_ns::diagnose_after;
use support::verdict::{findings_with, first_command, ids_in_families, only, problems};
use support::vm_net::VmNet;

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str =
    "a private /etc/ssh and /run in a mount namespace (unshare --mount) need root";

/// A private copy of /etc/ssh with freshly generated default host keys, mounted over the
/// real one, and a private /run with a correct privsep directory; then `breakage`.
fn diagnose_with_private_etc_ssh(breakage: &str) -> serde_json::Value {
    diagnose_with_private_etc_ssh_and(breakage, &["--no-sshd-run"])
}

fn diagnose_with_private_etc_ssh_and(breakage: &str, args: &[&str]) -> serde_json::Value {
    let setup = format!(
        "root=$(mktemp -d); mkdir -p $root/etc/ssh; ssh-keygen -q -A -f $root >/dev/null; \
         cp /etc/ssh/sshd_config $root/etc/ssh/; mount --bind $root/etc/ssh /etc/ssh; \
         mount -t tmpfs tmpfs /run; mkdir -m 0755 /run/sshd; {breakage}"
    );
    diagnose_after(&setup, args)
}

const FAMILIES: &[&str] = &["SSH-KEY", "SSH-PRV", "SSH-ETC"];

#[test]
fn intact_prerequisites_raise_nothing() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_with_private_etc_ssh("true");
    assert!(
        ids_in_families(&verdict, FAMILIES).is_empty(),
        "{verdict:#}"
    );
    let keys = verdict["facts"]["prereqs"]["host_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3, "the three default keys");
    assert!(keys
        .iter()
        .all(|key| key["private"]["mode"] == 0o600 && key["public_exists"] == true));
    assert_eq!(
        verdict["facts"]["prereqs"]["privsep_dir"]["path"],
        "/run/sshd"
    );
    assert_eq!(
        verdict["facts"]["prereqs"]["privsep_dir_source"],
        "compiled into /usr/sbin/sshd"
    );
}

#[test]
fn world_readable_host_keys_leave_sshd_without_any() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_with_private_etc_ssh("chmod 0644 /etc/ssh/ssh_host_*_key");
    let found = findings_with(&verdict, "SSH-KEY-001");
    assert_eq!(found.len(), 1, "{verdict:#}");
    assert_eq!(found[0]["severity"], "critical");
    let evidence = found[0]["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 3);
    assert!(
        evidence[0]["fact"]
            .as_str()
            .unwrap()
            .ends_with("is readable by group or others (mode 0644): sshd ignores it"),
        "{evidence:?}"
    );
    assert_eq!(verdict["status"], "critical");
}

#[test]
fn one_missing_key_is_a_warning_naming_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_with_private_etc_ssh("rm /etc/ssh/ssh_host_ed25519_key");
    assert_eq!(
        ids_in_families(&verdict, FAMILIES),
        ["SSH-KEY-002"],
        "{verdict:#}"
    );
    let found = findings_with(&verdict, "SSH-KEY-002");
    assert_eq!(
        found[0]["title"],
        "Host key /etc/ssh/ssh_host_ed25519_key is missing"
    );
}

#[test]
fn config_writable_by_others_is_flagged() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_with_private_etc_ssh(
        "chmod 0666 /etc/ssh/sshd_config; chown 1000 /etc/ssh/ssh_host_rsa_key.pub",
    );
    let found = findings_with(&verdict, "SSH-ETC-001");
    let titles: Vec<&str> = found
        .iter()
        .map(|finding| finding["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "/etc/ssh/ssh_host_rsa_key.pub is owned by uid 1000, not root",
            "/etc/ssh/sshd_config is writable by group or others (mode 0666)",
        ]
    );
}

/// Nothing makes the privilege separation directory before sshd starts: the private /run
/// hides the system bus, so systemd cannot be asked, and /etc/init.d is empty (Debian's
/// init script would make it). Where systemd is PID 1 its unit recreates the directory
/// on start (no finding; see the rules tests).
const NOTHING_MAKES_RUN_SSHD: &str = "rmdir /run/sshd; mount -t tmpfs tmpfs /etc/init.d";

#[test]
fn missing_privsep_dir_without_systemd_is_critical() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_with_private_etc_ssh(NOTHING_MAKES_RUN_SSHD);
    assert_eq!(verdict["facts"]["systemd"]["reachable"], false);
    let found = findings_with(&verdict, "SSH-PRV-001");
    if verdict["facts"]["host"]["pid1_comm"] == "systemd" {
        assert!(found.is_empty(), "{verdict:#}");
        return;
    }
    assert_eq!(found.len(), 1, "{verdict:#}");
    assert_eq!(
        found[0]["title"],
        "sshd's privilege-separation directory /run/sshd is missing"
    );
    assert_eq!(
        found[0]["remediation"]["guest"][0],
        "install -d -m 0755 -o root -g root /run/sshd"
    );
}

/// ssh.service stopped: systemd has removed /run/sshd, and sshd -T refuses to run
/// without it. The config is still judged, and the directory is still missing after.
#[test]
fn sshd_judges_the_config_while_the_privsep_dir_is_missing() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    // A Match block: per-user settings need `sshd -T -C user=root` as well.
    let verdict = diagnose_with_private_etc_ssh_and(
        &format!(
            "{NOTHING_MAKES_RUN_SSHD}; \
             printf 'Port 2222\\nMatch User nobody\\n  PasswordAuthentication no\\n' \
             >> /etc/ssh/sshd_config"
        ),
        &["--user", "root"],
    );
    let config = &verdict["facts"]["config"];
    assert_eq!(config["syntax_check"]["exit_code"], 0, "{config:#}");
    assert_eq!(config["syntax_check"]["privsep_stand_in"], "/run/sshd");
    assert_eq!(config["effective"]["ports"][0], 2222, "{config:#}");
    // Per-user settings come from sshd too, not the parser's stand-in values.
    let root = &verdict["facts"]["auth"]["users"][0]["settings"];
    assert_eq!(root["source"], "sshd_t", "{root:#}");
    assert!(root["command"]
        .as_str()
        .unwrap()
        .starts_with("sshd -T -C user=root"));
    let auth_notes = verdict["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|probe| probe["name"] == "auth")
        .unwrap()["notes"]
        .to_string();
    assert!(!auth_notes.contains("failed"), "{auth_notes}");
    // The stand-in lived in sshd's own mount namespace: the directory is still missing.
    assert_eq!(verdict["facts"]["prereqs"]["privsep_dir"]["exists"], false);
    assert_eq!(
        findings_with(&verdict, "SSH-PRV-001").len(),
        1,
        "{verdict:#}"
    );
}

#[test]
fn world_writable_privsep_dir_is_critical() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_with_private_etc_ssh("chmod 0777 /run/sshd");
    let found = findings_with(&verdict, "SSH-PRV-002");
    assert_eq!(found.len(), 1, "{verdict:#}");
    assert_eq!(
        found[0]["title"],
        "sshd's privilege-separation directory /run/sshd is writable by group or others (mode 0777)"
    );
}

#[test]
fn missing_privsep_user_is_critical() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_with_private_etc_ssh(
        "grep -v '^sshd:' /etc/passwd > /run/passwd; mount --bind /run/passwd /etc/passwd",
    );
    let found = findings_with(&verdict, "SSH-PRV-003");
    assert_eq!(found.len(), 1, "{verdict:#}");
    assert_eq!(
        found[0]["title"],
        "The privilege-separation user sshd does not exist"
    );
}

/// The only host key overwritten with garbage, mode and owner intact: OpenSSH 9.2 loads
/// host keys again for every connection, so alice's real login fails at once. The key
/// is critical, named with what OpenSSH's loader said, and the printed fix (move it
/// aside, generate a new one, sshd -t, SIGHUP) lets her in; `ssh-keygen -A` would not
/// have.
#[test]
fn a_corrupt_host_key_is_named_and_the_printed_fix_regenerates_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        let config = std::fs::read_to_string(sshd.config_path()).unwrap();
        let key = config
            .lines()
            .find_map(|line| line.strip_prefix("HostKey "))
            .unwrap()
            .to_string();
        std::fs::write(&key, "this is not a key\n").unwrap();
        let (logged_in, said) = network.login();
        assert!(!logged_in, "{said}");
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(
            (problems(&verdict), code),
            (vec!["SSH-KEY-003"], 2),
            "{verdict:#}"
        );
        let corrupt = only(&verdict, "SSH-KEY-003");
        assert!(
            corrupt["title"]
                .as_str()
                .unwrap()
                .starts_with(&format!("Host key {key} cannot be loaded: Load key")),
            "{corrupt:#}"
        );
        let fix = first_command(corrupt);
        assert_eq!(
            fix,
            format!(
                "mv {key} {key}.broken && ssh-keygen -q -N '' -t ed25519 -f {key} \
                 && /usr/sbin/sshd -t -f {} && kill -HUP {}",
                sshd.config_path().display(),
                sshd.pid()
            )
        );
        network.apply_reload_fix(&sshd, fix);
        network.assert_healthy(&sshd);
    });
}

/// `--sshd` names the sshd examined, once for every collector and rule: with the
/// installed binary hidden and a working copy given, nothing says "not installed", the
/// privsep directory comes from the copy, and the prerequisite and authentication rules
/// still judge (a world-readable host key, a world-writable ~/.ssh).
#[test]
fn a_given_sshd_is_the_one_examined_when_the_installed_one_is_hidden() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{}; {ALICE}; chmod 0777 /home/alice/.ssh; \
         mkdir /tmp/opt; cp /usr/sbin/sshd /tmp/opt/sshd; mount --bind /dev/null /usr/sbin/sshd; \
         chmod 0644 /etc/ssh/ssh_host_ed25519_key",
        support::accounts::PRIVATE_SYSTEM
    );
    let verdict = diagnose_after(
        &setup,
        &["--sshd", "/tmp/opt/sshd", "--user", "alice", "--no-probe"],
    );
    assert!(
        findings_with(&verdict, "SSH-PKG-001").is_empty(),
        "{verdict:#}"
    );
    assert_eq!(verdict["facts"]["sshd"]["binary"], "/tmp/opt/sshd");
    assert_eq!(verdict["facts"]["sshd"]["source"], "given");
    assert_eq!(verdict["host"]["sshd_binary"], "/tmp/opt/sshd");
    assert_eq!(
        verdict["facts"]["prereqs"]["privsep_dir_source"],
        "compiled into /tmp/opt/sshd"
    );
    assert_eq!(
        verdict["facts"]["config"]["syntax_check"]["command"][0],
        "/tmp/opt/sshd"
    );
    assert_eq!(
        findings_with(&verdict, "SSH-KEY-002").len(),
        1,
        "{verdict:#}"
    );
    assert_eq!(
        findings_with(&verdict, "SSH-AKF-001").len(),
        1,
        "{verdict:#}"
    );
}

/// Host keys 0640 root:ssh_keys, as RHEL's sshd-keygen makes them: RHEL's sshd reads
/// them, Debian's refuses them. The verdict follows the sshd it examines (this one has
/// no ssh_keys in its build), and the real sshd -T agrees.
#[test]
fn host_keys_for_the_ssh_keys_group_are_judged_by_this_sshd() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_with_private_etc_ssh_and(
        "cp /etc/group /run/group; echo 'ssh_keys:x:990:' >> /run/group; \
         mount --bind /run/group /etc/group; \
         chgrp ssh_keys /etc/ssh/ssh_host_*_key; chmod 0640 /etc/ssh/ssh_host_*_key",
        &[],
    );
    assert_eq!(verdict["facts"]["sshd"]["accepts_ssh_keys_group"], false);
    let found = findings_with(&verdict, "SSH-KEY-001");
    assert_eq!(found.len(), 1, "{verdict:#}");
    let stderr = verdict["facts"]["config"]["syntax_check"]["stderr"]
        .as_str()
        .unwrap_or_default();
    assert!(
        stderr.contains("UNPROTECTED PRIVATE KEY FILE") || stderr.contains("no hostkeys available"),
        "the real sshd refuses them: {stderr}"
    );
}
