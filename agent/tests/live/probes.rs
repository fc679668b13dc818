//! The live probes against a real sshd: a server network namespace (the VM, 192.0.2.1 on
//! eth0) and a client namespace beside it over a veth pair (192.0.2.2), with private
//! accounts in the test thread's own mount namespace. Ground truth is a real `ssh` login
//! from the client namespace: each break makes it fail, the verdict names the break, and
//! after the verdict's own fix the login works and the verdict is healthy again.

use crate::support;

use serde_json::Value;
use std::process::Command;
use support::accounts::{alice_login, in_private_system, sh, ALICE};
use support::verdict::{findings_with, ids, problems};
use support::vm_net::{VmNet, SERVER};
use support::Sshd;

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str = "a real sshd in network namespaces, with private accounts, needs root";

fn live(verdict: &Value) -> &Value {
    &verdict["facts"]["live"]
}

/// The SHA256 fingerprint of alice's key, as ssh-keygen prints it.
fn alice_fingerprint() -> String {
    let output = Command::new("ssh-keygen")
        .args(["-l", "-f", "/tmp/alice_key.pub"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

/// Asserts that alice logs in and the verdict is healthy with nothing found, and proven
/// too (status healthy, not unknown); returns the verdict.
fn assert_proven_healthy(network: &VmNet, sshd: &Sshd) -> Value {
    let verdict = network.assert_healthy(sshd);
    assert_eq!(verdict["status"], "healthy", "{verdict:#}");
    verdict
}

/// Healthy: sshd's banner and its acceptance of alice's key are recorded, the proof says
/// so, and the probes leave nothing behind in root's home.
#[test]
fn a_healthy_sshd_is_proven_by_its_banner_and_the_key_it_accepts() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        let verdict = assert_proven_healthy(&network, &sshd);
        let live = live(&verdict);
        let banners = live["banners"].as_array().unwrap();
        assert_eq!(
            banners.len(),
            1,
            "the IPv6 twin is not probed again: {live:#}"
        );
        assert_eq!(banners[0]["address"], "0.0.0.0");
        assert_eq!(banners[0]["target"], "127.0.0.1:22");
        assert_eq!(banners[0]["outcome"], "answered");
        assert!(banners[0]["banner"]
            .as_str()
            .unwrap()
            .starts_with("SSH-2.0-OpenSSH_"));
        assert!(banners[0]["source"]
            .as_str()
            .unwrap()
            .starts_with("127.115."));
        let queries = live["key_queries"].as_array().unwrap();
        assert_eq!(queries.len(), 1, "{live:#}");
        assert_eq!(queries[0]["user"], "alice");
        assert_eq!(queries[0]["outcome"], "accepted");
        assert_eq!(queries[0]["fingerprint"], alice_fingerprint());
        assert_eq!(queries[0]["keys_file"], "/home/alice/.ssh/authorized_keys");
        assert_eq!(verdict["proof"]["proven"], true);
        assert_eq!(verdict["proof"]["unproven"], serde_json::json!([]));
        // sshd saw the query come from the probe's own address, and no login.
        let source = queries[0]["source"].as_str().unwrap();
        // sshd logs the close a moment after the client has gone.
        let closed = format!("Connection closed by authenticating user alice {source}");
        let logged = support::wait_for(std::time::Duration::from_secs(5), || {
            sshd.log().contains(&closed).then_some(())
        });
        let log = sshd.log();
        assert!(logged.is_some(), "{log}");
        assert!(
            !log.contains("Accepted publickey for alice from 127.115"),
            "{log}"
        );
        let left = std::fs::read_dir("/root").unwrap().count();
        assert_eq!(left, 0, "the probes wrote into root's home");
    });
}

/// The listener stopped with SIGSTOP while a client waits: the kernel completes the
/// handshake and queues it, systemd would say running, and the tables look fine. The
/// verdict is critical and names the pid; its first command lets sshd run again.
#[test]
fn a_stopped_listener_is_critical_and_the_printed_fix_brings_the_login_back() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        assert_proven_healthy(&network, &sshd);
        sh(&format!("kill -STOP {}", sshd.pid()));
        let (logged_in, said) = network.login();
        assert!(!logged_in && said.contains("banner exchange"), "{said}");
        // A client still waiting in the accept queue.
        let waiting = network.client.run(|| {
            std::net::TcpStream::connect((SERVER, 22)).expect("the kernel accepts the handshake")
        });
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(code, 2, "{verdict:#}");
        assert_eq!(problems(&verdict), ["SSH-LIV-001"], "{verdict:#}");
        assert!(!ids(&verdict).contains(&"SSH-NET-010"), "{verdict:#}");
        let stopped = &findings_with(&verdict, "SSH-LIV-001")[0];
        let pid = sshd.pid();
        assert_eq!(
            stopped["title"],
            format!("sshd (pid {pid}) is stopped: it holds port 22 and answers no one")
        );
        let evidence: Vec<&str> = stopped["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|evidence| evidence["fact"].as_str().unwrap())
            .collect();
        assert!(
            evidence[0].starts_with(&format!("pid {pid} (")),
            "{evidence:?}"
        );
        assert!(evidence[0].contains("is stopped (T)"), "{evidence:?}");
        assert!(
            evidence.iter().any(
                |fact| fact.starts_with("connected to 127.0.0.1:22 from 127.115.")
                    && fact.contains(": connected; no banner after")
            ),
            "{evidence:?}"
        );
        let port = waiting.local_addr().unwrap().port();
        assert!(
            evidence.contains(
                &format!("192.0.2.2:{port} waits in the accept queue, never accepted").as_str()
            ),
            "{evidence:?}"
        );
        let probe = &live(&verdict)["banners"][0];
        assert_eq!(probe["outcome"], "banner_timeout");
        drop(waiting);
        // The fix, as printed.
        let fix = stopped["remediation"]["guest"][0].as_str().unwrap();
        assert_eq!(fix, format!("kill -CONT {pid}"));
        sh(fix);
        assert_proven_healthy(&network, &sshd);
    });
}

