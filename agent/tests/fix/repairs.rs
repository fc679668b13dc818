//! Each break: alice cannot log in; the plan names the repair and changes nothing;
//! `fix --apply` repairs it and she logs in; `undo` puts the break back exactly and she
//! cannot.

use super::{commands, expect, login_once_listening, repaired_then_undone, snapshot, NEEDS_ROOT};
use crate::support;
use support::accounts::{in_private_system, ALICE};
use support::vm_net::{VmNet, FIX_STATE};

#[test]
fn a_world_writable_ssh_directory_is_repaired_and_undone() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(&format!("{ALICE}; chmod 777 /home/alice/.ssh"), || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        repaired_then_undone(
            &network,
            &sshd,
            &["chmod 700 /home/alice/.ssh"],
            &["/home/alice/.ssh"],
        );
    });
}

#[test]
fn a_keys_file_owned_by_another_user_gets_its_owner_back_and_undo_returns_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!("{ALICE}; chown nobody /home/alice/.ssh/authorized_keys");
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        repaired_then_undone(
            &network,
            &sshd,
            &[
                "chown alice: /home/alice/.ssh/authorized_keys",
                "chmod 600 /home/alice/.ssh/authorized_keys",
            ],
            &["/home/alice/.ssh/authorized_keys"],
        );
    });
}

#[test]
fn nologin_is_removed_and_undo_brings_it_back_byte_for_byte() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!("{ALICE}; printf 'Back at 6.\\n' > /etc/nologin; chmod 640 /etc/nologin");
    super::repaired_without_pam(&setup, &["rm -f /etc/nologin"], &["/etc/nologin"]);
}

#[test]
fn an_expired_account_never_expires_after_the_fix_and_expires_again_after_undo() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    super::repaired_without_pam(
        &format!("{ALICE}; chage -E 1 alice"),
        &["chage -E -1 alice"],
        &["/etc/shadow"],
    );
}

/// A repair that does not hold (here a chage that does nothing) is found out by the
/// diagnosis after it and put back by itself: the report says why, exit 2.
#[test]
fn a_fix_that_does_not_hold_is_rolled_back_by_itself() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; chage -E 1 alice; mkdir /tmp/bin; printf '#!/bin/sh\\nexit 0\\n' > /tmp/bin/chage; \
         chmod 755 /tmp/bin/chage"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        let shadow = snapshot("/etc/shadow");
        let report = expect(
            network.fix_with(
                Some(&sshd),
                &["--apply"],
                &[("PATH", "/tmp/bin:/usr/sbin:/usr/bin:/sbin:/bin")],
            ),
            "rolled_back",
            2,
        );
        let why = report["why"].as_str().unwrap();
        assert!(
            why.starts_with("still found after the fix: SSH-USR-003"),
            "{why}"
        );
        assert_eq!(report["steps"][0]["outcome"], "reversed", "{report:#}");
        assert_eq!(snapshot("/etc/shadow"), shadow);
        assert!(!network.login().0);
        let (listed, _) = network.undo(&["--list"]);
        assert_eq!(listed[0]["state"], "rolled_back", "{listed:#}");
    });
}

