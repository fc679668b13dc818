//! Facts built by hand: each builder is a machine state the collectors report (and the VM
//! lab reproduces for real). Start from `healthy()`, a healthy Debian VM, and change what
//! the case is about; `ids`, `verdict` and `screen` judge the result.

use sshdoctor::facts::*;
use sshdoctor::facts::{ProbeOutcome, ProbeReport};
use sshdoctor::render::{render_text, TextStyle};
use sshdoctor::rules::evaluate;
use sshdoctor::verdict::Verdict;

pub fn unit(name: &str, kind: UnitKind, active: &str, sub: &str, file_state: &str) -> UnitFacts {
    UnitFacts {
        active_state: active.into(),
        sub_state: sub.into(),
        unit_file_state: Some(file_state.into()),
        result: Some("success".into()),
        exec_main_status: Some(0),
        exec_main_code: Some(0),
        n_restarts: Some(0),
        fragment_path: Some(format!("/lib/systemd/system/{name}")),
        ..UnitFacts::new(name, kind)
    }
}

pub fn listener(address: &str, port: u16, owner: (&str, u32)) -> ListeningSocket {
    ListeningSocket {
        address: address.parse().unwrap(),
        port,
        v6only: address.contains(':').then_some(true),
        uid: 0,
        inode: 10_000 + u64::from(port) + address.len() as u64,
        bound_device: None,
        owners: vec![SocketOwner {
            pid: owner.1,
            comm: owner.0.into(),
            fd: 3,
            unit: None,
        }],
        accept_queue: Some(0),
        accept_backlog: Some(128),
    }
}

/// What the banner probe records for a listener that answered.
pub fn answered(address: &str, port: u16, pid: u32) -> BannerProbe {
    BannerProbe {
        address: address.parse().unwrap(),
        port,
        owners: vec![pid],
        target: format!("127.0.0.1:{port}"),
        source: Some("127.115.1.2".into()),
        outcome: BannerOutcome::Answered,
        banner: Some("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6".into()),
        elapsed_ms: 3,
        error: None,
    }
}

pub fn located<T>(value: T, line: u32) -> Located<T> {
    Located {
        value,
        file: "/etc/ssh/sshd_config".into(),
        line,
    }
}

pub fn stat(path: &str, kind: FileKind, mode: u32, uid: u32) -> FileStat {
    FileStat {
        path: path.into(),
        exists: true,
        kind,
        mode: Some(mode),
        uid: Some(uid),
        gid: Some(uid),
        group: None,
        error: None,
    }
}

/// A VM's addresses: loopback, and eth0 holding 10.0.0.4.
pub fn interfaces() -> InterfaceFacts {
    InterfaceFacts {
        addresses: vec![
            InterfaceAddress {
                interface: "lo".into(),
                address: "127.0.0.1".parse().unwrap(),
                up: true,
                loopback: true,
            },
            InterfaceAddress {
                interface: "eth0".into(),
                address: "10.0.0.4".parse().unwrap(),
                up: true,
                loopback: false,
            },
        ],
        ..InterfaceFacts::default()
    }
}

/// A healthy Debian VM: ssh.service enabled and running, listening on 0.0.0.0:22 and [::]:22.
pub fn healthy() -> Facts {
    let mut service = unit(
        "ssh.service",
        UnitKind::Service,
        "active",
        "running",
        "enabled",
    );
    service.aliases = vec!["sshd.service".into()];
    service.main_pid = Some(829);
    Facts {
        openrc: None,
        sysv: None,
        host: HostFacts {
            hostname: Some("vm1".into()),
            os_id: Some("debian".into()),
            os_pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            euid: 0,
            is_root: true,
            ..HostFacts::default()
        },
        sshd: SshdFacts {
            binary: Some("/usr/sbin/sshd".into()),
            source: Some(SshdSource::Installed),
            ..SshdFacts::default()
        },
        systemd: SystemdFacts {
            reachable: true,
            error: None,
            version: Some("252".into()),
            units: vec![service],
            socket_generator: None,
        },
        processes: listening_sshd(),
        sockets: SocketFacts {
            source: SocketSource::Netlink,
            listeners: vec![
                listener("0.0.0.0", 22, ("sshd", 829)),
                listener("::", 22, ("sshd", 829)),
            ],
            owners_complete: true,
            ..SocketFacts::default()
        },
        interfaces: interfaces(),
        config: default_config(),
        cloud: CloudFacts::default(),
        health: HealthFacts::default(),
        prereqs: PrereqFacts::default(),
        firewall: FirewallFacts::default(),
        selinux: SelinuxFacts::default(),
        logs: LogFacts::default(),
        auth: AuthFacts::default(),
        live: LiveFacts {
            ran: true,
            banners: vec![answered("0.0.0.0", 22, 829)],
            ..LiveFacts::default()
        },
        pam: Default::default(),
        unfinished: Vec::new(),
    }
}

/// The listening sshd of a healthy VM, pid 829, as /proc shows it.
fn listening_sshd() -> ProcessFacts {
    ProcessFacts {
        cgroups: Vec::new(),
        sshd: vec![SshdProcess {
            pid: 829,
            ppid: 1,
            comm: "sshd".into(),
            cmdline: vec!["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups".into()],
            is_listener: true,
            config_path: None,
            start_time_us: None,
            net_namespace: None,
            state: Some('S'),
            off_cpu_ms: None,
        }],
        pid_file: None,
        scanned: true,
        own_net_namespace: None,
    }
}

