//! sshd processes: what runs, whatever systemd says. Where systemd runs SSH, they are
//! listed from the units' and the login sessions' cgroups; otherwise (no systemd, or an
//! sshd started by hand) from every process in /proc.

use crate::collect::{pids, ProbeNotes};
use crate::facts::{PidFile, ProcessFacts, SshdProcess, SystemdFacts, UnitFacts};
use procfs::process::Process;
use std::path::Path;

/// Names of OpenSSH server processes: the daemon and, since 9.8, its per-connection helpers.
const SSHD_COMMS: &[&str] = &["sshd", "sshd-session", "sshd-auth"];
/// Where sshd writes its pid when PidFile is not set, newest location first.
pub const PID_FILE_CANDIDATES: &[&str] = &["/run/sshd.pid", "/var/run/sshd.pid"];
/// Bound on the /proc scan: enough for any VM, finite on a pathological one.
const MAX_PROCESSES: usize = 100_000;

pub fn collect(systemd: &SystemdFacts, notes: &mut ProbeNotes) -> ProcessFacts {
    let from_cgroups = pids::cgroup_root().and_then(|root| {
        let mut cgroups = ssh_cgroups(systemd)?;
        cgroups.extend(pids::session_scopes(&root));
        Some((pids::in_cgroups(&root, &cgroups), cgroups))
    });
    let (sshd, cgroups) = match from_cgroups {
        Some((listed, cgroups)) => (Some(sshd_processes(listed, notes)), cgroups),
        None => (find_sshd_processes(notes), Vec::new()),
    };
    ProcessFacts {
        scanned: sshd.is_some(),
        cgroups,
        own_net_namespace: net_namespace("self"),
        sshd: sshd.unwrap_or_default(),
        pid_file: read_pid_file(PID_FILE_CANDIDATES.iter().map(Path::new)),
    }
}

/// The cgroups of the SSH units that run, when systemd runs SSH: every sshd is in one
/// of them or in a login session's scope. None when systemd cannot be asked or runs no
/// SSH unit: an sshd started by hand is then anywhere, and only all of /proc tells.
fn ssh_cgroups(systemd: &SystemdFacts) -> Option<Vec<String>> {
    if !systemd.reachable {
        return None;
    }
    let running = |unit: &&UnitFacts| {
        matches!(
            unit.active_state.as_str(),
            "active" | "reloading" | "activating" | "deactivating"
        )
    };
    let units: Vec<&UnitFacts> = systemd.units.iter().filter(running).collect();
    if units.is_empty() {
        return None;
    }
    Some(
        units
            .iter()
            .filter_map(|unit| unit.control_group.clone())
            .collect(),
    )
}

/// None when /proc cannot be listed: then "no sshd" would be a guess, not a fact.
fn find_sshd_processes(notes: &mut ProbeNotes) -> Option<Vec<SshdProcess>> {
    let listed = pids::all();
    if listed.is_empty() {
        notes.unavailable("cannot list /proc");
        return None;
    }
    if listed.len() > MAX_PROCESSES {
        notes.partial(format!(
            "examined {MAX_PROCESSES} of {} processes",
            listed.len()
        ));
    }
    let listed = listed.into_iter().take(MAX_PROCESSES).collect();
    Some(sshd_processes(listed, notes))
}

/// An sshd run in test mode: `-t`, `-T`, or `-T` with `-C` joined to it.
fn checks_config(cmdline: &[String]) -> bool {
    cmdline
        .iter()
        .skip(1)
        .any(|arg| arg == "-t" || arg == "-T" || arg.starts_with("-TC"))
}

/// The sshd processes among `listed`, with their roles. Only a process whose name is
/// sshd's is read further.
fn sshd_processes(listed: Vec<u32>, notes: &mut ProbeNotes) -> Vec<SshdProcess> {
    let clock = Clock::read(notes);
    // A process that exits mid-scan has no name to read, or nothing more: skip it.
    let mut found: Vec<SshdProcess> = listed
        .into_iter()
        .filter(|pid| pids::comm(*pid).is_some_and(|comm| SSHD_COMMS.contains(&comm.as_str())))
        .filter_map(|pid| Process::new(i32::try_from(pid).ok()?).ok())
        .filter_map(|process| read_sshd(&process, clock.as_ref()))
        // sshd -t or -T (this diagnosis's own, or anyone's) checks a config and exits:
        // it is no server.
        .filter(|sshd| !checks_config(&sshd.cmdline))
        .collect();
    let sshd_pids: Vec<u32> = found.iter().map(|sshd| sshd.pid).collect();
    for sshd in &mut found {
        sshd.is_listener = is_listener(&sshd.comm, &sshd.cmdline, sshd_pids.contains(&sshd.ppid));
        if sshd.is_listener {
            sshd.config_path = config_path(&sshd.cmdline);
        }
    }
    found
}