/// Killed in the middle (SIGKILL while its chage runs, after two steps are done), the
/// transaction is left "applying" with every prior state recorded, and `undo` puts all
/// of it back: the keys file's owner and mode, the account's expiry.
#[test]
fn a_fix_killed_midway_is_put_back_by_undo() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; chown nobody /home/alice/.ssh/authorized_keys; chmod 644 /home/alice/.ssh/authorized_keys; \
         chage -E 1 alice; mkdir /tmp/bin; \
         printf '#!/bin/sh\\necho $$ > /tmp/chage.pid\\nexec sleep 60\\n' > /tmp/bin/chage; \
         chmod 755 /tmp/bin/chage"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        let broken = ["/home/alice/.ssh/authorized_keys", "/etc/shadow"];
        let before: Vec<_> = broken.iter().map(|path| snapshot(path)).collect();
        let config = sshd.config_path().display().to_string();
        let mut fixing = network
            .server
            .command(support::sshdoctor_exe())
            .args(["fix", "--apply", "--format", "json", "--imds", "never"])
            .args([
                "--user",
                "alice",
                "--config",
                &config,
                "--state-dir",
                FIX_STATE,
            ])
            .env("PATH", "/tmp/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let chage = support::wait_for(std::time::Duration::from_secs(20), || {
            std::fs::read_to_string("/tmp/chage.pid").ok()
        })
        .expect("the fix reached its chage step");
        fixing.kill().unwrap();
        fixing.wait().unwrap();
        let _ = std::process::Command::new("kill")
            .arg(chage.trim())
            .status();

        let (listed, _) = network.undo(&["--list"]);
        assert_eq!(listed[0]["state"], "applying", "{listed:#}");
        let states: Vec<&str> = listed[0]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|step| step["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["done", "done", "started"], "{listed:#}");
        assert_ne!(snapshot(broken[0]), before[0], "the first steps were done");

        expect(network.undo(&[]), "undone", 0);
        let after: Vec<_> = broken.iter().map(|path| snapshot(path)).collect();
        assert_eq!(after, before, "undo did not put everything back");
        assert!(!network.login().0);
    });
}

/// An AllowUsers line that leaves alice out gets her name at its end; undo takes it
/// off again.
#[test]
fn an_allow_line_gets_the_user_and_undo_takes_it_off() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["AllowUsers bob root"]);
        let config = sshd.config_path().display().to_string();
        let line = support::line_number(&config, "AllowUsers bob root");
        repaired_then_undone(
            &network,
            &sshd,
            &[
                &format!("sed -i '{line}s/.*/& alice/' {config}"),
                &format!("/usr/sbin/sshd -t -f {config} && kill -HUP {}", sshd.pid()),
            ],
            &[&config],
        );
    });
}

/// A DenyUsers line refuses alice: the fix comments it out and, sshd running outside
/// systemd, sends it SIGHUP after `sshd -t`; undo puts the line back and sends another.
#[test]
fn a_deny_line_is_commented_out_sshd_reloaded_and_undo_denies_again() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    super::setting_commented_out_and_undone("DenyUsers alice");
}

/// alice has no ~/.ssh at all: `fix --add-key` makes the directory and the file sshd
/// reads for her, with her key once (a second run adds nothing), and the key query after
/// it proves sshd takes the key; undo removes both, and she is kept out again.
#[test]
fn a_key_is_added_where_sshd_reads_it_and_undo_takes_it_away() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(&format!("{ALICE}; rm -r /home/alice/.ssh"), || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        assert!(!network.login().0);
        let key = std::fs::read_to_string("/tmp/alice_key.pub").unwrap();
        let key = key.trim();
        let add = ["--add-key", "alice", key];

        let plan = expect(network.fix(&sshd, &add), "planned", 0);
        assert_eq!(
            commands(&plan)[0],
            "install -d -m 0700 -o alice -g alice /home/alice/.ssh"
        );
        assert!(!std::path::Path::new("/home/alice/.ssh").exists());

        let apply = [&["--apply"][..], &add].concat();
        expect(network.fix(&sshd, &apply), "applied", 0);
        assert!(network.login().0, "{}", sshd.log());
        let keys = "/home/alice/.ssh/authorized_keys";
        assert_eq!(std::fs::read_to_string(keys).unwrap(), format!("{key}\n"));
        assert_eq!(snapshot(keys).0, 0o600);
        assert_eq!(snapshot("/home/alice/.ssh").0, 0o700);

        expect(network.fix(&sshd, &apply), "applied", 0);
        assert_eq!(std::fs::read_to_string(keys).unwrap(), format!("{key}\n"));

        let (undone, _) = network.undo(&[]);
        assert_eq!(undone["outcome"], "undone", "{undone:#}");
        let (undone, _) = network.undo(&[]);
        assert_eq!(undone["outcome"], "undone", "{undone:#}");
        assert!(!std::path::Path::new("/home/alice/.ssh").exists());
        assert!(!network.login().0);
    });
}

