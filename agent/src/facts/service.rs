//! The SSH service: the sshd examined, systemd's units, sshd's processes.

use serde::{Deserialize, Serialize};

/// The OpenSSH server this diagnosis examines, decided once (`collect::service::sshd`):
/// the sshd that `sshd -T` runs, the prerequisite checks read and the rules judge.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SshdFacts {
    /// The sshd binary: `--sshd`, else the installed one; None when there is none.
    pub binary: Option<String>,
    pub source: Option<SshdSource>,
    /// OpenSSH ≥ 9.8's per-connection program, as compiled into the binary. Without it
    /// each connection re-executes sshd itself, which repeats sshd's start-up checks.
    pub session: Option<String>,
    /// OpenSSH ≥ 10's authentication program, as compiled into the binary.
    pub auth: Option<String>,
    /// The privilege separation directory compiled into the binary.
    pub privsep_dir: Option<String>,
    /// sshd, or sshd-session where it runs one, is linked with libwrap and so reads
    /// hosts.allow and hosts.deny (None when neither could be read).
    pub uses_libwrap: Option<bool>,
    /// The build accepts a host key its group may read when that group is ssh_keys
    /// (RHEL's and Fedora's patch: the name is compiled in); None when the binaries
    /// could not be read.
    #[serde(default)]
    pub accepts_ssh_keys_group: Option<bool>,
}

/// Where the examined sshd came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SshdSource {
    /// `--sshd PATH`.
    Given,
    /// The usual install paths, then $PATH.
    Installed,
}

/// What systemd says about the SSH units.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SystemdFacts {
    /// True when systemd answered over D-Bus.
    pub reachable: bool,
    /// Why systemd could not be asked, when it could not.
    pub error: Option<String>,
    /// systemd's `Version` property, e.g. "252.36-1~deb12u1".
    pub version: Option<String>,
    /// Every SSH-related unit systemd knows (loaded, masked or with a unit file), deduplicated
    /// by unit Id: `sshd.service` is an alias of `ssh.service` on Debian.
    pub units: Vec<UnitFacts>,
    /// Ubuntu's sshd-socket-generator (openssh-server 1:9.6p1-3ubuntu13 and later), when
    /// installed: it turns sshd_config's Port and ListenAddress into ssh.socket's
    /// ListenStream at boot and at every `systemctl daemon-reload`.
    #[serde(default)]
    pub socket_generator: Option<SocketGenerator>,
}

