//! Asking the real sshd: `sshd -T` (is the config valid, and what does it really use?),
//! bounded in time and output, then comparing with the parser.

use super::endpoints::endpoint_label;
use crate::collect::command::capture;
use crate::facts::{AddressFamily, EffectiveConfig, SshdConfigFacts, SshdRun};
use regex_lite::Regex;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// `sshd -T` prints a few hundred lines; anything past this is not sshd talking.
const OUTPUT_LIMIT: u64 = 1024 * 1024;

/// The captured run plus its standard output.
pub struct Captured {
    pub run: SshdRun,
    pub stdout: String,
}

/// Runs `sshd FLAG -f CONFIG EXTRA...` (EXTRA: the options the unit's command line
/// gives sshd), killing it after `timeout`.
///
/// sshd -T refuses to run without its privilege-separation directory, and systemd removes
/// /run/sshd whenever ssh.service stops: exactly when a diagnosis is needed. Then sshd runs
/// again with an empty stand-in for the directory, made in a private mount namespace that
/// ends with it, so the config is still judged and the system is left as it was. A caller
/// that already knows the directory is missing passes it as `known_stand_in`.
pub fn run_sshd(
    sshd: &Path,
    flag: &str,
    config: &Path,
    extra: &[String],
    timeout: Duration,
    known_stand_in: Option<&Path>,
) -> Captured {
    let run_once = |stand_in: Option<&Path>| run_once(sshd, flag, config, extra, timeout, stand_in);
    if let Some(dir) = known_stand_in {
        let mut run = run_once(Some(dir));
        run.run.privsep_stand_in = Some(dir.display().to_string());
        return run;
    }
    let first = run_once(None);
    let missing = (first.run.exit_code != Some(0))
        .then(|| missing_runtime_privsep_dir(&first.run.stderr))
        .flatten();
    let Some(dir) = missing else {
        return first;
    };
    let mut second = run_once(Some(&dir));
    if second.run.exit_code.is_none() && !second.run.timed_out {
        // The stand-in could not be made (not root, no mount namespaces): the first
        // answer stands, and says why.
        return first;
    }
    second.run.privsep_stand_in = Some(dir.display().to_string());
    second
}

fn run_once(
    sshd: &Path,
    flag: &str,
    config: &Path,
    extra: &[String],
    timeout: Duration,
    privsep_stand_in: Option<&Path>,
) -> Captured {
    let mut command = vec![
        sshd.display().to_string(),
        flag.to_string(),
        "-f".to_string(),
        config.display().to_string(),
    ];
    command.extend_from_slice(extra);
    let mut process = Command::new(sshd);
    process.args([flag, "-f"]).arg(config).args(extra);
    if let Some(dir) = privsep_stand_in {
        stand_in_directory(&mut process, dir.to_path_buf());
    }
    match capture(process, timeout, OUTPUT_LIMIT) {
        Ok(output) => Captured {
            run: finished(command, output.exit_code, output.timed_out, output.stderr),
            stdout: output.stdout,
        },
        Err(error) => Captured {
            run: finished(command, None, false, format!("could not start: {error}")),
            stdout: String::new(),
        },
    }
}

/// The privilege-separation directory sshd says is missing, when it lives on the
/// runtime file system (/run, or /var/run which links to it) that a stand-in may cover.
pub fn missing_runtime_privsep_dir(stderr: &str) -> Option<PathBuf> {
    let dir = stderr
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("Missing privilege separation directory: ")
        })
        .map(PathBuf::from)?;
    let parent = dir.parent()?;
    (dir.file_name().is_some() && (parent == Path::new("/run") || parent == Path::new("/var/run")))
        .then_some(dir)
}

/// Makes the child run in a private mount namespace with a fresh tmpfs over `dir`'s
/// parent, holding an empty `dir` (root's, mode 0755, as systemd makes it).
fn stand_in_directory(process: &mut Command, dir: PathBuf) {
    use nix::mount::{mount, MsFlags};
    use nix::sched::{unshare, CloneFlags};
    use nix::sys::stat::Mode;
    use std::os::unix::process::CommandExt;
    let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
    let make = move || -> nix::Result<()> {
        unshare(CloneFlags::CLONE_NEWNS)?;
        // Private first, so the tmpfs does not propagate back to the system's /run.
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )?;
        mount(
            Some("tmpfs"),
            &parent,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("mode=0755"),
        )?;
        nix::unistd::mkdir(&dir, Mode::from_bits_truncate(0o755))
    };
    // SAFETY: runs in the forked child before exec; it only makes system calls, and
    // paths this short are converted on the stack, without allocating.
    unsafe {
        process.pre_exec(move || make().map_err(std::io::Error::from));
    }
}

fn finished(
    command: Vec<String>,
    exit_code: Option<i32>,
    timed_out: bool,
    stderr: String,
) -> SshdRun {
    let error = (exit_code != Some(0))
        .then(|| first_error(&stderr))
        .flatten();
    let (error_file, error_line) = match error {
        Some(_) => first_location(&stderr),
        None => (None, None),
    };
    SshdRun {
        command,
        exit_code,
        timed_out,
        privsep_stand_in: None,
        // Anywhere in stderr: a key's "UNPROTECTED PRIVATE KEY FILE" comes after a banner.
        environment_problem: exit_code != Some(0) && blames_environment(&stderr),
        error,
        error_file,
        error_line,
        stderr,
    }
}