/// A config that turns public keys off: `fix --reset-config` writes Debian's pristine
/// sshd_config over it and has the running sshd read it (SIGHUP: no systemd here), and
/// alice logs in; undo puts the old config back byte for byte, and she is refused again.
#[test]
fn reset_config_writes_the_pristine_config_and_undo_the_old_one() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["PubkeyAuthentication no"]);
        let config = sshd.config_path().display().to_string();
        let before = snapshot(&config);
        assert!(!network.login().0);

        let applied = expect(
            network.fix(&sshd, &["--reset-config", "--apply"]),
            "applied",
            0,
        );
        assert_eq!(
            commands(&applied)[1],
            format!("/usr/sbin/sshd -t -f {config} && kill -HUP {}", sshd.pid())
        );
        assert_eq!(
            std::fs::read(&config).unwrap(),
            std::fs::read("/usr/share/openssh/sshd_config").unwrap()
        );
        assert!(network.login().0, "{}", sshd.log());

        let (undone, _) = network.undo(&[]);
        assert_eq!(undone["outcome"], "undone", "{undone:#}");
        assert_eq!(snapshot(&config), before);
        assert!(!login_once_listening(&network).0);
    });
}

/// One of sshd's two host keys is readable by others, so sshd skips it (a warning: the
/// other key serves). The fix gives it 0600 and restarts sshd (SIGHUP here), and the
/// diagnosis after it no longer finds it; alice logs in throughout; undo puts 0644 back.
#[test]
fn a_host_key_readable_by_others_gets_its_mode_and_sshd_restarts() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; ssh-keygen -q -t ecdsa -N '' -f /tmp/extra_host_key; chmod 644 /tmp/extra_host_key"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["HostKey /tmp/extra_host_key"]);
        let before = snapshot("/tmp/extra_host_key");
        let (plan, _) = network.fix(&sshd, &[]);
        assert_eq!(plan["steps"][0]["finding"], "SSH-KEY-002", "{plan:#}");
        assert_eq!(commands(&plan)[0], "chmod 0600 /tmp/extra_host_key");

        expect(network.fix(&sshd, &["--apply"]), "applied", 0);
        assert_eq!(snapshot("/tmp/extra_host_key").0, 0o600);
        assert!(network.login().0, "{}", sshd.log());
        let (verdict, _) = network.diagnose(&sshd);
        assert!(support::verdict::findings_with(&verdict, "SSH-KEY-002").is_empty());

        let (undone, _) = network.undo(&[]);
        assert_eq!(undone["outcome"], "undone", "{undone:#}");
        assert_eq!(snapshot("/tmp/extra_host_key"), before);
    });
}

/// The only host key overwritten with garbage (OpenSSH 9.2 loads it for every
/// connection, so every login fails): the fix moves it aside, makes a new ed25519 key in
/// its place, checks the config and sends sshd SIGHUP; alice logs in. Undo puts the
/// garbage, its .pub and the absent .broken back exactly, and she is refused again.
#[test]
fn a_corrupt_host_key_is_made_anew_and_undo_puts_the_old_one_back() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        let config = sshd.config_path().display().to_string();
        let key = std::fs::read_to_string(&config)
            .unwrap()
            .lines()
            .find_map(|line| line.strip_prefix("HostKey "))
            .unwrap()
            .to_string();
        std::fs::write(&key, "this is not a key\n").unwrap();
        let public = format!("{key}.pub");
        let public_before = snapshot(&public);
        repaired_then_undone(
            &network,
            &sshd,
            &[
                &format!("mv {key} {key}.broken && ssh-keygen -q -N '' -t ed25519 -f {key}"),
                &format!("/usr/sbin/sshd -t -f {config} && kill -HUP {}", sshd.pid()),
            ],
            &[&key],
        );
        assert_eq!(snapshot(&public), public_before);
        assert!(!std::path::Path::new(&format!("{key}.broken")).exists());
    });
}

