//! The parser against the real sshd: for every fixture, `collect` runs
//! `/usr/sbin/sshd -t` and `-T` on it, and the parser must agree on validity, on where
//! the first error is, and on Port, ListenAddress and AddressFamily.

use crate::support;

use crate::support::sshd_config::{fixture_names, stage, Staged};
use sshdoctor::collect::config::{collect, ConfigSource};
use sshdoctor::collect::{CollectOptions, ProbeNotes};
use sshdoctor::facts::{SshdConfigFacts, SshdFacts};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Stages the fixtures with a fresh host key; None (the test skipped) without sshd.
fn setup() -> Option<(Staged, PathBuf)> {
    if !support::requires_sshd() {
        return None;
    }
    // sshd -t/-T on Debian refuse to run without the privilege separation directory.
    std::fs::create_dir_all("/run/sshd").expect("create /run/sshd (as root)");
    let staged = stage();
    let key = staged.path("host_ed25519_key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", ""])
        .arg("-f")
        .arg(&key)
        .status()
        .expect("run ssh-keygen");
    assert!(status.success());
    Some((staged, key))
}

/// Writes `HostKey KEY` then the fixture's text to NAME.real and collects it.
fn collect_with_sshd(staged: &Staged, key: &Path, name: &str) -> SshdConfigFacts {
    let text = std::fs::read(staged.path(name)).expect("staged fixture");
    let mut real = format!("HostKey {}\n", key.display()).into_bytes();
    real.extend_from_slice(&text);
    let path = staged.path(&format!("{name}.real"));
    std::fs::write(&path, real).expect("write");
    let options = CollectOptions {
        sshd_timeout: Duration::from_secs(10),
        ..CollectOptions::default()
    };
    let source = ConfigSource {
        path,
        why: "test".into(),
        command_line: Vec::new(),
    };
    collect(
        &options,
        &SshdFacts {
            binary: Some(support::SSHD.into()),
            ..SshdFacts::default()
        },
        source,
        &mut ProbeNotes::default(),
    )
}