/// MaxStartups 3 and three connections that never authenticate: sshd closes every further
/// connection before its banner. The verdict names MaxStartups and its line.
#[test]
fn saturated_max_startups_closes_connections_and_is_named() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["MaxStartups 3"]);
        assert_proven_healthy(&network, &sshd);
        let held: Vec<std::net::TcpStream> = (0..3)
            .map(|_| {
                network.client.run(|| {
                    use std::io::Read;
                    let mut stream = std::net::TcpStream::connect((SERVER, 22)).unwrap();
                    let mut banner = [0u8; 4];
                    stream.read_exact(&mut banner).expect("banner");
                    stream
                })
            })
            .collect();
        let (logged_in, said) = network.login();
        assert!(!logged_in, "{said}");
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(code, 2, "{verdict:#}");
        let closing = findings_with(&verdict, "SSH-LIV-003");
        assert_eq!(closing.len(), 1, "{verdict:#}");
        let config = sshd.config_path().display().to_string();
        assert_eq!(
            closing[0]["title"],
            "sshd on 0.0.0.0:22 closes connections before its banner: MaxStartups: 3 connections are open and sshd admits 3 unauthenticated ones"
        );
        let line = 1 + std::fs::read_to_string(&config)
            .unwrap()
            .lines()
            .position(|line| line == "MaxStartups 3")
            .unwrap();
        let fix = closing[0]["remediation"]["guest"][0].as_str().unwrap();
        assert!(
            fix.starts_with(&format!(
                "sed -i '{line}s/.*/MaxStartups 10:30:100/' {config} && "
            )),
            "{fix}"
        );
        assert_eq!(
            live(&verdict)["banners"][0]["outcome"],
            "closed_before_banner"
        );
        network.apply_reload_fix(&sshd, fix);
        drop(held);
    });
}

/// TCP wrappers refusing everyone on Debian 12's libwrap sshd: the probe's connection is
/// closed before the banner, and the verdict points at the hosts.deny line.
#[test]
fn tcp_wrappers_refusing_loopback_are_named_with_the_line() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        assert_proven_healthy(&network, &sshd);
        sh("echo 'sshd: ALL' >> /etc/hosts.deny");
        let line = std::fs::read_to_string("/etc/hosts.deny")
            .unwrap()
            .lines()
            .count();
        assert!(!network.login().0);
        let (verdict, _) = network.diagnose(&sshd);
        let closing = findings_with(&verdict, "SSH-LIV-003");
        assert_eq!(closing.len(), 1, "{verdict:#}");
        assert_eq!(
            closing[0]["title"],
            format!("sshd on 0.0.0.0:22 closes connections before its banner: TCP wrappers refuse it (/etc/hosts.deny:{line}: sshd: ALL)")
        );
        sh(closing[0]["remediation"]["guest"][0].as_str().unwrap());
        assert_proven_healthy(&network, &sshd);
    });
}

/// PubkeyAcceptedAlgorithms without ed25519: the live sshd refuses alice's key, and the
/// static rule that names the setting explains it, so no unexplained-refusal finding.
#[test]
fn a_key_type_the_server_refuses_is_not_accepted_and_the_static_rule_names_it() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["PubkeyAcceptedAlgorithms -ssh-ed25519"]);
        assert!(!network.login().0);
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(code, 2, "{verdict:#}");
        let queries = live(&verdict)["key_queries"].as_array().unwrap();
        assert_eq!(queries[0]["outcome"], "not_accepted", "{verdict:#}");
        assert!(!ids(&verdict).contains(&"SSH-LIV-005"), "{verdict:#}");
        assert!(
            ids(&verdict)
                .iter()
                .any(|id| id.starts_with("SSH-AKF") || id.starts_with("SSH-USR")),
            "{verdict:#}"
        );
        assert_eq!(verdict["proof"]["proven"], false);
    });
}

