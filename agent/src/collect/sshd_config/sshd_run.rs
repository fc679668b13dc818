//! Asking the real sshd: `sshd -T` (is the config valid, and what does it really use?),
//! bounded in time and output, then comparing with the parser.

use super::endpoints::endpoint_label;
use crate::facts::{AddressFamily, EffectiveConfig, SshdConfigFacts, SshdRun};
use regex_lite::Regex;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
use wait_timeout::ChildExt;

const MAX_STDOUT: u64 = 1024 * 1024;
const MAX_STDERR: u64 = 64 * 1024;

/// The captured run plus its standard output.
pub struct Captured {
    pub run: SshdRun,
    pub stdout: String,
}

/// Runs `sshd FLAG -f CONFIG`, killing it after `timeout`.
pub fn run_sshd(sshd: &Path, flag: &str, config: &Path, timeout: Duration) -> Captured {
    let command = vec![
        sshd.display().to_string(),
        flag.to_string(),
        "-f".to_string(),
        config.display().to_string(),
    ];
    let spawned = Command::new(sshd)
        .args([flag, "-f"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            return Captured {
                run: finished(command, None, false, format!("could not start: {error}")),
                stdout: String::new(),
            }
        }
    };
    let stdout = child.stdout.take().map(|pipe| drain(pipe, MAX_STDOUT));
    let stderr = child.stderr.take().map(|pipe| drain(pipe, MAX_STDERR));
    let (exit_code, timed_out) = match child.wait_timeout(timeout) {
        Ok(Some(status)) => (status.code(), false),
        Ok(None) | Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            (None, true)
        }
    };
    let collect = |reader: Option<std::thread::JoinHandle<String>>| {
        reader
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default()
    };
    Captured {
        stdout: collect(stdout),
        run: finished(command, exit_code, timed_out, collect(stderr)),
    }
}

/// Reads a pipe to its end on a thread, keeping at most `limit` bytes (the rest is read
/// and dropped so the child never blocks on a full pipe).
fn drain(pipe: impl Read + Send + 'static, limit: u64) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut pipe = pipe;
        let _ = (&mut pipe).take(limit).read_to_end(&mut kept);
        let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        String::from_utf8_lossy(&kept).into_owned()
    })
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
    let (error_file, error_line) = error.as_deref().map(error_location).unwrap_or_default();
    SshdRun {
        command,
        exit_code,
        timed_out,
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
    stderr
        .lines()
        .map(str::trim)
        .find(|line| {
            !line.is_empty()
                && !line.chars().all(|c| c == '@')
                && !line.contains(": Deprecated option ")
                && !line.contains(": Unsupported option ")
        })
        .map(String::from)
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
