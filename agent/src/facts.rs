//! The facts sshdoctor gathers about a machine: plain, serializable data.
//!
//! Collectors (in `collect`) fill these structs and only read the system; rules (in
//! `rules`) read them and never touch the system. Keeping the schema here, in one place,
//! is what lets a rule be tested from a fixture and a new check be "a field plus a rule".

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Everything known about the machine after one diagnosis.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Facts {
    pub host: HostFacts,
    /// The OpenSSH server examined, resolved once.
    #[serde(default)]
    pub sshd: SshdFacts,
    pub systemd: SystemdFacts,
    pub processes: ProcessFacts,
    pub sockets: SocketFacts,
    pub interfaces: InterfaceFacts,
    pub config: SshdConfigFacts,
    pub cloud: CloudFacts,
    pub health: HealthFacts,
    pub prereqs: PrereqFacts,
    pub firewall: FirewallFacts,
    pub selinux: SelinuxFacts,
    pub logs: LogFacts,
    pub auth: AuthFacts,
    /// What the running sshd answered when asked, as a client meets it.
    #[serde(default)]
    pub live: LiveFacts,
    /// PAM's stacks for sshd: what a login passes through after the key is accepted.
    #[serde(default)]
    pub pam: PamFacts,
}

/// Who and what this machine is.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct HostFacts {
    pub hostname: Option<String>,
    /// `ID` from /etc/os-release (debian, ubuntu, rhel, azurelinux, ...).
    pub os_id: Option<String>,
    /// `ID_LIKE` from /etc/os-release, split on spaces.
    pub os_id_like: Vec<String>,
    pub os_pretty_name: Option<String>,
    pub os_version_id: Option<String>,
    pub kernel: Option<String>,
    pub euid: u32,
    pub is_root: bool,
    /// Command name of PID 1 (`systemd`, `init`, `bash` in a container, ...).
    pub pid1_comm: Option<String>,
}

impl HostFacts {
    /// Debian or a derivative (Ubuntu): ssh.service, apt, Debian's StrictModes patch.
    pub fn is_debian_like(&self) -> bool {
        self.os_id
            .iter()
            .chain(&self.os_id_like)
            .any(|id| id == "debian" || id == "ubuntu")
    }
}

/// The OpenSSH server this diagnosis examines, decided once (`collect::sshd`): the sshd
/// that `sshd -T` runs, the prerequisite checks read and the rules judge.
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
    /// Service only: argv of each ExecStart= line.
    pub exec_start: Vec<Vec<String>>,
    /// Socket only: (type, address) from the `Listen` property, e.g. ("Stream", "[::]:22").
    pub listen: Vec<(String, String)>,
    /// Socket only: `Accept=` (true means one sshd@.service instance per connection).
    pub accept: Option<bool>,
    /// Units this one triggers (a socket's service).
    pub triggers: Vec<String>,
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
            listen: Vec::new(),
            accept: None,
            triggers: Vec::new(),
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
    /// True when /proc could be scanned; an empty `sshd` list then means "none running".
    pub scanned: bool,
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PidFile {
    pub path: String,
    pub pid: Option<u32>,
    /// The pid in the file names a running process.
    pub alive: bool,
}

/// Where the listening-socket list came from.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SocketSource {
    #[default]
    None,
    /// NETLINK_SOCK_DIAG inet_diag dump, like `ss`.
    Netlink,
    /// /proc/net/tcp and /proc/net/tcp6.
    ProcNet,
}

/// TCP sockets in LISTEN state, like `ss -ltpn`, and the connections on SSH's ports.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SocketFacts {
    pub source: SocketSource,
    pub listeners: Vec<ListeningSocket>,
    /// Connections on SSH's ports now (handshakes, sessions, recent closes), the live
    /// evidence of whether clients' packets reach this machine and get answers back.
    /// At most `MAX_CONNECTIONS_KEPT`, handshakes first; `connections_total` counts all.
    #[serde(default)]
    pub connections: Vec<TcpConnection>,
    #[serde(default)]
    pub connections_total: usize,
    /// True when every listener on an SSH port was matched to a process (or every
    /// process was examined).
    pub owners_complete: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListeningSocket {
    pub address: IpAddr,
    pub port: u16,
    /// IPV6_V6ONLY for AF_INET6 sockets, when the source tells it.
    pub v6only: Option<bool>,
    pub uid: u32,
    pub inode: u64,
    /// Interface the socket is bound to (SO_BINDTODEVICE), when known.
    pub bound_device: Option<String>,
    /// Processes holding the socket. Searched to the end only for SSH's ports (22, the
    /// configured ones, a socket unit's); elsewhere, the holders met on the way.
    pub owners: Vec<SocketOwner>,
    /// Connections completed by the kernel and waiting for the daemon to accept them.
    #[serde(default)]
    pub accept_queue: Option<u32>,
    /// The most the accept queue holds (listen's backlog); netlink tells, /proc/net not.
    #[serde(default)]
    pub accept_backlog: Option<u32>,
}

