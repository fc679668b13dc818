//! The SSH units read with `systemctl show`, for when the system bus is down or does not
//! answer: systemctl then asks systemd on its private socket, which only root may use.
//! (zbus cannot be used there: systemd signs its replies on that socket with its
//! well-known name, where D-Bus expects a unique one, and zbus aborts on them.)
//! The same facts as over D-Bus, from systemctl's `key=value` text.

use super::systemd::{keep_unit, MAX_INSTANCES};
use crate::collect::command::{capture, find_tool};
use crate::facts::{SystemdFacts, UnitFacts, UnitKind};
use crate::openssh::{INSTANCE_UNIT_PATTERNS, SERVICE_UNIT_NAMES, SOCKET_UNIT_NAMES};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// What is read of each unit, as D-Bus reads it (timestamps since boot, converted).
const PROPERTIES: &[&str] = &[
    "Id",
    "Names",
    "LoadState",
    "ActiveState",
    "SubState",
    "UnitFileState",
    "FragmentPath",
    "DropInPaths",
    "Triggers",
    "ActiveEnterTimestampMonotonic",
    "InactiveEnterTimestampMonotonic",
    "ControlGroup",
    "Result",
    "ExecMainStatus",
    "ExecMainCode",
    "MainPID",
    "NRestarts",
    "ExecStart",
    "Environment",
    "EnvironmentFiles",
    "NeedDaemonReload",
    "FreezerState",
    "Listen",
    "Accept",
];

/// Bound on systemctl's output: a few units' properties.
const MAX_OUTPUT: u64 = 1 << 20;

/// The SSH units as systemctl shows them, within `timeout` in all; why not, when it
/// cannot (no systemctl, systemd not running, not root).
pub fn collect(tool_dirs: &[PathBuf], timeout: Duration) -> Result<SystemdFacts, String> {
    let started = Instant::now();
    let systemctl = find_tool(tool_dirs, "systemctl").ok_or("systemctl is not installed")?;
    let left = || timeout.saturating_sub(started.elapsed());
    let run = |args: &[&str]| -> Result<String, String> {
        let mut command = Command::new(&systemctl);
        command.args(args).env("SYSTEMD_PAGER", "");
        let output = capture(command, left(), MAX_OUTPUT)
            .map_err(|err| format!("cannot run systemctl: {err}"))?;
        if output.timed_out {
            return Err(format!("systemctl {} did not answer", args[0]));
        }
        if !output.success() {
            return Err(format!("systemctl {}: {}", args[0], output.error_line()));
        }
        Ok(output.stdout)
    };
    let version = parse_version(&run(&["--version"])?);
    let listed = run(&[
        &[
            "list-units",
            "--all",
            "--plain",
            "--no-legend",
            "--no-pager",
        ],
        INSTANCE_UNIT_PATTERNS,
    ]
    .concat())?;
    let instances = listed
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .take(MAX_INSTANCES)
        .map(String::from);
    let names: Vec<String> = SERVICE_UNIT_NAMES
        .iter()
        .chain(SOCKET_UNIT_NAMES)
        .map(|name| name.to_string())
        .chain(instances)
        .collect();
    let mut args: Vec<String> = vec!["show".into(), "--no-pager".into()];
    for property in PROPERTIES {
        args.push(format!("--property={property}"));
    }
    args.extend(names);
    let shown = run(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    let boot_us = procfs::boot_time_secs()
        .map(|secs| secs.saturating_mul(1_000_000))
        .ok();
    let mut units: Vec<UnitFacts> = Vec::new();
    for block in shown.split("\n\n") {
        let Some(unit) = parse_unit(block, boot_us) else {
            continue;
        };
        keep_unit(&mut units, unit);
    }
    Ok(SystemdFacts {
        reachable: true,
        error: None,
        version,
        units,
        socket_generator: None,
    })
}

/// "systemd 252 (252.36-1~deb12u1)": the package version in parentheses, as D-Bus's
/// Version property gives it, else the number.
pub fn parse_version(text: &str) -> Option<String> {
    let first = text.lines().next()?.strip_prefix("systemd ")?;
    let inside = first
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(version, _)| version);
    Some(
        inside
            .unwrap_or_else(|| first.split_whitespace().next().unwrap_or(first))
            .to_string(),
    )
}