/// Every host key of the system gone (an image generalized with its keys deleted):
/// logins fail, as OpenSSH 9.2 loads the keys for each connection. The fix runs
/// `ssh-keygen -A`; undo removes the keys it made, and sshd, told to read them again,
/// has none.
#[test]
fn missing_system_host_keys_are_made_and_undo_removes_them() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd_with_system_keys(&[]);
        support::accounts::sh("rm -f /etc/ssh/ssh_host_*");
        let config = sshd.config_path().display().to_string();
        let (logged_in, said) = network.login();
        assert!(!logged_in, "{said}");
        let plan = expect(network.fix(&sshd, &[]), "planned", 0);
        assert_eq!(
            commands(&plan),
            [
                "ssh-keygen -A".to_string(),
                format!("/usr/sbin/sshd -t -f {config} && kill -HUP {}", sshd.pid()),
            ],
            "{plan:#}"
        );
        expect(network.fix(&sshd, &["--apply"]), "applied", 0);
        assert!(network.login().0, "{}", sshd.log());
        expect(network.undo(&[]), "undone", 0);
        let left = std::fs::read_dir("/etc/ssh")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with("ssh_host_"))
            .count();
        assert_eq!(left, 0, "undo left keys behind");
        assert!(!login_once_listening(&network).0);
    });
}

/// No systemd, no init script (the private /etc's init.d is emptied), and no sshd
/// running: the fix checks the config and starts sshd by hand (it daemonizes and writes
/// its pid file); undo stops that sshd, and the port is closed again.
#[test]
fn sshd_not_running_without_systemd_is_started_and_undo_stops_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; ssh-keygen -q -t ed25519 -N '' -f /tmp/host_key; \
         printf 'Port 22\\nHostKey /tmp/host_key\\nPidFile /tmp/sshd.pid\\nUsePAM no\\n\
         PasswordAuthentication no\\nKbdInteractiveAuthentication no\\n' > /tmp/sshd_config; \
         rm -f /etc/init.d/ssh /etc/init.d/sshd"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        // Whatever happens, the sshd the fix starts does not outlive the test.
        struct StopSshd;
        impl Drop for StopSshd {
            fn drop(&mut self) {
                if let Ok(pid) = std::fs::read_to_string("/tmp/sshd.pid") {
                    let _ = std::process::Command::new("kill").arg(pid.trim()).status();
                }
            }
        }
        let _stop = StopSshd;
        let (logged_in, said) = network.login();
        assert!(!logged_in && said.contains("refused"), "{said}");
        let fix_args = ["--config", "/tmp/sshd_config", "--state-dir", FIX_STATE];
        let run = |extra: &[&str]| {
            let mut args = vec![
                "fix", "--format", "json", "--imds", "never", "--user", "alice",
            ];
            args.extend_from_slice(&fix_args);
            args.extend_from_slice(extra);
            network.sshdoctor(&args, &[])
        };
        let plan = expect(run(&[]), "planned", 0);
        assert_eq!(
            commands(&plan),
            ["/usr/sbin/sshd -t -f /tmp/sshd_config && /usr/sbin/sshd -f /tmp/sshd_config"],
            "{plan:#}"
        );
        expect(run(&["--apply"]), "applied", 0);
        assert!(
            network.login().0,
            "alice logs in to the sshd the fix started"
        );
        expect(network.undo(&[]), "undone", 0);
        let stopped = support::wait_for(std::time::Duration::from_secs(5), || {
            let (logged_in, said) = network.login();
            (!logged_in && said.contains("refused")).then_some(())
        });
        assert!(stopped.is_some(), "undo did not stop the sshd it started");
    });
}

/// ~/.ssh made by root (mode 0700): sshd, reading as alice, cannot enter it. The
/// directory and the keys file are given back to her with sshd's modes; undo gives
/// the directory back to root.
#[test]
fn an_ssh_directory_root_made_is_given_back_and_undo_returns_it_to_root() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(
        &format!("{ALICE}; chown root:root /home/alice/.ssh"),
        || {
            let network = VmNet::new();
            let sshd = network.start_sshd(&[]);
            repaired_then_undone(
                &network,
                &sshd,
                &[
                    "chown alice: /home/alice/.ssh",
                    "chmod 700 /home/alice/.ssh",
                    "chown alice: /home/alice/.ssh/authorized_keys",
                    "chmod 600 /home/alice/.ssh/authorized_keys",
                ],
                &["/home/alice/.ssh", "/home/alice/.ssh/authorized_keys"],
            );
        },
    );
}