#[test]
fn parser_agrees_with_sshd_on_every_fixture() {
    let Some((staged, key)) = setup() else {
        return;
    };
    let mut disagreements = Vec::new();
    for name in fixture_names() {
        let facts = collect_with_sshd(&staged, &key, &name);
        let check = facts.syntax_check.as_ref().expect("sshd -t ran");
        assert!(
            !check.timed_out && !check.environment_problem,
            "{name}: {check:?}"
        );
        let sshd_valid = check.exit_code == Some(0);
        let first_fatal = facts.problems.iter().find(|p| p.fatal);
        if sshd_valid != first_fatal.is_none() {
            disagreements.push(format!("{name}: sshd -t {check:?}, parser {first_fatal:?}"));
            continue;
        }
        match (first_fatal, &check.error_line) {
            (Some(problem), Some(line)) if problem.line != Some(*line) => disagreements.push(
                format!("{name}: sshd blames line {line}, parser {:?}", problem.line),
            ),
            _ => {}
        }
        if let (Some(problem), Some(file)) = (first_fatal, &check.error_file) {
            if !file.ends_with(problem.file.rsplit('/').next().unwrap_or_default()) {
                disagreements.push(format!(
                    "{name}: sshd blames {file}, parser {}",
                    problem.file
                ));
            }
        }
        if sshd_valid {
            assert!(facts.effective.is_some(), "{name}: sshd -T ran");
            disagreements.extend(facts.discrepancies.iter().map(|d| format!("{name}: {d}")));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn effective_config_is_read_from_sshd_dump() {
    let Some((staged, key)) = setup() else {
        return;
    };
    let facts = collect_with_sshd(&staged, &key, "listen.conf");
    let effective = facts.effective.expect("sshd -T output");
    assert_eq!(effective.ports, [2222, 2200]);
    assert_eq!(effective.address_family.as_deref(), Some("any"));
    assert_eq!(effective.listen_addresses[2], "[::1]:99");
    assert!(facts.discrepancies.is_empty(), "{:?}", facts.discrepancies);
}

#[test]
fn a_real_disagreement_is_reported() {
    let Some((staged, key)) = setup() else {
        return;
    };
    // A host name is not compared (sshd resolves it), so the endpoint check is skipped;
    // the port list still is, and a hand-edited fact must show as a discrepancy.
    let mut facts = collect_with_sshd(&staged, &key, "family_inet.conf");
    facts.ports.pop();
    let effective = facts.effective.clone().unwrap();
    let differences = sshdoctor::collect::config::compare(&facts, &effective);
    assert_eq!(
        differences,
        ["Port: parser found [22], sshd -T reports [22, 2222]"]
    );
}

#[test]
fn sshd_error_location_is_captured() {
    let Some((staged, key)) = setup() else {
        return;
    };
    let facts = collect_with_sshd(&staged, &key, "port_in_match.conf");
    let check = facts.syntax_check.unwrap();
    assert_ne!(check.exit_code, Some(0));
    assert_eq!(
        check.error_line,
        Some(4),
        "HostKey line shifts the fixture by one"
    );
    assert!(check
        .error_file
        .unwrap()
        .ends_with("port_in_match.conf.real"));
    assert!(check
        .error
        .unwrap()
        .ends_with("Directive 'Port' is not allowed within a Match block"));
    assert!(
        facts.effective.is_none(),
        "sshd -T fails on an invalid config"
    );
}

#[test]
fn missing_host_key_is_an_environment_problem() {
    let Some((staged, _key)) = setup() else {
        return;
    };
    let missing = staged.path("no_such_key");
    let facts = collect_with_sshd(&staged, &missing, "family_inet.conf");
    let check = facts.syntax_check.unwrap();
    assert_ne!(check.exit_code, Some(0));
    assert!(check.environment_problem, "{check:?}");
    assert!(facts.problems.iter().all(|p| !p.fatal));
}

/// Azure's "Reset SSH configuration" leaves an sshd_config without the Include of
/// sshd_config.d: the real sshd ignores the drop-in's Port, and the parser lists it.
#[test]
fn dropins_without_an_include_are_ignored_by_sshd_too() {
    let Some((staged, key)) = setup() else {
        return;
    };
    std::fs::write(staged.path("reset.conf"), "PasswordAuthentication no\n").unwrap();
    std::fs::create_dir(staged.path("reset.conf.real.d")).unwrap();
    std::fs::write(staged.path("reset.conf.real.d/60-port.conf"), "Port 2222\n").unwrap();
    let facts = collect_with_sshd(&staged, &key, "reset.conf");
    assert_eq!(
        facts.effective.expect("sshd -T output").ports,
        [22],
        "sshd never read the drop-in"
    );
    assert_eq!(
        facts.ignored_dropins,
        [staged
            .path("reset.conf.real.d/60-port.conf")
            .display()
            .to_string()]
    );
    assert!(facts.discrepancies.is_empty(), "{:?}", facts.discrepancies);
}

/// A bad line in a drop-in of a running sshd: the next restart would fail. The verdict
/// names the drop-in's line, and its first command (the line commented out, the config
/// that sshd runs with checked, a restart) leaves sshd running and alice able to log in.
#[test]
fn a_syntax_error_in_a_drop_in_is_fixed_at_its_line_before_the_restart() {
    if !support::requires_root(
        "a real sshd in network namespaces, with private accounts, needs root",
    ) {
        return;
    }
    use support::accounts::{in_private_system, ALICE};
    use support::verdict::{first_command, only, problems};
    use support::vm_net::VmNet;
    let drop_in = "/etc/ssh/sshd_config.d/10-lab.conf";
    let setup = format!("{ALICE}; mkdir -p /etc/ssh/sshd_config.d; : > {drop_in}");
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[&format!("Include {drop_in}")]);
        std::fs::write(drop_in, "PermitRootLogin perhaps\n").unwrap();
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(code, 2, "{verdict:#}");
        assert!(problems(&verdict).contains(&"SSH-CFG-001"), "{verdict:#}");
        let broken = only(&verdict, "SSH-CFG-001");
        let config = sshd.config_path().display().to_string();
        assert_eq!(
            first_command(broken),
            format!(
                "sed -i '1s/^/# /' {drop_in} && /usr/sbin/sshd -t -f {config} && kill -HUP {}",
                sshd.pid()
            )
        );
        network.apply_reload_fix(&sshd, first_command(broken));
        network.assert_healthy(&sshd);
    });
}