/// A key limited by from= to the client's network: the login works from there, sshd
/// refuses it from loopback, and that is not a finding; it is said as not proven.
#[test]
fn a_key_limited_to_other_hosts_is_not_a_finding_but_is_not_proven() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let limited =
        format!("{ALICE}; sed -i 's/^/from=\"192.0.2.0\\/24\" /' /home/alice/.ssh/authorized_keys");
    in_private_system(&limited, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        let (logged_in, said) = network.login();
        assert!(logged_in, "{said}");
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(problems(&verdict), Vec::<&str>::new(), "{verdict:#}");
        let query = &live(&verdict)["key_queries"][0];
        assert_eq!(query["outcome"], "not_accepted");
        assert_eq!(query["from"], "192.0.2.0/24");
        assert_eq!((verdict["status"].as_str(), code), (Some("unknown"), 3));
        assert_eq!(
            verdict["proof"]["unproven"],
            serde_json::json!(["alice's keys are limited by from= to other addresses, so sshd cannot be asked about them from here"])
        );
    });
}

/// A revoked key (RevokedKeys): sshd refuses it, no static check models the revocation
/// list, and the verdict says so as critical instead of staying silent.
#[test]
fn a_refusal_no_rule_models_is_critical() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let revoked = format!("{ALICE}; cp /tmp/alice_key.pub /etc/ssh/revoked_keys");
    in_private_system(&revoked, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["RevokedKeys /etc/ssh/revoked_keys"]);
        assert!(!network.login().0);
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(code, 2, "{verdict:#}");
        assert_eq!(problems(&verdict), ["SSH-LIV-005"], "{verdict:#}");
        let refused = &findings_with(&verdict, "SSH-LIV-005")[0];
        assert_eq!(
            refused["title"],
            "sshd refuses every key of alice, and no check here explains why"
        );
        assert_eq!(
            refused["evidence"][0]["source"],
            "/home/alice/.ssh/authorized_keys:1"
        );
        assert!(sshd.log().contains("revoked"), "{}", sshd.log());
        sh("rm /etc/ssh/revoked_keys; touch /etc/ssh/revoked_keys");
        assert_proven_healthy(&network, &sshd);
    });
}

/// No ssh client (hidden in this mount namespace): the banners are still read, the keys
/// are judged from files, and the verdict says what could not be asked.
#[test]
fn without_an_ssh_client_keys_are_not_asked_and_that_is_said() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        sh("mount --bind /dev/null /usr/bin/ssh");
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(problems(&verdict), Vec::<&str>::new(), "{verdict:#}");
        assert_eq!(live(&verdict)["banners"][0]["outcome"], "answered");
        let why = "no ssh client on this machine (openssh-client), so sshd could not be asked about keys: they are judged from files only";
        assert_eq!(live(&verdict)["keys_not_asked"], why);
        assert_eq!(live(&verdict)["key_queries"], serde_json::json!([]));
        let report = verdict["probes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|probe| probe["name"] == "live keys")
            .unwrap();
        assert_eq!(report["outcome"], "partial");
        assert_eq!((verdict["status"].as_str(), code), (Some("unknown"), 3));
        let summary = verdict["summary"].as_str().unwrap();
        assert!(
            summary.starts_with(&format!(
                "No problem found, but not proven: alice's keys were not asked about: {why}"
            )),
            "{summary}"
        );
    });
}

/// `--no-probe`: sshd sees no connection at all, and the verdict cannot be healthy.
#[test]
fn no_probe_asks_nothing_and_proves_nothing() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&["LogLevel VERBOSE"]);
        let config = sshd.config_path().display().to_string();
        let (verdict, code) = network.server.diagnose_with_status(&[
            "--user",
            "alice",
            "--config",
            &config,
            "--no-probe",
        ]);
        assert_eq!((verdict["status"].as_str(), code), (Some("unknown"), 3));
        assert_eq!(live(&verdict)["ran"], false);
        assert!(!sshd.log().contains("Connection from"), "{}", sshd.log());
    });
}

/// Twenty diagnoses in a row give the same verdict, and loopback is not penalised: each
/// probe comes from an address of its own, so a login from 127.0.0.1 still works.
#[test]
fn twenty_diagnoses_in_a_row_leave_the_verdict_and_loopback_alone() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    in_private_system(ALICE, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        let first = assert_proven_healthy(&network, &sshd);
        for round in 0..20 {
            let (verdict, code) = network.diagnose(&sshd);
            assert_eq!(code, 0, "round {round}: {verdict:#}");
            assert_eq!(ids(&verdict), ids(&first), "round {round}");
        }
        let (logged_in, said) = alice_login(&network.server, "127.0.0.1", 22);
        assert!(logged_in, "{said}\n{}", sshd.log());
        assert!(!sshd.log().contains("penalty"), "{}", sshd.log());
    });
}