/// A locked account (UsePAM no: sshd refuses it, keys included) with a password hash
/// behind the "!": usermod -U gives it back, and undo locks it again.
#[test]
fn a_locked_account_with_a_password_is_unlocked_and_undo_locks_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!("{ALICE}; usermod -p '$6$salt$notarealhash' alice; usermod -L alice");
    super::repaired_without_pam(&setup, &["usermod -U alice"], &["/etc/shadow"]);
}

/// A locked account with no password behind the lock ("!*"): unlocked to "*" (keys, no
/// password), and undo puts "!*" back.
#[test]
fn a_locked_account_without_a_password_gets_a_star_and_undo_the_lock() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    super::repaired_without_pam(
        &format!("{ALICE}; usermod -L alice"),
        &["usermod -p '*' alice"],
        &["/etc/shadow"],
    );
}

/// The privilege-separation user gone from /etc/passwd: sshd, which looks it up for
/// each connection, refuses every login. The fix adds it back as a system user; undo
/// deletes it, and passwd, group and shadow are as they were.
#[test]
fn a_missing_privsep_user_is_added_and_undo_deletes_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        // sshd refuses to start without the user: it goes once sshd listens (from the
        // files: userdel refuses while any sshd's pre-auth child runs as that uid).
        let sshd = network.start_sshd(&[]);
        support::accounts::sh("sed -i '/^sshd:/d' /etc/passwd /etc/shadow");
        let config = sshd.config_path().display().to_string();
        repaired_then_undone(
            &network,
            &sshd,
            &[
                "useradd --system --no-create-home --home-dir /run/sshd --shell /usr/sbin/nologin sshd",
                &format!("/usr/sbin/sshd -t -f {config} && kill -HUP {}", sshd.pid()),
            ],
            &["/etc/passwd", "/etc/group", "/etc/shadow"],
        );
    });
}

/// The listening sshd stopped (SIGSTOP): the kernel completes handshakes, no banner
/// ever comes. The fix sends SIGCONT; undo stops it again.
#[test]
fn a_stopped_sshd_is_resumed_and_undo_stops_it_again() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        support::accounts::sh(&format!("kill -STOP {}", sshd.pid()));
        repaired_then_undone(
            &network,
            &sshd,
            &[&format!("kill -CONT {}", sshd.pid())],
            &[],
        );
        let state = std::fs::read_to_string(format!("/proc/{}/stat", sshd.pid())).unwrap();
        assert!(state.contains(" (sshd) T "), "{state}");
    });
}

/// RevokedKeys names a file that does not exist, so sshd refuses every key: the fix
/// makes it, empty (nothing revoked), and alice logs in; undo removes it again.
#[test]
fn a_missing_revoked_keys_file_is_made_empty_and_undo_removes_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["RevokedKeys /etc/ssh/sshdoctor-revoked"]);
        assert!(!network.login().0);
        let applied = expect(network.fix(&sshd, &["--apply"]), "applied", 0);
        assert_eq!(
            commands(&applied),
            ["install -D -m 644 /dev/null /etc/ssh/sshdoctor-revoked"]
        );
        assert_eq!(
            snapshot("/etc/ssh/sshdoctor-revoked"),
            (0o644, 0, 0, Vec::new())
        );
        assert!(network.login().0, "{}", sshd.log());
        let (undone, _) = network.undo(&[]);
        assert_eq!(undone["outcome"], "undone", "{undone:#}");
        assert!(!std::path::Path::new("/etc/ssh/sshdoctor-revoked").exists());
        assert!(!network.login().0);
    });
}