/// The process as an SshdProcess when it is one; roles are decided once all are known.
fn read_sshd(process: &Process, clock: Option<&Clock>) -> Option<SshdProcess> {
    let stat = process.stat().ok()?;
    if !SSHD_COMMS.contains(&stat.comm.as_str()) {
        return None;
    }
    Some(SshdProcess {
        pid: u32::try_from(stat.pid).ok()?,
        ppid: u32::try_from(stat.ppid).unwrap_or(0),
        cmdline: process.cmdline().unwrap_or_default(),
        comm: stat.comm,
        is_listener: false,
        config_path: None,
        net_namespace: net_namespace(&stat.pid.to_string()),
        start_time_us: clock.map(|clock| clock.epoch_us(stat.starttime)),
        state: Some(stat.state),
        off_cpu_ms: off_cpu_ms(stat.pid),
    })
}

/// How long ago the process last ran on a CPU: `se.exec_start` of /proc/PID/sched (the
/// scheduler's clock, in ms) against the same value of this thread, which runs now. The
/// scheduler's clock is not the monotonic clock, so each is read on its own terms. None
/// where the kernel has no /proc/PID/sched (built without CONFIG_SCHED_DEBUG).
fn off_cpu_ms(pid: i32) -> Option<u64> {
    let now = last_ran_ms("thread-self")?;
    let then = last_ran_ms(&pid.to_string())?;
    Some((now - then).max(0.0) as u64)
}

fn last_ran_ms(task: &str) -> Option<f64> {
    std::fs::read_to_string(format!("/proc/{task}/sched"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("se.exec_start"))?
        .trim_start_matches([' ', ':'])
        .trim()
        .parse()
        .ok()
}

/// The inode of /proc/PROCESS/ns/net ("net:[4026531840]"); None when unreadable.
fn net_namespace(process: &str) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{process}/ns/net")).ok()?;
    let link = link.to_str()?;
    link.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

/// Turns a start time in clock ticks since boot into microseconds since the epoch.
struct Clock {
    boot_time_us: u64,
    ticks_per_second: u64,
}

impl Clock {
    fn read(notes: &mut ProbeNotes) -> Option<Clock> {
        match procfs::boot_time_secs() {
            Ok(boot) => Some(Clock {
                boot_time_us: boot.saturating_mul(1_000_000),
                ticks_per_second: procfs::ticks_per_second().max(1),
            }),
            Err(err) => {
                notes.partial(format!("no boot time, so no process start times: {err}"));
                None
            }
        }
    }

    fn epoch_us(&self, ticks_since_boot: u64) -> u64 {
        let since_boot =
            u128::from(ticks_since_boot) * 1_000_000 / u128::from(self.ticks_per_second);
        self.boot_time_us
            .saturating_add(u64::try_from(since_boot).unwrap_or(u64::MAX))
    }
}

/// The daemon that accepts connections, as opposed to the per-connection processes
/// (`sshd: alice [priv]`, `sshd: alice@pts/0`, sshd-session, `sshd -i` from inetd/Accept=yes,
/// the re-executed `sshd -R` child).
pub fn is_listener(comm: &str, cmdline: &[String], parent_is_sshd: bool) -> bool {
    if comm != "sshd" {
        return false;
    }
    let Some(argv) = original_argv(cmdline) else {
        return false;
    };
    if cmdline.iter().any(|arg| arg.contains("[listener]")) {
        return true;
    }
    let per_connection = crate::openssh::sshd_options(&argv)
        .iter()
        .any(|option| option.letter == 'i' || option.letter == 'R');
    !parent_is_sshd && !per_connection
}

/// The `-f FILE` sshd was started with, read from its argv or from its `[listener]` title.
pub fn config_path(cmdline: &[String]) -> Option<String> {
    let argv = original_argv(cmdline)?;
    // Like getopt, the last -f wins.
    crate::openssh::sshd_options(&argv)
        .into_iter()
        .rfind(|option| option.letter == 'f')
        .and_then(|option| option.value)
}

/// The arguments sshd was started with. A modern OpenSSH listener retitles itself
/// `sshd: /usr/sbin/sshd -D -f /x [listener] 0 of 10-100 startups`: the argv is inside the
/// title. Session titles (`sshd: alice [priv]`) hold no argv: None.
pub fn original_argv(cmdline: &[String]) -> Option<Vec<String>> {
    let first = cmdline.first()?;
    let Some(title) = first.strip_prefix("sshd: ") else {
        return Some(cmdline.to_vec());
    };
    let (command, _status) = title.split_once(" [listener]")?;
    Some(command.split_whitespace().map(str::to_string).collect())
}

/// The first pid file that exists among `candidates`, with the pid in it and whether that
/// process runs.
pub fn read_pid_file<'p>(candidates: impl IntoIterator<Item = &'p Path>) -> Option<PidFile> {
    let path = candidates.into_iter().find(|path| path.exists())?;
    let pid = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .filter(|pid| *pid != 0);
    Some(PidFile {
        path: path.display().to_string(),
        pid,
        alive: pid.is_some_and(is_running),
    })
}