/// The first line that explains a failure: notices about deprecated or unsupported
/// keywords come first in sshd's output without being the reason it failed.
pub fn first_error(stderr: &str) -> Option<String> {
    error_lines(stderr).next().map(String::from)
}

/// The lines of sshd's output that are errors, not notices.
fn error_lines(stderr: &str) -> impl Iterator<Item = &str> {
    stderr.lines().map(str::trim).filter(|line| {
        !line.is_empty()
            && !line.chars().all(|c| c == '@')
            && !line.contains(": Deprecated option ")
            && !line.contains(": Unsupported option ")
    })
}

/// Where the failure is, from the first error line that names a place: sshd names some
/// only on its second line ("Unsupported KEX algorithm", then "FILE line N: Bad SSH2
/// KexAlgorithms"), and some nowhere.
pub fn first_location(stderr: &str) -> (Option<String>, Option<u32>) {
    error_lines(stderr)
        .map(error_location)
        .find(|(file, line)| file.is_some() || line.is_some())
        .unwrap_or_default()
}

/// `sshd -T` without `-C` stops at a Match block on the local side of a connection
/// (LocalPort, LocalAddress): the config is valid, but sshd needs a connection to
/// evaluate the block.
pub fn needs_connection(run: &SshdRun) -> bool {
    run.stderr.contains("not in connection test specification")
}

/// A client that matches no Host or Address criterion by accident.
const TEST_HOST: &str = "client.invalid";
const TEST_ADDRESS: &str = "203.0.113.1";
/// The local address the test connection arrives on: one no LocalAddress names.
const TEST_LOCAL_ADDRESS: &str = "192.0.2.1";

/// The connection `sshd -T -C` evaluates Match blocks for: `user` from the test client,
/// to this machine's SSH `port`.
pub fn connection_spec(user: &str, port: u16) -> String {
    format!(
        "user={user},host={TEST_HOST},addr={TEST_ADDRESS},laddr={TEST_LOCAL_ADDRESS},lport={port}"
    )
}

/// The file and line an sshd error names: "FILE: line N: ...", "FILE line N: ...",
/// "... at line N" (Match errors name no file), or "FILE: strerror" for an unreadable
/// file.
pub fn error_location(error: &str) -> (Option<String>, Option<u32>) {
    static WITH_LINE: OnceLock<Regex> = OnceLock::new();
    static AT_LINE: OnceLock<Regex> = OnceLock::new();
    static FILE_ONLY: OnceLock<Regex> = OnceLock::new();
    let with_line = WITH_LINE.get_or_init(|| Regex::new(r"^(.+?):? line (\d+): ").unwrap());
    let at_line = AT_LINE.get_or_init(|| Regex::new(r" at line (\d+)$").unwrap());
    let file_only = FILE_ONLY.get_or_init(|| Regex::new(r"^(/[^:]*): [A-Z]").unwrap());
    if let Some(found) = with_line.captures(error) {
        return (Some(found[1].to_string()), found[2].parse().ok());
    }
    if let Some(found) = at_line.captures(error) {
        return (None, found[1].parse().ok());
    }
    match file_only.captures(error) {
        Some(found) => (Some(found[1].to_string()), None),
        None => (None, None),
    }
}

/// Failures that are about the machine, not the config text: sshd refuses to start
/// for them too, but `sshd -t` cannot judge the config while they last.
fn blames_environment(error: &str) -> bool {
    const MARKERS: &[&str] = &[
        "Missing privilege separation directory",
        "UNPROTECTED PRIVATE KEY FILE",
        // The privsep directory's ownership or modes (sshd.c checks them at start-up).
        "must be owned by root and not group or world-writable",
        "no hostkeys available",
        "Unable to load host key",
        "Could not load host key",
        "must be run as root",
        "Permission denied",
        "sshd re-exec requires execution with an absolute path",
    ];
    MARKERS.iter().any(|marker| error.contains(marker))
}

/// `sshd -T` output: one "keyword value..." line per setting.
pub fn parse_effective(stdout: &str) -> EffectiveConfig {
    let mut effective = EffectiveConfig::default();
    for line in stdout.lines() {
        let Some((keyword, value)) = line.trim().split_once(' ') else {
            continue;
        };
        let keyword = keyword.to_ascii_lowercase();
        let value = value.trim().to_string();
        match keyword.as_str() {
            "port" => effective.ports.extend(value.parse::<u16>()),
            "listenaddress" => effective.listen_addresses.push(value.clone()),
            "addressfamily" => effective.address_family = Some(value.clone()),
            _ => {}
        }
        effective.settings.entry(keyword).or_default().push(value);
    }
    effective
}