impl SystemdFacts {
    /// The SSH unit of `kind` this machine uses, among those with one of `names` (or an
    /// alias of one): the one that runs, else the one that starts at boot, else the first
    /// systemd has loaded. A machine can hold two (Debian's ssh.service beside an
    /// sshd.service of its own).
    pub fn ssh_unit(&self, kind: UnitKind, names: &[&str]) -> Option<&UnitFacts> {
        let mut candidates: Vec<&UnitFacts> = self
            .units
            .iter()
            .filter(|unit| {
                unit.kind == kind
                    && unit.load_state != "not-found"
                    && (names.contains(&unit.name.as_str())
                        || unit
                            .aliases
                            .iter()
                            .any(|alias| names.contains(&alias.as_str())))
            })
            .collect();
        // A stable sort keeps systemd's order among equals.
        candidates.sort_by_key(|unit| {
            let enabled = unit
                .unit_file_state
                .as_deref()
                .is_some_and(|state| state.starts_with("enabled"));
            (unit.active_state != "active", !enabled)
        });
        candidates.first().copied()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SocketGenerator {
    /// The generator program.
    pub path: String,
    /// The ListenStream= values of the addresses.conf it wrote at the last daemon-reload
    /// (after the "ListenStream=" that resets the unit's own); None when it wrote none,
    /// which it does when sshd_config listens as ssh.socket does by default.
    pub generated: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Service,
    Socket,
}

/// One unit as systemd reports it (properties of org.freedesktop.systemd1.Unit/Service/Socket).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnitFacts {
    /// The unit's Id (its primary name).
    pub name: String,
    /// Other names the unit answers to (aliases).
    pub aliases: Vec<String>,
    pub kind: UnitKind,
    /// loaded, not-found, masked, error, bad-setting.
    pub load_state: String,
    /// active, inactive, failed, activating, deactivating, reloading.
    pub active_state: String,
    /// running, dead, failed, listening, auto-restart, ...
    pub sub_state: String,
    /// enabled, disabled, masked, static, indirect, generated, ... (None when unknown).
    pub unit_file_state: Option<String>,
    /// success, exit-code, signal, core-dump, timeout, start-limit-hit, ...
    pub result: Option<String>,
    /// Service only: exit status (or signal number) of the main process.
    pub exec_main_status: Option<i32>,
    /// Service only: CLD_* code of the main process (1 exited, 2 killed, 3 dumped).
    pub exec_main_code: Option<i32>,
    pub main_pid: Option<u32>,
    /// Service only, systemd ≥ 235.
    pub n_restarts: Option<u32>,
    /// Microseconds since the epoch, None when never.
    pub active_enter_timestamp_us: Option<u64>,
    pub inactive_enter_timestamp_us: Option<u64>,
    pub fragment_path: Option<String>,
    /// Drop-in files that modify the unit.
    pub dropin_paths: Vec<String>,
    /// Service only: argv of each ExecStart= line, its $VARIABLES not expanded.
    pub exec_start: Vec<Vec<String>>,
    /// Service only: Environment= assignments, "NAME=value", in order.
    #[serde(default)]
    pub environment: Vec<String>,
    /// Service only: EnvironmentFile= paths, in order; "-" before one that may be missing.
    #[serde(default)]
    pub environment_files: Vec<String>,
    /// The unit's files changed since systemd loaded them (NeedDaemonReload): what runs
    /// is not what the files say until `systemctl daemon-reload`.
    #[serde(default)]
    pub need_daemon_reload: bool,
    /// The cgroup freezer's hold on the unit (systemd ≥ 246): running, freezing, frozen,
    /// thawing, or on systemd ≥ 257 frozen-by-parent and freezing-by-parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freezer_state: Option<String>,
    /// Socket only: (type, address) from the `Listen` property, e.g. ("Stream", "[::]:22").
    pub listen: Vec<(String, String)>,
    /// Socket only: `Accept=` (true means one sshd@.service instance per connection).
    pub accept: Option<bool>,
    /// Socket only: the ListenStream= lines of its drop-ins, in the order systemd reads
    /// them; an empty value resets the list before it.
    #[serde(default)]
    pub dropin_listen: Vec<super::Located<String>>,
    /// Paths that exist and that a `ConditionPathExists=!PATH` line of the unit's files
    /// names: systemd skips the start (reporting success) while they exist. Debian's
    /// ssh.service names /etc/ssh/sshd_not_to_be_run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start_blocked_by: Vec<super::Located<String>>,
    /// Units this one triggers (a socket's service).
    pub triggers: Vec<String>,
    /// The unit's cgroup ("/system.slice/ssh.service"): where its processes are.
    #[serde(default)]
    pub control_group: Option<String>,
}

impl UnitFacts {
    /// A loaded unit with nothing else known yet: the starting point for the collector's
    /// decoding and for facts built by hand.
    pub fn new(name: &str, kind: UnitKind) -> UnitFacts {
        UnitFacts {
            name: name.to_string(),
            aliases: Vec::new(),
            kind,
            load_state: "loaded".into(),
            active_state: "inactive".into(),
            sub_state: "dead".into(),
            unit_file_state: None,
            result: None,
            exec_main_status: None,
            exec_main_code: None,
            main_pid: None,
            n_restarts: None,
            active_enter_timestamp_us: None,
            inactive_enter_timestamp_us: None,
            fragment_path: None,
            dropin_paths: Vec::new(),
            exec_start: Vec::new(),
            environment: Vec::new(),
            environment_files: Vec::new(),
            need_daemon_reload: false,
            freezer_state: None,
            listen: Vec::new(),
            accept: None,
            dropin_listen: Vec::new(),
            start_blocked_by: Vec::new(),
            triggers: Vec::new(),
            control_group: None,
        }
    }

    /// TCP ports of a socket unit's `Listen` addresses: "[::]:22", "0.0.0.0:2222", "22".
    pub fn listen_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.listen
            .iter()
            .filter_map(|(_, address)| address.rsplit(':').next()?.parse().ok())
    }
}

/// sshd processes found by reading /proc, independent of systemd.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ProcessFacts {
    /// True when the processes could be listed; an empty `sshd` list then means "none
    /// running".
    pub scanned: bool,
    /// The cgroups the processes were listed from (the running SSH units' and the login
    /// sessions'), when systemd runs SSH; empty when every process in /proc was read.
    #[serde(default)]
    pub cgroups: Vec<String>,
    /// Inode of this process's network namespace (/proc/self/ns/net).
    pub own_net_namespace: Option<u64>,
    pub sshd: Vec<SshdProcess>,
    /// The pid file sshd writes (PidFile, default /run/sshd.pid or /var/run/sshd.pid).
    pub pid_file: Option<PidFile>,
}