fn is_running(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .and_then(|pid| Process::new(pid).ok())
        .is_some_and(|process| process.is_alive())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    fn title(text: &str) -> Vec<String> {
        vec![text.to_string()]
    }

    #[test]
    fn listener_is_told_from_session_processes() {
        let listener_title = title("sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups");
        assert!(is_listener("sshd", &listener_title, false));
        assert!(is_listener("sshd", &argv("/usr/sbin/sshd -D"), false));
        assert!(is_listener("sshd", &argv("/usr/sbin/sshd"), false));
        // Per-connection processes, whatever their parent.
        assert!(!is_listener("sshd", &title("sshd: alice [priv]"), false));
        assert!(!is_listener("sshd", &title("sshd: alice@pts/0"), true));
        assert!(!is_listener("sshd", &title("sshd: [accepted]"), true));
        assert!(!is_listener("sshd", &argv("/usr/sbin/sshd -D -R"), true));
        assert!(!is_listener("sshd", &argv("/usr/sbin/sshd -i"), false));
        assert!(!is_listener("sshd", &argv("/usr/sbin/sshd -D"), true));
        assert!(!is_listener(
            "sshd-session",
            &argv("sshd-session: alice [priv]"),
            true
        ));
        assert!(!is_listener("sshd", &[], false));
    }

    #[test]
    fn config_path_comes_from_every_way_of_writing_f() {
        let expect = Some("/etc/ssh/alt".to_string());
        assert_eq!(
            config_path(&argv("/usr/sbin/sshd -D -f /etc/ssh/alt")),
            expect
        );
        assert_eq!(
            config_path(&argv("/usr/sbin/sshd -f/etc/ssh/alt -D")),
            expect
        );
        assert_eq!(
            config_path(&argv("/usr/sbin/sshd -Df /etc/ssh/alt")),
            expect
        );
        assert_eq!(
            config_path(&title(
                "sshd: /usr/sbin/sshd -D -f /etc/ssh/alt [listener] 0 of 10-100 startups"
            )),
            expect
        );
        assert_eq!(
            config_path(&argv("/usr/sbin/sshd -f /a -f /etc/ssh/alt")),
            expect
        );
        // -o's argument is not a flag; -p's value must not be read as -f.
        assert_eq!(config_path(&argv("/usr/sbin/sshd -o -f -p 22")), None);
        assert_eq!(config_path(&argv("/usr/sbin/sshd -D")), None);
        assert_eq!(config_path(&title("sshd: alice [priv]")), None);
    }

    #[test]
    fn an_sshd_checking_a_config_is_no_server() {
        assert!(checks_config(&argv(
            "/usr/sbin/sshd -T -f /etc/ssh/sshd_config"
        )));
        assert!(checks_config(&argv(
            "/usr/sbin/sshd -TCuser=a,host=b,addr=c -f x"
        )));
        assert!(checks_config(&argv("sshd -t")));
        assert!(!checks_config(&argv("/usr/sbin/sshd -D -f /tmp/-T")));
        assert!(!checks_config(&title(
            "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"
        )));
    }
}