/// /etc/ssh/sshd_config with nothing set: port 22 on every address, and `sshd -t` passes.
fn default_config() -> SshdConfigFacts {
    SshdConfigFacts {
        path: "/etc/ssh/sshd_config".into(),
        path_source: "default".into(),
        readable: true,
        files: vec!["/etc/ssh/sshd_config".into()],
        ports: vec![Located {
            value: 22,
            file: "(default)".into(),
            line: 0,
        }],
        endpoints: vec![
            Endpoint {
                host: "0.0.0.0".into(),
                port: 22,
                file: None,
                line: None,
            },
            Endpoint {
                host: "::".into(),
                port: 22,
                file: None,
                line: None,
            },
        ],
        syntax_check: Some(SshdRun {
            privsep_stand_in: None,
            command: vec!["/usr/sbin/sshd".into(), "-t".into()],
            exit_code: Some(0),
            timed_out: false,
            error: None,
            error_file: None,
            error_line: None,
            stderr: String::new(),
            environment_problem: false,
        }),
        ..SshdConfigFacts::default()
    }
}

pub fn service(facts: &mut Facts) -> &mut UnitFacts {
    &mut facts.systemd.units[0]
}

pub fn stop_sshd(facts: &mut Facts) {
    facts.processes.sshd.clear();
    facts.sockets.listeners.clear();
    let unit = service(facts);
    unit.active_state = "inactive".into();
    unit.sub_state = "dead".into();
    unit.main_pid = None;
}

pub fn log_line(pid: u32, message: &str) -> LogLine {
    LogLine {
        time: Some("2026-11-24T07:00:00+00:00".into()),
        pid: Some(pid),
        message: message.into(),
        source: "journal".into(),
        own_probe: false,
    }
}

pub fn connection(remote: &str, remote_port: u16, state: ConnectionState) -> TcpConnection {
    TcpConnection {
        local_address: "10.0.0.4".parse().unwrap(),
        local_port: 22,
        remote_address: remote.parse().unwrap(),
        remote_port,
        state,
        retransmits: Some(0),
        half_open_ms: None,
        accepted: state.is_open().then_some(true),
    }
}

/// alice, with one ed25519 key in a correct ~/.ssh/authorized_keys, as the auth
/// collector reports her.
pub fn alice() -> UserAuth {
    let keys = "/home/alice/.ssh/authorized_keys";
    UserAuth {
        name: "alice".into(),
        role: UserRole::Discovered,
        account: Some(Account {
            uid: 1000,
            gid: 1000,
            home: "/home/alice".into(),
            shell: "/bin/bash".into(),
            groups: vec!["alice".into()],
            shadow: None,
            shell_stat: stat("/bin/bash", FileKind::File, 0o755, 0),
            shell_listed: Some(true),
            home_stat: stat("/home/alice", FileKind::Directory, 0o755, 1000),
        }),
        settings: UserSettings {
            source: SettingsSource::SshdT,
            command: Some("sshd -T -C user=alice".into()),
            values: [
                ("pubkeyauthentication", "yes"),
                ("strictmodes", "yes"),
                ("usepam", "yes"),
                ("authorizedkeysfile", ".ssh/authorized_keys"),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_string(), vec![value.to_string()]))
            .collect(),
            locations: Default::default(),
        },
        keys_files: vec![KeysFile {
            pattern: ".ssh/authorized_keys".into(),
            path: keys.into(),
            stat: stat(keys, FileKind::File, 0o600, 1000),
            chain: vec![],
            unreadable_by_user: None,
            keys: vec![AuthorizedKey {
                line: 1,
                key_type: "ssh-ed25519".into(),
                options: vec![],
                comment: Some("alice@laptop".into()),
                from: None,
                expiry_time: None,
                expiry_removal: None,
                command_program: None,
                public_key: "ssh-ed25519 AAAA".into(),
            }],
            bad_lines: vec![],
            truncated: false,
        }],
        unread_keys_files: Vec::new(),
        session: Default::default(),
        unanswered: None,
    }
}

pub fn key_query(outcome: KeyQueryOutcome) -> KeyQuery {
    KeyQuery {
        user: "alice".into(),
        keys_file: "/home/alice/.ssh/authorized_keys".into(),
        line: 1,
        key_type: "ssh-ed25519".into(),
        fingerprint: Some("SHA256:C5lCi+3Va6pUQ".into()),
        from: None,
        target: "127.0.0.1:22".into(),
        source: Some("127.115.7.9".into()),
        outcome,
        detail: None,
        elapsed_ms: 90,
    }
}

pub fn ids(facts: &Facts) -> Vec<&'static str> {
    evaluate(facts).iter().map(|finding| finding.id).collect()
}

pub fn verdict(facts: Facts) -> Verdict {
    let findings = evaluate(&facts);
    let probes = vec![ProbeReport {
        name: "sockets",
        outcome: ProbeOutcome::Ok,
        notes: vec![],
        elapsed_ms: 1.0,
    }];
    Verdict::new(facts, probes, findings, 5.0)
}

/// The verdict as the 80-column serial console shows it.
pub fn screen(verdict: &Verdict) -> String {
    render_text(
        verdict,
        TextStyle {
            width: 80,
            color: false,
        },
    )
}