/// A TCP connection whose local port is one of SSH's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpConnection {
    pub local_address: IpAddr,
    pub local_port: u16,
    pub remote_address: IpAddr,
    pub remote_port: u16,
    pub state: ConnectionState,
    /// Retransmissions still unanswered (for a handshake, SYN-ACKs sent again), when
    /// netlink tells; /proc/net/tcp does not. A SYN-ACK a local firewall drops is not
    /// counted: the kernel counts only what it could send.
    pub retransmits: Option<u8>,
    /// For a handshake: still half-open when the table was read again this many
    /// milliseconds later (a handshake completes within one round trip).
    #[serde(default)]
    pub half_open_ms: Option<u32>,
    /// A process holds the connection (the kernel reports its inode): the daemon accepted
    /// it. An established connection no process holds still waits in the accept queue.
    #[serde(default)]
    pub accepted: Option<bool>,
}

impl TcpConnection {
    /// The peer is this machine (127.0.0.0/8, ::1, or a v4-mapped loopback address).
    pub fn from_loopback(&self) -> bool {
        match self.remote_address {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        }
    }
}

/// The kernel's TCP states a connection can be in (LISTEN is a listener's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// The client's SYN arrived and was answered; its ACK has not come yet.
    SynRecv,
    Established,
    SynSent,
    FinWait1,
    FinWait2,
    CloseWait,
    LastAck,
    Closing,
    TimeWait,
    Close,
}

