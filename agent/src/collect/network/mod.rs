//! Listening TCP sockets and the processes holding them, like `ss -ltpn`, and the
//! connections on SSH's ports, like `ss -tn`.
//!
//! The TCP table comes from a NETLINK_SOCK_DIAG dump (as `ss` does), or from
//! /proc/net/tcp{,6} when netlink is unavailable. Owners are found by reading
//! /proc/PID/fd links, starting with the processes most likely to hold sshd's sockets,
//! so that the usual case reads a handful of fd tables instead of every one.

pub mod netlink;
mod owners;
pub mod proc_net;

pub use netlink::tcp_table_from_netlink;
pub use owners::{find_owners, OwnerSearch};
pub use proc_net::tcp_table_from_proc_net;

use super::ProbeNotes;
use crate::facts::{
    ConnectionState, ListeningSocket, ProcessFacts, SocketFacts, SocketSource, SystemdFacts,
    TcpConnection, UnitKind,
};
use std::path::Path;
use std::time::Duration;

/// A handshake completes within one round trip; one still half-open this much later
/// (past the kernel's first SYN-ACK retransmission, at 1 s) is stalled.
const HANDSHAKE_RECHECK: Duration = Duration::from_millis(1500);

/// Connections kept in the facts; a busy bastion can hold thousands of sessions.
pub const MAX_CONNECTIONS_KEPT: usize = 128;

/// One read of the kernel's TCP table.
#[derive(Debug, Default)]
pub struct TcpTable {
    pub listeners: Vec<ListeningSocket>,
    /// Connections whose local port is one of SSH's.
    pub connections: Vec<TcpConnection>,
}

impl TcpTable {
    /// Sorted, without the repeats a dump returns when the table changes under it;
    /// connections handshakes first (the state order), then by peer.
    fn finish(mut self) -> TcpTable {
        let listener_key = |l: &ListeningSocket| (l.port, l.address, l.inode);
        self.listeners.sort_by_key(listener_key);
        self.listeners.dedup_by_key(|l| listener_key(l));
        let connection_key = |c: &TcpConnection| {
            (
                c.state,
                c.remote_address,
                c.remote_port,
                c.local_address,
                c.local_port,
            )
        };
        self.connections.sort_by_key(connection_key);
        self.connections.dedup_by_key(|c| connection_key(c));
        self
    }
}

/// The directory holding the tcp/tcp6 tables of this process's network namespace.
const PROC_NET: &str = "/proc/net";

/// Where to read the TCP table from.
#[derive(Debug, Clone, Copy)]
pub enum ListenerTable<'a> {
    /// Netlink sock_diag, falling back to /proc/net when netlink fails.
    Netlink,
    /// Only the tcp and tcp6 tables in this directory (a test passes a thread's
    /// `/proc/thread-self/net` to read another namespace).
    ProcNet(&'a Path),
}

/// Pids most likely to own sshd's listening sockets, in the order to look at them:
/// the SSH services' main pids, the sshd listeners seen in /proc, then PID 1 when an SSH
/// socket unit listens (systemd holds socket-activated ports).
pub fn likely_owners(systemd: &SystemdFacts, processes: &ProcessFacts) -> Vec<u32> {
    let main_pids = systemd
        .units
        .iter()
        .filter(|unit| unit.kind == UnitKind::Service)
        .filter_map(|unit| unit.main_pid);
    let listeners = processes.local_listeners().map(|process| process.pid);
    let socket_activation = systemd
        .units
        .iter()
        .any(|unit| unit.kind == UnitKind::Socket && unit.active_state == "active")
        .then_some(1);
    let mut pids = Vec::new();
    for pid in main_pids.chain(listeners).chain(socket_activation) {
        if pid != 0 && !pids.contains(&pid) {
            pids.push(pid);
        }
    }
    pids
}

/// Where to look for owners, and which sockets must get one.
#[derive(Debug, Clone, Copy)]
pub struct OwnerHints<'a> {
    /// Pids to read first (`likely_owners`).
    pub likely_owners: &'a [u32],
    /// Ports whose listeners' owners matter (SSH's ports): only for them does the search
    /// go on through every process. Other listeners get the owners met on the way; an
    /// unrelated socket with no visible owner must not cost a read of every fd table.
    pub ssh_ports: &'a [u16],
}

/// Listening TCP sockets with their owners, preferring netlink.
pub fn collect(hints: OwnerHints, notes: &mut ProbeNotes) -> SocketFacts {
    collect_from(ListenerTable::Netlink, hints, notes)
}

/// Listening TCP sockets read from `table`, with their owners, and the connections on
/// SSH's ports.
pub fn collect_from(
    table: ListenerTable,
    hints: OwnerHints,
    notes: &mut ProbeNotes,
) -> SocketFacts {
    let Some((source, mut tcp)) = read_table(table, hints.ssh_ports, notes) else {
        return SocketFacts::default();
    };
    recheck_handshakes(&mut tcp.connections, table, hints.ssh_ports);
    let owners_complete = attach_owners(&mut tcp.listeners, hints, notes);
    let connections_total = tcp.connections.len();
    tcp.connections.truncate(MAX_CONNECTIONS_KEPT);
    SocketFacts {
        source,
        listeners: tcp.listeners,
        owners_complete,
        connections: tcp.connections,
        connections_total,
    }
}