/// One unit's block of `systemctl show`; None without an Id.
pub fn parse_unit(block: &str, boot_us: Option<u64>) -> Option<UnitFacts> {
    let values = |key: &'static str| values_of(block, key);
    let value = |key: &'static str| values(key).next().filter(|value| !value.is_empty());
    let words = |key: &'static str| -> Vec<String> {
        value(key)
            .map(|text| text.split_whitespace().map(String::from).collect())
            .unwrap_or_default()
    };
    let number = |key: &'static str| value(key).and_then(|text| text.parse::<u64>().ok());
    let since_boot = |key: &'static str| {
        let monotonic = number(key).filter(|us| *us != 0)?;
        Some(boot_us?.saturating_add(monotonic))
    };
    let name = value("Id")?.to_string();
    let kind = if name.ends_with(".socket") {
        UnitKind::Socket
    } else {
        UnitKind::Service
    };
    let unit = UnitFacts {
        aliases: words("Names")
            .into_iter()
            .filter(|alias| *alias != name)
            .collect(),
        load_state: value("LoadState").unwrap_or_default().to_string(),
        active_state: value("ActiveState").unwrap_or_default().to_string(),
        sub_state: value("SubState").unwrap_or_default().to_string(),
        unit_file_state: value("UnitFileState").map(String::from),
        fragment_path: value("FragmentPath").map(String::from),
        dropin_paths: words("DropInPaths"),
        triggers: words("Triggers"),
        active_enter_timestamp_us: since_boot("ActiveEnterTimestampMonotonic"),
        inactive_enter_timestamp_us: since_boot("InactiveEnterTimestampMonotonic"),
        control_group: value("ControlGroup").map(String::from),
        result: value("Result").map(String::from),
        need_daemon_reload: value("NeedDaemonReload") == Some("yes"),
        freezer_state: value("FreezerState").map(String::from),
        ..UnitFacts::new(&name, kind)
    };
    Some(match kind {
        UnitKind::Service => UnitFacts {
            exec_main_status: value("ExecMainStatus").and_then(|text| text.parse().ok()),
            exec_main_code: value("ExecMainCode").and_then(|text| text.parse().ok()),
            main_pid: number("MainPID")
                .filter(|pid| *pid != 0)
                .and_then(|pid| u32::try_from(pid).ok()),
            n_restarts: number("NRestarts").and_then(|n| u32::try_from(n).ok()),
            exec_start: values("ExecStart").flat_map(exec_argvs).collect(),
            environment: value("Environment").map(assignments).unwrap_or_default(),
            environment_files: values("EnvironmentFiles")
                .filter_map(environment_file)
                .collect(),
            ..unit
        },
        UnitKind::Socket => UnitFacts {
            listen: values("Listen").filter_map(listen_entry).collect(),
            accept: value("Accept").map(|accept| accept == "yes"),
            ..unit
        },
    })
}

/// Every value `key` has in a block (Listen and ExecStart may repeat).
fn values_of<'b>(block: &'b str, key: &'b str) -> impl Iterator<Item = &'b str> + 'b {
    block
        .lines()
        .filter_map(move |line| line.strip_prefix(key)?.strip_prefix('='))
}

/// Environment= as systemctl prints it: assignments separated by spaces, one with a
/// space in it in double quotes ("A=1 \"B=x y\"").
fn assignments(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => words.extend((!word.is_empty()).then(|| std::mem::take(&mut word))),
            c => word.push(c),
        }
    }
    words.extend((!word.is_empty()).then_some(word));
    words
}

/// One EnvironmentFiles line: "/etc/default/ssh (ignore_errors=yes)", the path with
/// "-" before it when it may be missing, as in the unit file.
fn environment_file(text: &str) -> Option<String> {
    let (path, flags) = text.split_once(" (").unwrap_or((text, ""));
    let path = path.trim();
    (!path.is_empty()).then(|| match flags.contains("ignore_errors=yes") {
        true => format!("-{path}"),
        false => path.to_string(),
    })
}