impl ConnectionState {
    /// Established or half-closed by the client only: a daemon would hold it.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ConnectionState::Established | ConnectionState::CloseWait
        )
    }

    /// From the kernel's number (include/net/tcp_states.h); None for LISTEN and unknowns.
    pub fn from_kernel(state: u8) -> Option<ConnectionState> {
        Some(match state {
            1 => ConnectionState::Established,
            2 => ConnectionState::SynSent,
            3 | 12 => ConnectionState::SynRecv, // 12: TCP_NEW_SYN_RECV, a request socket
            4 => ConnectionState::FinWait1,
            5 => ConnectionState::FinWait2,
            6 => ConnectionState::TimeWait,
            7 => ConnectionState::Close,
            8 => ConnectionState::CloseWait,
            9 => ConnectionState::LastAck,
            11 => ConnectionState::Closing,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SocketOwner {
    pub pid: u32,
    pub comm: String,
    pub fd: u32,
    /// The systemd unit whose cgroup holds the process (/proc/PID/cgroup), when any.
    #[serde(default)]
    pub unit: Option<String>,
}

/// Links, addresses and default routes, as rtnetlink reports them.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct InterfaceFacts {
    pub addresses: Vec<InterfaceAddress>,
    pub links: Vec<LinkFacts>,
    /// Default routes of the main table.
    pub default_routes: Vec<DefaultRoute>,
    /// The route table was read: an empty `default_routes` then means there is none.
    pub routes_read: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkFacts {
    pub index: u32,
    pub name: String,
    /// IFF_UP: administratively up.
    pub up: bool,
    /// The driver reports a carrier (cable in, vNIC attached).
    pub carrier: Option<bool>,
    /// RFC 2863 operational state: up, down, lowerlayerdown, unknown, ...
    pub oper_state: String,
    pub loopback: bool,
    pub mac: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DefaultRoute {
    /// "inet" or "inet6".
    pub family: String,
    pub gateway: Option<IpAddr>,
    pub interface: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InterfaceAddress {
    pub interface: String,
    pub address: IpAddr,
    pub up: bool,
    pub loopback: bool,
}

/// A value with the place it came from, for evidence ("file:line").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Located<T> {
    pub value: T,
    pub file: String,
    pub line: u32,
}

impl<T> Located<T> {
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressFamily {
    #[default]
    Any,
    Inet,
    Inet6,
}

/// One `ListenAddress` directive: `host`, `host:port`, `[v6]:port`, optional `rdomain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenAddress {
    pub host: String,
    pub port: Option<u16>,
    pub rdomain: Option<String>,
}

/// A (host, port) pair sshd will try to bind, derived the way sshd derives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Literal address or host name; "0.0.0.0" / "::" for the wildcard.
    pub host: String,
    pub port: u16,
    /// Where this endpoint comes from (the ListenAddress or Port line; None = built-in default).
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// sshd_config as sshd reads it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SshdConfigFacts {
    /// The main config file.
    pub path: String,
    /// Why this path: "default", "--config", "ExecStart of ssh.service", "sshd cmdline".
    pub path_source: String,
    /// The main file could be read.
    pub readable: bool,
    /// Why the main file could not be read.
    pub read_error: Option<String>,
    /// Every file read, main first, then Includes in the order sshd reads them.
    pub files: Vec<String>,
    /// Problems found while parsing (unknown keyword, bad value, missing Include, loop).
    pub problems: Vec<ConfigProblem>,
    /// Drop-ins beside the main file (`sshd_config.d/*.conf`) that no Include reads.
    #[serde(default)]
    pub ignored_dropins: Vec<String>,
    /// Azure's "Reset SSH configuration" (VMAccess) keeps the sshd_config it replaced here.
    #[serde(default)]
    pub vmaccess_backup: Option<String>,
    /// Effective Port values of the global section (default [22] when none is set).
    pub ports: Vec<Located<u16>>,
    pub listen_addresses: Vec<Located<ListenAddress>>,
    pub address_family: Option<Located<AddressFamily>>,
    /// What sshd will bind, derived from Port, ListenAddress and AddressFamily.
    pub endpoints: Vec<Endpoint>,
    /// Every global keyword (lower-case) with its values in effect (first value wins, except
    /// for keywords that accumulate).
    pub global: std::collections::BTreeMap<String, Vec<Located<String>>>,
    pub match_blocks: Vec<MatchBlock>,
    /// The syntax check: the `sshd -T` run (it makes every check `sshd -t` makes), when
    /// the binary exists.
    pub syntax_check: Option<SshdRun>,
    /// `sshd -T` result, when the binary exists and the config is valid.
    pub effective: Option<EffectiveConfig>,
    /// Disagreements between this parser and `sshd -T` (a bug in one or the other).
    pub discrepancies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigProblem {
    pub file: String,
    pub line: Option<u32>,
    pub message: String,
    /// True when sshd itself refuses to start with it (e.g. a bad keyword).
    pub fatal: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatchBlock {
    /// The criteria as written, e.g. "User alice Address 10.0.0.0/8".
    pub criteria: String,
    pub file: String,
    pub line: u32,
    pub settings: std::collections::BTreeMap<String, Vec<Located<String>>>,
}

/// One run of the sshd binary (`-t` or `-T`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SshdRun {
    pub command: Vec<String>,
    /// None when it timed out or could not start.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// The missing privilege-separation directory sshd ran with an empty stand-in for
    /// (in a private mount namespace; the system's /run is untouched).
    #[serde(default)]
    pub privsep_stand_in: Option<String>,
    /// The failure is about the machine rather than the config text (missing host keys,
    /// missing privilege separation directory, not root): the config was not judged.
    #[serde(default)]
    pub environment_problem: bool,
    /// First error line sshd printed, e.g. "/etc/ssh/sshd_config: line 14: Bad configuration option: Bogus".
    pub error: Option<String>,
    /// The file and line that error names, when it names one.
    pub error_file: Option<String>,
    pub error_line: Option<u32>,
    /// Stderr, truncated.
    pub stderr: String,
}

/// The configuration `sshd -T` prints: what sshd would really use.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EffectiveConfig {
    pub ports: Vec<u16>,
    pub listen_addresses: Vec<String>,
    pub address_family: Option<String>,
    /// Every keyword (lower-case) with its values, in sshd's order.
    pub settings: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloudProvider {
    Azure,
    Aws,
    Gcp,
}

/// The cloud this VM runs in, and on Azure its names, for pasteable `az` commands.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct CloudFacts {
    pub provider: Option<CloudProvider>,
    /// The DMI field that identified the cloud.
    pub detected_by: Option<String>,
    pub dmi: DmiFacts,
    /// From Azure's instance metadata service, when asked and it answered.
    pub azure: Option<AzureInstance>,
}

/// /sys/class/dmi/id fields that tell clouds apart.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct DmiFacts {
    pub sys_vendor: Option<String>,
    pub product_name: Option<String>,
    pub product_version: Option<String>,
    pub bios_vendor: Option<String>,
    pub chassis_asset_tag: Option<String>,
    /// On EC2 Nitro instances, the instance id ("i-0abc...").
    pub board_asset_tag: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AzureInstance {
    pub subscription_id: String,
    pub resource_group: String,
    pub vm_name: String,
    pub location: Option<String>,
    pub vm_id: Option<String>,
    pub private_ipv4: Vec<String>,
    pub public_ipv4: Vec<String>,
}

/// Host health that breaks logins: full disks, exhausted memory, the OOM killer.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct HealthFacts {
    /// One entry per filesystem holding a path a login writes to (/, /var, /tmp, /run, /home).
    pub filesystems: Vec<FilesystemUsage>,
    pub memory: Option<MemoryFacts>,
    /// 1, 5 and 15 minute load averages.
    pub load_average: Option<[f32; 3]>,
    /// OOM kills still in the kernel's ring buffer.
    pub oom_kills: Vec<OomKill>,
    /// Netfilter's connection tracking; None when it is not loaded (nothing is tracked,
    /// so nothing is dropped for want of room).
    #[serde(default)]
    pub conntrack: Option<ConntrackFacts>,
}

/// The connection-tracking table: when it is full the kernel drops every new connection,
/// SSH's included, before any firewall rule or sshd sees it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConntrackFacts {
    /// net.netfilter.nf_conntrack_count and nf_conntrack_max.
    pub entries: u64,
    pub max: u64,
    /// Packets dropped since boot because the table was full: the "drop" column of
    /// /proc/net/stat/nf_conntrack, summed over CPUs.
    pub drops: Option<u64>,
    /// "nf_conntrack: table full, dropping packet" lines still in the kernel log (the
    /// kernel rate-limits them), and the newest one's time.
    pub table_full_messages: u32,
    pub last_table_full_seconds_since_boot: Option<u64>,
}

impl ConntrackFacts {
    /// Percent of the table in use; a max of 0 means no limit, as the kernel reads it.
    pub fn used_percent(&self) -> f64 {
        percent(self.entries, self.max)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FilesystemUsage {
    /// The path looked at (the first of the list on this filesystem).
    pub path: String,
    pub mount_point: String,
    pub fs_type: Option<String>,
    pub source: Option<String>,
    pub total_bytes: u64,
    /// Free, including blocks reserved for root.
    pub free_bytes: u64,
    /// Free for unprivileged users (what a login's session can use).
    pub available_bytes: u64,
    pub total_inodes: u64,
    pub free_inodes: u64,
    pub read_only: bool,
}

impl FilesystemUsage {
    /// Percent used as `df` shows it: used / (used + available).
    pub fn used_percent(&self) -> f64 {
        let used = self.total_bytes.saturating_sub(self.free_bytes);
        percent(used, used + self.available_bytes)
    }

    pub fn inodes_used_percent(&self) -> f64 {
        percent(
            self.total_inodes.saturating_sub(self.free_inodes),
            self.total_inodes,
        )
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryFacts {
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_free_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OomKill {
    pub pid: u32,
    pub comm: String,
    pub seconds_since_boot: u64,
    /// The kernel's line, e.g. "Out of memory: Killed process 812 (sshd) ...".
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    File,
    Directory,
    Other,
    /// Does not exist, or could not be examined (see `error`).
    Missing,
}

/// A path's owner and mode as stat(2) reports them (following symlinks).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileStat {
    pub path: String,
    /// False only when the path does not exist; an unreadable path exists.
    pub exists: bool,
    pub kind: FileKind,
    /// Permission bits (including setuid/setgid/sticky).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub group: Option<String>,
    pub error: Option<String>,
}

impl FileStat {
    /// Why a program at this path cannot be run, if it cannot: what sshd finds when it
    /// executes a shell, a forced command or its own helpers.
    pub fn program_problem(&self) -> Option<&'static str> {
        match self.kind {
            FileKind::Missing if !self.exists => Some("does not exist"),
            FileKind::Missing => Some("cannot be examined"),
            FileKind::File if self.mode.is_some_and(|mode| mode & 0o111 == 0) => {
                Some("is not executable")
            }
            FileKind::File => None,
            _ => Some("is not a file"),
        }
    }

    /// Writable by group or others: what sshd's StrictModes and privsep checks refuse.
    pub fn group_or_other_writable(&self) -> bool {
        self.mode.is_some_and(|mode| mode & 0o022 != 0)
    }
}

/// What sshd needs before it accepts anyone.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct PrereqFacts {
    pub host_keys: Vec<HostKey>,
    /// The privilege-separation (chroot) directory, when known.
    pub privsep_dir: Option<FileStat>,
    /// How the directory was determined.
    pub privsep_dir_source: String,
    pub privsep_user: String,
    pub privsep_user_exists: Option<bool>,
    /// /etc/ssh and everything below it.
    pub etc_ssh: Vec<FileStat>,
    /// The programs OpenSSH 9.8+ sshd runs for each connection (sshd-session, and
    /// sshd-auth from 10.0): it refuses to start, and ends every connection, without them.
    #[serde(default)]
    pub helpers: Vec<SshdHelper>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SshdHelper {
    /// "sshd-session" or "sshd-auth".
    pub name: String,
    pub stat: FileStat,
    /// How its path was found: "sshd -T" (SshdSessionPath, SshdAuthPath), or "compiled
    /// into /usr/sbin/sshd".
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostKey {
    pub path: String,
    /// Where the path came from: "sshd -T", a HostKey line "file:line", or None for the
    /// built-in defaults.
    pub source: Option<String>,
    pub private: FileStat,
    pub public_exists: bool,
    /// The key loaded as sshd loads it; None when it could not be tried.
    #[serde(default)]
    pub load: Option<HostKeyLoad>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostKeyLoad {
    pub loaded: bool,
    /// The key's type as OpenSSH names it (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256).
    pub key_type: Option<String>,
    /// What OpenSSH's loader said when it failed ("invalid format").
    pub error: Option<String>,
}

/// The local firewall's rulesets, as its own tools print them. Collected, not judged.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct FirewallFacts {
    /// `nft -j list ruleset`, None when nft is absent or could not list.
    pub nftables: Option<NftRuleset>,
    /// One ruleset per `*-save` tool that ran: iptables/ip6tables, nft and legacy backends.
    pub iptables: Vec<IptablesRuleset>,
    /// None when firewall-cmd is absent.
    pub firewalld: Option<FirewalldFacts>,
    /// None when ufw is not installed.
    pub ufw: Option<UfwFacts>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct NftRuleset {
    pub tables: Vec<NftTable>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NftTable {
    /// ip, ip6, inet, arp, bridge, netdev.
    pub family: String,
    pub name: String,
    pub chains: Vec<NftChain>,
    /// Named sets, for `@name` references in rules.
    pub sets: Vec<NftSet>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NftChain {
    pub name: String,
    /// Base chains only: input, prerouting, ...
    pub hook: Option<String>,
    /// Base chains only: filter, nat, route.
    pub chain_type: Option<String>,
    pub priority: Option<i64>,
    /// Base chains only: accept or drop.
    pub policy: Option<String>,
    pub rules: Vec<NftRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NftRule {
    pub handle: u64,
    /// The rule as `nft -a list ruleset` prints it, when that listing worked.
    pub text: Option<String>,
    /// The statements of the rule, in libnftables JSON (matches, counters, the verdict).
    pub expr: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NftSet {
    pub name: String,
    /// Elements in libnftables JSON: values, `{"range": [a, b]}`, `{"prefix": ...}`.
    pub elements: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpFamily {
    Ipv4,
    Ipv6,
}

/// The output of one `iptables-save`-like tool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IptablesRuleset {
    /// The tool that printed it, e.g. `iptables-nft-save`.
    pub command: String,
    pub family: IpFamily,
    /// "nf_tables" or "legacy", from the tool's header line.
    pub backend: Option<String>,
    pub tables: Vec<IptablesTable>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IptablesTable {
    pub name: String,
    pub chains: Vec<IptablesChain>,
    pub rules: Vec<IptablesRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IptablesChain {
    pub name: String,
    /// ACCEPT or DROP for built-in chains, None for user chains ("-").
    pub policy: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IptablesRule {
    pub chain: String,
    /// Line number in the tool's output.
    pub line: u32,
    /// The `-A CHAIN ...` line as printed.
    pub text: String,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct FirewalldFacts {
    /// `firewall-cmd --state` says "running".
    pub running: bool,
    pub default_zone: Option<String>,
    pub active_zones: Vec<FirewalldActiveZone>,
    /// `--list-all` of every active zone (the default zone when none is active).
    pub zones: Vec<FirewalldZone>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FirewalldActiveZone {
    pub name: String,
    pub interfaces: Vec<String>,
    pub sources: Vec<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct FirewalldZone {
    pub name: String,
    /// default, ACCEPT, DROP, %%REJECT%%.
    pub target: Option<String>,
    pub interfaces: Vec<String>,
    pub sources: Vec<String>,
    pub services: Vec<String>,
    /// "2222/tcp", "60000-61000/udp".
    pub ports: Vec<String>,
    pub rich_rules: Vec<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct UfwFacts {
    /// `ufw status verbose`, or the files under /etc/ufw when it could not run.
    pub source: String,
    pub active: bool,
    /// allow, deny or reject.
    pub default_incoming: Option<String>,
    pub rules: Vec<UfwRule>,
}

/// One row of `ufw status verbose`: "22/tcp  ALLOW IN  Anywhere".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UfwRule {
    pub to: String,
    /// ALLOW IN, DENY IN, REJECT IN, LIMIT IN, ALLOW OUT, ...
    pub action: String,
    pub from: String,
}

/// The file that sets SELinux's mode at the next boot, which `SelinuxFacts::config_mode`
/// comes from.
pub const SELINUX_CONFIG: &str = "/etc/selinux/config";

/// SELinux now and at the next boot, and the ports sshd may bind under it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SelinuxFacts {
    /// "enforcing" or "permissive" from selinuxfs; None when SELinux is off in the kernel.
    pub kernel_mode: Option<String>,
    /// `SELINUX=` in /etc/selinux/config: what the next boot loads.
    pub config_mode: Option<String>,
    /// `SELINUXTYPE=`, e.g. "targeted".
    pub config_type: Option<String>,
    /// Whether /etc/selinux/TYPE exists (a missing policy stops an enforcing boot).
    pub policy_installed: Option<bool>,
    pub config_problems: Vec<String>,
    /// TCP ports labeled ssh_port_t: 22 from the base policy plus local labels.
    pub ssh_ports: Vec<PortRange>,
    /// The ports.local file the local labels came from.
    pub ports_source: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

/// sshd's recent log lines: its own account of refused logins and failed starts.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct LogFacts {
    /// What was read, oldest first: "journal", "/var/log/auth.log.1", "/var/log/auth.log".
    pub sources: Vec<String>,
    /// sshd lines found in those sources; only the newest are kept in `lines`.
    pub lines_found: usize,
    /// The newest sshd lines, oldest first.
    pub lines: Vec<LogLine>,
    /// When the log was read, in seconds since the epoch: how recent a line is.
    #[serde(default)]
    pub read_at: Option<i64>,
    /// The newest change (modification or status change, seconds since the epoch) to the
    /// files that decide a login: sshd's config files, the PAM stack and its rules, the
    /// account databases, the examined users' keys files and the directories above them.
    /// A refusal older than that may have been fixed since.
    #[serde(default)]
    pub login_files_changed_at: Option<i64>,
}

/// One line sshd logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// When: RFC 3339 from the journal and from RFC 3339 syslog stamps; a classic syslog
    /// stamp ("Nov 24 07:00:00": local time, no year) as written.
    pub time: Option<String>,
    pub pid: Option<u32>,
    /// The message after "sshd[PID]: ".
    pub message: String,
    /// "journal", or "FILE:LINE" ("FILE, byte OFFSET" when the file was too long to count).
    pub source: String,
    /// Logged for one of sshdoctor's own live probes (its connection came from the
    /// probes' loopback range): not a client's experience.
    #[serde(default)]
    pub own_probe: bool,
}

/// The authentication path, per user: the account, the keys sshd would read, and the
/// settings that let the user in or keep them out.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct AuthFacts {
    pub users: Vec<UserAuth>,
    /// Accounts left out because of the bound on how many are examined.
    pub users_omitted: Vec<String>,
    /// The admin user the VM was provisioned with, when the provisioning agent left it.
    pub provisioned_admin: Option<ProvisionedAdmin>,
    /// Days since the epoch when collected, for shadow(5) dates.
    pub today_days: i64,
    /// /etc/nologin and /run/nologin, when present.
    pub nologin_files: Vec<NologinFile>,
    pub tcp_wrappers: TcpWrappersFacts,
    /// AuthorizedKeysCommand as the global configuration sets it.
    pub keys_command: Option<KeysCommand>,
    /// The key files the global configuration names for sshd itself to read:
    /// RevokedKeys and TrustedUserCAKeys.
    #[serde(default)]
    pub server_key_files: Vec<ServerKeyFile>,
    /// This sshd carries Debian's user-group-modes patch (Debian, Ubuntu): StrictModes
    /// accepts group write when the group has the user as its only member.
    pub strict_modes_allows_private_group: bool,
}

/// A file of keys sshd reads as root while it checks a user's key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerKeyFile {
    /// "revokedkeys" or "trustedusercakeys".
    pub keyword: String,
    pub stat: FileStat,
    /// Where the setting is: "file:line", or "sshd -T".
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvisionedAdmin {
    pub name: String,
    /// The file it was read from, e.g. /var/lib/waagent/ovf-env.xml.
    pub source: String,
}

/// Why a user is examined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// Named with `--user`.
    Requested,
    /// The admin user the VM was provisioned with.
    Provisioned,
    Root,
    /// An account with a login shell and a home directory.
    Discovered,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserAuth {
    pub name: String,
    pub role: UserRole,
    /// None when getpwnam finds no such user.
    pub account: Option<Account>,
    /// The sshd settings in effect for this user.
    pub settings: UserSettings,
    /// Each AuthorizedKeysFile, expanded for this user.
    pub keys_files: Vec<KeysFile>,
    /// Keys in the default place (~/.ssh/authorized_keys, ~/.ssh/authorized_keys2) that
    /// sshd does not read, because AuthorizedKeysFile names other files.
    #[serde(default)]
    pub unread_keys_files: Vec<UnreadKeysFile>,
    /// What sshd needs once it has let the user in: the chroot and the forced command.
    #[serde(default)]
    pub session: SessionFacts,
}

/// The paths a session of this user runs through (session.c): ChrootDirectory and the
/// program ForceCommand names, each as sshd will find it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SessionFacts {
    pub chroot: Option<ChrootFacts>,
    /// ForceCommand's program, when its first word is a path (inside the chroot, when
    /// there is one): None for internal-sftp, a shell builtin, or a name PATH resolves.
    pub force_command_program: Option<FileStat>,
    /// The expansion of a setting failed (an unknown %token): why.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChrootFacts {
    /// ChrootDirectory with %h, %u, %U and ~ expanded.
    pub path: String,
    /// What safely_chroot checks, / first: each component must be a root-owned
    /// directory that group and others cannot write.
    pub components: Vec<FileStat>,
    /// The user's shell as the session will look it up inside the chroot; None when the
    /// session needs none (ForceCommand internal-sftp).
    pub shell: Option<FileStat>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnreadKeysFile {
    pub path: String,
    /// The key lines sshd could parse there.
    pub keys: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    /// As in /etc/passwd; empty means /bin/sh.
    pub shell: String,
    /// Primary and supplementary group names (what AllowGroups/DenyGroups see).
    pub groups: Vec<String>,
    /// None when /etc/shadow has no entry for the user or could not be read.
    pub shadow: Option<ShadowEntry>,
    pub shell_stat: FileStat,
    /// The shell is listed in /etc/shells (None when that file could not be read).
    pub shell_listed: Option<bool>,
    pub home_stat: FileStat,
}

/// What the shadow(5) password field allows: never the field itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordState {
    /// A password hash.
    Usable,
    /// Empty: a login without password (sshd needs PermitEmptyPasswords).
    Empty,
    /// Starts with "!": locked (usermod -L, passwd -l), sshd's LOCKED_PASSWD_PREFIX on Linux.
    Locked,
    /// "*" or anything else that is not a hash: no password login, keys still work.
    NoPassword,
}

/// The classification of one /etc/shadow entry; dates are days since the epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShadowEntry {
    pub password: PasswordState,
    /// Field 3; 0 means "must change at next login".
    pub last_change: Option<i64>,
    /// Field 5.
    pub max_days: Option<i64>,
    /// Field 7.
    pub inactive_days: Option<i64>,
    /// Field 8: the account expires after this day.
    pub expire: Option<i64>,
}

/// Where a user's sshd settings came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingsSource {
    /// `sshd -T -C user=...`: Match blocks evaluated by sshd itself.
    SshdT,
    /// The parser's global values with sshd's defaults; Match blocks not evaluated.
    Parser,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserSettings {
    pub source: SettingsSource,
    /// The command line when `sshd -T` was used.
    pub command: Option<String>,
    /// The keywords the authentication path depends on (lower-case), as words.
    pub values: std::collections::BTreeMap<String, Vec<String>>,
    /// Where the parser saw each keyword set ("file:line"), for evidence.
    pub locations: std::collections::BTreeMap<String, String>,
}

impl UserSettings {
    /// The first word of a setting.
    pub fn first(&self, keyword: &str) -> Option<&str> {
        self.values.get(keyword)?.first().map(String::as_str)
    }

    /// Where a setting comes from: its line, else how the settings were found.
    pub fn origin(&self, keyword: &str) -> String {
        match (self.locations.get(keyword), &self.command) {
            (Some(location), _) => location.clone(),
            (None, Some(command)) => command.clone(),
            (None, None) => "sshd's built-in default".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeysFile {
    /// As configured, e.g. ".ssh/authorized_keys" or "/etc/ssh/keys/%u".
    pub pattern: String,
    pub path: String,
    pub stat: FileStat,
    /// What StrictModes examines (auth.c auth_secure_path): the file, then each directory
    /// up to the home directory or /. Empty when the file does not exist.
    pub chain: Vec<StrictModesEntry>,
    /// Why the user could not read it (sshd opens it with the user's uid).
    pub unreadable_by_user: Option<String>,
    pub keys: Vec<AuthorizedKey>,
    /// Lines sshd skips: unparsable or with bad options.
    pub bad_lines: Vec<BadKeyLine>,
    /// The file was longer than the bound and only its start was read.
    pub truncated: bool,
}

/// One path StrictModes examines.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StrictModesEntry {
    pub stat: FileStat,
    /// Group-writable, and the group has the user as its only member (primary or
    /// supplementary), as Debian's misc.c secure_permissions counts them.
    pub private_group: bool,
}

/// A key line sshd can read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizedKey {
    pub line: u32,
    pub key_type: String,
    /// Option names only (values such as command= may be sensitive).
    pub options: Vec<String>,
    pub comment: Option<String>,
    /// The from="..." patterns: the client addresses this key is limited to.
    #[serde(default)]
    pub from: Option<String>,
    /// expiry-time="..." as written (YYYYMMDD[HHMM[SS]], "Z" for UTC).
    #[serde(default)]
    pub expiry_time: Option<String>,
    /// The program command="..." runs instead of the session, when its first word is a
    /// path (the rest of the command is not kept: it may hold secrets).
    #[serde(default)]
    pub command_program: Option<FileStat>,
    /// The public key as sshd reads it, "TYPE BASE64", for asking the live sshd about it;
    /// kept out of the JSON (it is long, and the fingerprint names the key there).
    #[serde(skip)]
    pub public_key: String,
}

impl AuthorizedKey {
    /// A cert-authority line: the key of a CA whose certificates the user logs in with,
    /// never accepted as a plain key.
    pub fn is_cert_authority(&self) -> bool {
        self.options.iter().any(|option| option == "cert-authority")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BadKeyLine {
    pub line: u32,
    pub problem: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NologinFile {
    pub path: String,
    /// Its first line, the message users see.
    pub message: String,
}

/// TCP wrappers: /etc/hosts.allow and /etc/hosts.deny lines that name sshd.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct TcpWrappersFacts {
    /// Lines whose daemon list names sshd or ALL, "file:line" located.
    pub deny: Vec<Located<String>>,
    pub allow: Vec<Located<String>>,
}

/// Which service an AuthorizedKeysCommand belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeysCommandProvider {
    /// Microsoft Entra ID login (AADSSHLoginForLinux: aad_certhandler, aadsshlogin).
    EntraId,
    Ec2InstanceConnect,
    GoogleOsLogin,
    Other,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeysCommand {
    pub command: String,
    pub provider: KeysCommandProvider,
    /// Where it is set ("file:line" or "sshd -T").
    pub source: String,
    /// The program, then each directory up to /: sshd requires all root-owned and not
    /// writable by group or others (misc.c safe_path).
    pub chain: Vec<FileStat>,
    pub user: Option<String>,
    pub user_exists: Option<bool>,
}

/// PAM as sshd (UsePAM yes) runs it for a key login: the "sshd" service's account stack
/// (pam_acct_mgmt, right after the key is accepted) and session stack (pam_open_session,
/// before the shell), with `include`, `substack` and Debian's `@include` expanded in the
/// order Linux-PAM loads them, and what the modules that judge a user read.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct PamFacts {
    /// The service's file (/etc/pam.d/sshd, else /usr/lib/pam.d/sshd); None when there is
    /// none and PAM falls back to "other".
    pub service_file: Option<String>,
    /// The directory modules named without a path are loaded from, when found.
    pub module_dir: Option<String>,
    pub account: Vec<PamLine>,
    pub session: Vec<PamLine>,
    /// pam_access's rule files, as the stacks name them.
    pub access_files: Vec<PamAccessFile>,
    /// pam_listfile's lists: the path and its entries (None: unreadable).
    pub list_files: Vec<PamListFile>,
}

/// One handler of a stack, as Linux-PAM installs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PamLine {
    /// "file:line" of the line that installed it.
    pub source: String,
    /// The line as written, continuations joined.
    pub text: String,
    /// Substack depth: 0 for the service's own stack and what it includes.
    pub depth: u32,
    /// `required`, `requisite`, `sufficient`, `optional` or `[value=action ...]`.
    pub control: String,
    /// The module as named (`pam_deny.so`, `/lib/security/pam_x.so`); empty for a
    /// substack's own line.
    pub module: String,
    pub args: Vec<String>,
    /// The module file exists (None: the module directory is unknown).
    pub module_exists: Option<bool>,
    /// A substack's own line: the lines of the next depth that follow belong to it.
    #[serde(default)]
    pub substack: bool,
    /// Why Linux-PAM installs this line to fail whenever it runs: an include it cannot
    /// open, a line it cannot parse.
    pub must_fail: Option<String>,
}

impl PamLine {
    /// The module's file name, whether the line names it with a path or without.
    pub fn module_name(&self) -> &str {
        self.module.rsplit('/').next().unwrap_or(&self.module)
    }

    /// The value of a `name=value` module argument.
    pub fn argument(&self, name: &str) -> Option<&str> {
        self.args.iter().find_map(|arg| {
            arg.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PamAccessFile {
    pub path: String,
    /// None when the file cannot be read (pam_access then refuses).
    pub rules: Option<Vec<PamAccessRule>>,
}

/// access.conf(5): "permission : users : origins".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PamAccessRule {
    pub source: String,
    pub allow: bool,
    pub users: String,
    pub origins: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PamListFile {
    pub path: String,
    pub entries: Option<Vec<String>>,
}

/// The loopback range the live probes connect from: 127.115.0.0/16 ("s" is 115). Each
/// probe takes an address of its own there (`collect::live::probe_source`).
pub const PROBE_NET: [u8; 2] = [127, 115];

/// Whether `address` is one the live probes connect from: their lines in sshd's log and
/// their connections in the TCP table are not a client's.
pub fn is_probe_address(address: IpAddr) -> bool {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.octets()[..2] == PROBE_NET,
        IpAddr::V6(_) => false,
    }
}

/// What the running sshd answered, asked the way a client meets it: a connection to each
/// listening SSH socket, and for each examined user's keys the publickey query ("would
/// you accept this key?") that needs no private key.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct LiveFacts {
    /// The probes ran (false with `--no-probe`).
    pub ran: bool,
    /// Why they did not run.
    pub skipped: Option<String>,
    pub banners: Vec<BannerProbe>,
    /// The ssh client that asked about keys.
    pub key_client: Option<String>,
    /// Why keys were not asked about at all (no ssh client, no sshd answering, ...).
    pub keys_not_asked: Option<String>,
    pub key_queries: Vec<KeyQuery>,
    /// Keys left unasked because of the bound on queries.
    #[serde(default)]
    pub keys_omitted: usize,
}

/// One connection to a listening SSH socket, read until sshd's identification string.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BannerProbe {
    /// The listening socket's address and port (0.0.0.0 or :: for a wildcard).
    pub address: IpAddr,
    pub port: u16,
    /// Pids of the processes holding the socket, where known.
    pub owners: Vec<u32>,
    /// Where the probe connected: loopback for a wildcard socket, else its address.
    pub target: String,
    /// The probe's own address.
    pub source: Option<String>,
    pub outcome: BannerOutcome,
    /// The identification string, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6", or the
    /// first line a program that is not sshd sent.
    pub banner: Option<String>,
    /// From connect() to the banner, or to what happened instead.
    pub elapsed_ms: u32,
    /// The error, for the outcomes that have one.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BannerOutcome {
    /// An SSH identification string arrived.
    Answered,
    /// Something answered, but not with "SSH-".
    NotSsh,
    /// connect() was refused: nothing listens there any more.
    Refused,
    /// The connection was reset before the banner.
    Reset,
    /// The peer closed without a banner (TCP wrappers, MaxStartups, a failing child).
    ClosedBeforeBanner,
    /// No TCP handshake within the bound (accept queue full, a firewall dropping).
    ConnectTimeout,
    /// Connected, and no banner within the bound (daemon stopped, hung or overloaded).
    BannerTimeout,
    /// Could not even try (no address to connect from, ...).
    Error,
}

/// The publickey query for one authorized key, asked of the live sshd as that user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyQuery {
    pub user: String,
    pub keys_file: String,
    pub line: u32,
    pub key_type: String,
    /// "SHA256:..." as the client printed it.
    pub fingerprint: Option<String>,
    /// The from= patterns of the key line, which sshd matches against the probe's address.
    pub from: Option<String>,
    pub target: String,
    pub source: Option<String>,
    pub outcome: KeyQueryOutcome,
    /// What the client said last, for the outcomes other than accepted.
    pub detail: Option<String>,
    pub elapsed_ms: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyQueryOutcome {
    /// sshd answered SSH_MSG_USERAUTH_PK_OK: it would accept this key.
    Accepted,
    /// sshd was offered the key and refused it.
    NotAccepted,
    /// sshd does not offer publickey authentication to this user at all.
    PublickeyNotOffered,
    /// The ssh client here does not offer this key type (a DSA key to a new client).
    ClientSkipped,
    /// The connection failed before authentication (the detail says how).
    ConnectionFailed,
    /// No answer within the bound.
    TimedOut,
}

/// How a probe went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// Saw everything it looks at.
    Ok,
    /// Saw part of it; `notes` say what is missing.
    Partial,
    /// Saw nothing; `notes` say why.
    Unavailable,
}

/// The record of one probe: how it went, what it could not see, how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub name: &'static str,
    pub outcome: ProbeOutcome,
    pub notes: Vec<String>,
    pub elapsed_ms: f64,
}