/// Marks the handshakes still half-open when the table is read again after
/// `HANDSHAKE_RECHECK`: the client's SYN arrived and was answered, and no answer to that
/// came back. Costs the wait only when a handshake is in progress.
fn recheck_handshakes(connections: &mut [TcpConnection], table: ListenerTable, ssh_ports: &[u16]) {
    let handshake = |c: &TcpConnection| c.state == ConnectionState::SynRecv;
    if !connections.iter().any(handshake) {
        return;
    }
    std::thread::sleep(HANDSHAKE_RECHECK);
    let Some((_, again)) = read_table(table, ssh_ports, &mut ProbeNotes::default()) else {
        return;
    };
    let four_tuple = |c: &TcpConnection| {
        (
            c.local_address,
            c.local_port,
            c.remote_address,
            c.remote_port,
        )
    };
    for connection in connections.iter_mut().filter(|c| handshake(c)) {
        if again
            .connections
            .iter()
            .any(|later| handshake(later) && four_tuple(later) == four_tuple(connection))
        {
            connection.half_open_ms = Some(HANDSHAKE_RECHECK.as_millis() as u32);
        }
    }
}

fn read_table(
    table: ListenerTable,
    ssh_ports: &[u16],
    notes: &mut ProbeNotes,
) -> Option<(SocketSource, TcpTable)> {
    let proc_net = match table {
        ListenerTable::ProcNet(dir) => dir,
        ListenerTable::Netlink => match tcp_table_from_netlink(ssh_ports) {
            Ok(tcp) => return Some((SocketSource::Netlink, tcp)),
            Err(err) => {
                notes.partial(format!(
                    "netlink sock_diag unavailable: {err}; read /proc/net/tcp"
                ));
                Path::new(PROC_NET)
            }
        },
    };
    match tcp_table_from_proc_net(proc_net, ssh_ports) {
        Ok(tcp) => Some((SocketSource::ProcNet, tcp)),
        Err(err) => {
            notes.unavailable(format!("cannot read {}/tcp: {err}", proc_net.display()));
            None
        }
    }
}

/// Fills each listener's owners; returns whether every listener on an SSH port got one
/// (or every process was examined).
fn attach_owners(
    listeners: &mut [ListeningSocket],
    hints: OwnerHints,
    notes: &mut ProbeNotes,
) -> bool {
    if listeners.is_empty() {
        return true;
    }
    if !nix::unistd::geteuid().is_root() {
        notes.partial("not root: cannot read other processes' /proc/PID/fd; socket owners unknown");
        return false;
    }
    let inodes: Vec<u64> = listeners.iter().map(|listener| listener.inode).collect();
    let required: Vec<u64> = listeners
        .iter()
        .filter(|listener| hints.ssh_ports.contains(&listener.port))
        .map(|listener| listener.inode)
        .collect();
    let mut search = find_owners(&inodes, &required, hints.likely_owners);
    if search.processes_unreadable > 0 {
        notes.partial(format!(
            "could not read /proc/PID/fd of {} processes; some socket owners may be missing",
            search.processes_unreadable
        ));
    }
    for listener in listeners.iter_mut() {
        listener.owners = search.owners.remove(&listener.inode).unwrap_or_default();
    }
    search.complete
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{SshdProcess, UnitFacts};

    fn unit(name: &str, kind: UnitKind, active_state: &str, main_pid: Option<u32>) -> UnitFacts {
        UnitFacts {
            active_state: active_state.into(),
            main_pid,
            ..UnitFacts::new(name, kind)
        }
    }

    fn sshd(pid: u32, is_listener: bool) -> SshdProcess {
        SshdProcess {
            pid,
            ppid: 1,
            comm: "sshd".into(),
            cmdline: vec!["sshd".into()],
            is_listener,
            config_path: None,
            start_time_us: None,
            net_namespace: None,
            state: None,
            off_cpu_ms: None,
        }
    }

    #[test]
    fn likely_owners_are_main_pid_then_listeners_then_pid1_without_repeats() {
        let systemd = SystemdFacts {
            units: vec![
                unit("ssh.socket", UnitKind::Socket, "active", None),
                unit("ssh.service", UnitKind::Service, "active", Some(700)),
            ],
            ..SystemdFacts::default()
        };
        let processes = ProcessFacts {
            scanned: true,
            cgroups: Vec::new(),
            own_net_namespace: None,
            sshd: vec![sshd(700, true), sshd(800, true), sshd(900, false)],
            pid_file: None,
        };
        assert_eq!(likely_owners(&systemd, &processes), [700, 800, 1]);
    }

    #[test]
    fn stopped_units_add_no_owner() {
        let systemd = SystemdFacts {
            units: vec![
                unit("ssh.socket", UnitKind::Socket, "inactive", None),
                unit("ssh.service", UnitKind::Service, "inactive", Some(0)),
            ],
            ..SystemdFacts::default()
        };
        assert!(likely_owners(&systemd, &ProcessFacts::default()).is_empty());
    }
}
