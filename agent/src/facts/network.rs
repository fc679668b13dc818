//! Where SSH listens and what reaches it: listening sockets and connections.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

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