/// The argv of each command in an ExecStart value: "{ path=/usr/sbin/sshd ;
/// argv[]=/usr/sbin/sshd -D $SSHD_OPTS ; ignore_errors=no ; ... }". systemctl prints the
/// words joined by spaces, so a word with a space in it is split.
fn exec_argvs(text: &str) -> Vec<Vec<String>> {
    text.split('{')
        .filter_map(|command| {
            let argv = command
                .split(" ; ")
                .find_map(|field| field.trim().strip_prefix("argv[]="))?;
            Some(argv.split_whitespace().map(String::from).collect())
        })
        .collect()
}

/// A Listen value, "[::]:22 (Stream)", as D-Bus gives it: (type, address).
fn listen_entry(text: &str) -> Option<(String, String)> {
    let (address, kind) = text.rsplit_once(" (")?;
    Some((kind.strip_suffix(')')?.to_string(), address.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// systemctl show of Debian 12's ssh.service and ssh.socket.
    #[test]
    fn units_are_read_from_systemctl_show_as_from_d_bus() {
        let service = "Id=ssh.service\nNames=ssh.service sshd.service\nLoadState=loaded\n\
            ActiveState=active\nSubState=running\nUnitFileState=enabled\n\
            FragmentPath=/lib/systemd/system/ssh.service\nDropInPaths=\nTriggers=\n\
            ActiveEnterTimestampMonotonic=5000000\nInactiveEnterTimestampMonotonic=0\n\
            ControlGroup=/system.slice/ssh.service\nResult=success\nExecMainStatus=0\n\
            ExecMainCode=0\nMainPID=812\nNRestarts=0\n\
            ExecStart={ path=/usr/sbin/sshd ; argv[]=/usr/sbin/sshd -D $SSHD_OPTS ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n\
            Environment=LANG=C \"GREETING=two words\"\n\
            EnvironmentFiles=/etc/default/ssh (ignore_errors=yes)\n\
            EnvironmentFiles=/etc/sysconfig/sshd (ignore_errors=no)\n\
            NeedDaemonReload=yes\nFreezerState=frozen";
        let unit = parse_unit(service, Some(1_000_000_000)).unwrap();
        assert_eq!(unit.name, "ssh.service");
        assert_eq!(unit.aliases, ["sshd.service"]);
        assert_eq!(
            (unit.active_state.as_str(), unit.sub_state.as_str()),
            ("active", "running")
        );
        assert_eq!(unit.main_pid, Some(812));
        assert_eq!(unit.exec_start, [["/usr/sbin/sshd", "-D", "$SSHD_OPTS"]]);
        assert_eq!(unit.environment, ["LANG=C", "GREETING=two words"]);
        assert_eq!(
            unit.environment_files,
            ["-/etc/default/ssh", "/etc/sysconfig/sshd"]
        );
        assert!(unit.need_daemon_reload);
        assert_eq!(unit.freezer_state.as_deref(), Some("frozen"));
        assert_eq!(unit.active_enter_timestamp_us, Some(1_005_000_000));
        assert_eq!(unit.inactive_enter_timestamp_us, None);
        assert_eq!(
            unit.control_group.as_deref(),
            Some("/system.slice/ssh.service")
        );
        assert!(unit.dropin_paths.is_empty());

        let socket = "Id=ssh.socket\nNames=ssh.socket\nLoadState=loaded\nActiveState=inactive\n\
            SubState=dead\nUnitFileState=disabled\nListen=[::]:22 (Stream)\nAccept=no\nMainPID=7";
        let unit = parse_unit(socket, None).unwrap();
        assert_eq!(unit.kind, UnitKind::Socket);
        assert_eq!(unit.listen, [("Stream".to_string(), "[::]:22".to_string())]);
        assert_eq!(unit.accept, Some(false));
        assert_eq!(unit.main_pid, None);
        assert!(parse_unit("LoadState=not-found", None).is_none());
    }

    #[test]
    fn the_version_is_the_package_version_as_over_d_bus() {
        assert_eq!(
            parse_version("systemd 252 (252.36-1~deb12u1)\n+PAM +AUDIT").as_deref(),
            Some("252.36-1~deb12u1")
        );
        assert_eq!(parse_version("systemd 255\n").as_deref(), Some("255"));
    }
}