impl ProcessFacts {
    /// sshd listeners that serve this machine's network: the ones in our network
    /// namespace (all of them when namespaces cannot be told apart). An sshd in a
    /// container's namespace accepts no connection to this machine's addresses.
    pub fn local_listeners(&self) -> impl Iterator<Item = &SshdProcess> {
        self.sshd.iter().filter(move |process| {
            process.is_listener
                && (self.own_net_namespace.is_none()
                    || process.net_namespace.is_none()
                    || process.net_namespace == self.own_net_namespace)
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SshdProcess {
    pub pid: u32,
    pub ppid: u32,
    pub comm: String,
    pub cmdline: Vec<String>,
    /// True for the listener (the daemon that accepts connections), false for per-session
    /// children (`sshd: user [priv]`).
    pub is_listener: bool,
    /// The `-f FILE` this sshd was started with, if any.
    pub config_path: Option<String>,
    /// Start time in microseconds since the epoch.
    pub start_time_us: Option<u64>,
    /// Inode of the process's network namespace; a container's sshd has its own.
    pub net_namespace: Option<u64>,
    /// The scheduler state from /proc/PID/stat: R running, S sleeping, D in
    /// uninterruptible wait, T stopped (SIGSTOP, a debugger), Z exited but not reaped.
    #[serde(default)]
    pub state: Option<char>,
    /// Milliseconds since it last ran on a CPU (/proc/PID/sched), where the kernel tells:
    /// for a stopped process, about how long it has been stopped.
    #[serde(default)]
    pub off_cpu_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidFile {
    pub path: String,
    pub pid: Option<u32>,
    /// The pid in the file names a running process.
    pub alive: bool,
}

/// The SSH service as OpenRC keeps it (Alpine, Gentoo), where systemd does not run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenRcFacts {
    /// The service's name: sshd (Alpine, Gentoo), or ssh (Debian's script).
    pub service: String,
    /// Its init script, /etc/init.d/SERVICE.
    pub script: String,
    /// What OpenRC recorded: started, starting, stopping, inactive, failed, or stopped
    /// (no record).
    pub state: String,
    /// The pid file the service's sshd writes (OpenRC's record of the daemon, else
    /// /run/SERVICE.pid), and whether the process it names lives.
    pub pid_file: Option<PidFile>,
    /// Runlevels the service is in (/etc/runlevels/LEVEL/SERVICE), sorted.
    pub runlevels: Vec<String>,
    /// The runlevel the system is in (/run/openrc/softlevel): OpenRC booted it.
    pub softlevel: Option<String>,
    /// /etc/conf.d/SERVICE, where it exists: the script's settings (command_args,
    /// cfgfile).
    pub conf_file: Option<String>,
}

/// The SSH service as a SysV init script runs it, where neither systemd nor OpenRC
/// booted the system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SysvFacts {
    /// The script's name: ssh (Debian) or sshd (RHEL).
    pub service: String,
    /// /etc/init.d/SERVICE.
    pub script: String,
    /// Links to the script in the runlevel directories (/etc/rcN.d/SNNname starts it in
    /// runlevel N, KNNname stops it), sorted.
    pub links: Vec<String>,
    /// The runlevel /etc/inittab boots into; None without one (2 to 5 then count).
    pub default_runlevel: Option<String>,
    /// The pid file the script's sshd writes, and whether the process it names lives.
    pub pid_file: Option<PidFile>,
    /// The tool that adds the script's links: update-rc.d or chkconfig; None: neither.
    pub enable_tool: Option<String>,
    /// Directories the script makes before it starts sshd (Debian's: /run/sshd).
    #[serde(default)]
    pub makes_dirs: Vec<String>,
    /// A file whose existence makes the script's start do nothing and succeed, where it
    /// exists: Debian's /etc/ssh/sshd_not_to_be_run.
    #[serde(default)]
    pub start_blocked_by: Option<String>,
}

impl SysvFacts {
    /// A start link in a runlevel the system boots into.
    pub fn starts_at_boot(&self) -> bool {
        self.boot_link('S')
    }

    /// A stop link in a runlevel the system boots into: `update-rc.d disable` (or
    /// `chkconfig off`) turned the start links into these.
    pub fn disabled_at_boot(&self) -> bool {
        self.boot_link('K')
    }

    /// The runlevels that boot the system: inittab's, else the multi-user ones.
    pub fn boot_runlevels(&self) -> Vec<&str> {
        match &self.default_runlevel {
            Some(level) => vec![level.as_str()],
            None => vec!["2", "3", "4", "5"],
        }
    }

    /// A link of `kind` (S or K) in a runlevel that boots the system.
    fn boot_link(&self, kind: char) -> bool {
        let levels = self.boot_runlevels();
        self.links.iter().any(|link| {
            let mut parts = link.rsplit('/');
            let (Some(name), Some(dir)) = (parts.next(), parts.next()) else {
                return false;
            };
            let level = dir.trim_start_matches("rc").trim_end_matches(".d");
            name.starts_with(kind) && levels.contains(&level)
        })
    }
}

impl OpenRcFacts {
    /// Runlevels that start the service at boot: the standard ones, and the one the
    /// system is in now.
    pub fn starts_at_boot(&self) -> bool {
        self.runlevels.iter().any(|level| {
            ["sysinit", "boot", "default"].contains(&level.as_str())
                || self.softlevel.as_deref() == Some(level.as_str())
        })
    }
}