/// Where the parser and `sshd -T` disagree on Port, ListenAddress and AddressFamily.
pub fn compare(config: &SshdConfigFacts, effective: &EffectiveConfig) -> Vec<String> {
    let mut differences = Vec::new();
    let parsed_ports: Vec<u16> = config.ports.iter().map(|port| port.value).collect();
    if parsed_ports != effective.ports {
        differences.push(format!(
            "Port: parser found {parsed_ports:?}, sshd -T reports {:?}",
            effective.ports
        ));
    }
    let parsed_family = config
        .address_family
        .as_ref()
        .map_or(AddressFamily::Any, |family| family.value);
    let family_word = match parsed_family {
        AddressFamily::Any => "any",
        AddressFamily::Inet => "inet",
        AddressFamily::Inet6 => "inet6",
    };
    if let Some(reported) = &effective.address_family {
        if reported != family_word {
            differences.push(format!(
                "AddressFamily: parser found {family_word}, sshd -T reports {reported}"
            ));
        }
    }
    // Host names resolve only at sshd's run time; compare when every host is literal.
    let all_literal = config
        .endpoints
        .iter()
        .all(|endpoint| endpoint.host.parse::<IpAddr>().is_ok());
    let parsed: Vec<String> = config
        .endpoints
        .iter()
        .map(|endpoint| endpoint_label(&endpoint.host, endpoint.port))
        .collect();
    let reported: Vec<String> = effective
        .listen_addresses
        .iter()
        .map(|address| address.split(' ').next().unwrap_or_default().to_string())
        .collect();
    if all_literal && parsed != reported {
        differences.push(format!(
            "ListenAddress: parser derived {parsed:?}, sshd -T reports {reported:?}"
        ));
    }
    differences
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_failures_are_not_config_errors() {
        for error in [
            "/run/sshd must be owned by root and not group or world-writable.",
            "Missing privilege separation directory: /run/sshd",
            "sshd: no hostkeys available -- exiting.",
        ] {
            assert!(blames_environment(error), "{error}");
        }
        assert!(!blames_environment(
            "/etc/ssh/sshd_config: line 3: Bad configuration option: Bogus"
        ));
    }

    #[test]
    fn only_a_missing_runtime_privsep_dir_gets_a_stand_in() {
        let missing = |stderr: &str| missing_runtime_privsep_dir(stderr);
        assert_eq!(
            missing("Missing privilege separation directory: /run/sshd\n"),
            Some(PathBuf::from("/run/sshd"))
        );
        assert_eq!(
            missing("Missing privilege separation directory: /var/run/sshd"),
            Some(PathBuf::from("/var/run/sshd"))
        );
        // Elsewhere a tmpfs would hide real files (RHEL's /usr/share/empty.sshd).
        assert_eq!(
            missing("Missing privilege separation directory: /usr/share/empty.sshd"),
            None
        );
        assert_eq!(
            missing("Missing privilege separation directory: /run"),
            None
        );
        assert_eq!(missing("/etc/ssh/sshd_config line 3: Bad option"), None);
    }

    #[test]
    fn error_locations_in_every_form_sshd_prints() {
        assert_eq!(
            error_location("/etc/ssh/sshd_config: line 14: Bad configuration option: Bogus"),
            (Some("/etc/ssh/sshd_config".into()), Some(14))
        );
        assert_eq!(
            error_location(
                "/etc/ssh/x.conf line 3: Directive 'Port' is not allowed within a Match block"
            ),
            (Some("/etc/ssh/x.conf".into()), Some(3))
        );
        assert_eq!(
            error_location("Invalid Match address argument '10.0.0.0/99' at line 2"),
            (None, Some(2))
        );
        assert_eq!(
            error_location("/tmp/inc/dangling.conf: No such file or directory"),
            (Some("/tmp/inc/dangling.conf".into()), None)
        );
        assert_eq!(
            error_location("Too many recursive configuration includes"),
            (None, None)
        );
    }

    #[test]
    fn the_location_comes_from_the_first_error_line_that_names_one() {
        let kex =
            "Unsupported KEX algorithm \"bogus\"\n/c line 3: Bad SSH2 KexAlgorithms 'bogus'.\n";
        assert_eq!(first_location(kex), (Some("/c".into()), Some(3)));
        let deprecated = "/c line 2: Deprecated option serverkeybits\nAuthorizedKeysCommand set without AuthorizedKeysCommandUser\n";
        assert_eq!(first_location(deprecated), (None, None));
    }

    #[test]
    fn first_error_skips_deprecation_notices() {
        let stderr =
            "/c line 2: Deprecated option serverkeybits\n/c line 3: Badly formatted port number.\n";
        assert_eq!(
            first_error(stderr).as_deref(),
            Some("/c line 3: Badly formatted port number.")
        );
    }

    #[test]
    fn effective_config_reads_ports_addresses_and_family() {
        let effective = parse_effective(
            "port 2222\nport 22\naddressfamily inet\nlistenaddress 0.0.0.0:2222\nlistenaddress 0.0.0.0:22\nallowusers a\nallowusers b\n",
        );
        assert_eq!(effective.ports, [2222, 22]);
        assert_eq!(effective.address_family.as_deref(), Some("inet"));
        assert_eq!(effective.listen_addresses.len(), 2);
        assert_eq!(effective.settings["allowusers"], ["a", "b"]);
    }
}