/// alice's shell does not exist, so sshd refuses her: the fix gives her the first of
/// bash and sh that /etc/shells lists, and undo gives the missing one back.
#[test]
fn a_missing_shell_is_replaced_by_a_listed_one_and_undo_restores_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(
        &format!("{ALICE}; usermod -s /bin/nonexistent alice"),
        || {
            let network = VmNet::new();
            let sshd = network.start_sshd(&[]);
            repaired_then_undone(
                &network,
                &sshd,
                &["usermod -s /bin/bash alice"],
                &["/etc/passwd"],
            );
        },
    );
}

/// alice's only key carries an expiry-time= that has passed, so sshd refuses it: the fix
/// takes that option (and its comma) off the line, keeping the others, and undo puts the
/// line back as it was.
#[test]
fn an_expired_key_option_is_taken_off_and_undo_puts_it_back() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let setup = format!(
        "{ALICE}; sed -i 's|^|no-pty,expiry-time=\"20200101\",no-agent-forwarding |' /home/alice/.ssh/authorized_keys"
    );
    super::repaired_without_pam(
        &setup,
        &["sed -i '1s|expiry-time=\"20200101\",||' /home/alice/.ssh/authorized_keys"],
        &["/home/alice/.ssh/authorized_keys"],
    );
}

/// alice's password is marked for change (last change 0): with PAM, pam_unix makes her
/// key login change it first, and without a terminal it fails. The fix counts the
/// password as changed today; undo marks it for change again.
#[test]
fn a_password_due_for_change_counts_as_changed_today_and_undo_marks_it_again() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let today = std::process::Command::new("date")
        .args(["-u", "+%F"])
        .output()
        .unwrap()
        .stdout;
    let today = String::from_utf8(today).unwrap();
    in_private_system(&format!("{ALICE}; chage -d 0 alice"), || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM yes"]);
        repaired_then_undone(
            &network,
            &sshd,
            &[&format!("chage -d {} alice", today.trim())],
            &["/etc/shadow"],
        );
    });
}

/// alice's keys come only from an AuthorizedKeysCommand whose program she owns: sshd
/// refuses to run it ("Unsafe AuthorizedKeysCommand") and she cannot log in. The fix
/// makes the program root's and not writable by others; undo gives it back to her.
#[test]
fn a_keys_command_owned_by_a_user_becomes_roots_and_undo_returns_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let program = "/etc/ssh/sshdoctor-keys";
    let setup = format!(
        "{ALICE}; printf '#!/bin/sh\\ncat /tmp/alice_key.pub\\n' > {program}; \
         chmod 775 {program}; chown alice {program}"
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[
            "UsePAM no",
            "AuthorizedKeysFile none",
            &format!("AuthorizedKeysCommand {program} %u"),
            "AuthorizedKeysCommandUser nobody",
        ]);
        repaired_then_undone(
            &network,
            &sshd,
            &[
                &format!("chown root:root {program}"),
                &format!("chmod go-w {program}"),
            ],
            &[program],
        );
    });
}

/// A finding with no safe repair (bob does not exist: only he has his key) stays in the
/// plan as a step for a person, with the reason, in the JSON and in the text.
#[test]
fn a_finding_without_a_repair_is_left_to_a_person_with_the_reason() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["UsePAM no"]);
        let config = sshd.config_path().display().to_string();
        let args = |format: &'static str| {
            let mut args = vec!["fix", "--imds", "never", "--user", "bob"];
            args.extend(["--config", &config, "--state-dir", FIX_STATE]);
            args.extend(["--format", format]);
            args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>()
        };
        let json: Vec<String> = args("json");
        let json: Vec<&str> = json.iter().map(String::as_str).collect();
        let (plan, code) = network.sshdoctor(&json, &[]);
        assert_eq!(code, 0, "{plan:#}");
        let manual = &plan["manual"][0];
        assert_eq!(manual["finding"], "SSH-USR-001", "{plan:#}");
        assert!(
            manual["why"].as_str().unwrap().contains("--add-key USER"),
            "{plan:#}"
        );
        let text = network
            .server
            .command(support::sshdoctor_exe())
            .args(args("text"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains("(by hand: it needs a public key only you have"),
            "{text}"
        );
    });
}
