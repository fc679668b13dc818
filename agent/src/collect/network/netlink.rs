//! The TCP table from a NETLINK_SOCK_DIAG inet_diag dump, as `ss -ta` reads it.

use super::TcpTable;
use crate::collect::netlink;
use crate::facts::{ConnectionState, ListeningSocket, TcpConnection};
use netlink_packet_sock_diag::constants::TCP_LISTEN;
use netlink_packet_sock_diag::inet::{
    nlas::Nla, ExtensionFlags, InetRequest, InetResponse, SocketId, StateFlags, Timer,
};
use netlink_packet_sock_diag::{SockDiagMessage, AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_sys::protocols::NETLINK_SOCK_DIAG;
use std::io;

/// Every TCP socket, IPv4 and IPv6, in one dump per family: the listeners, and the
/// connections whose local port is in `ssh_ports`.
pub fn tcp_table_from_netlink(ssh_ports: &[u16]) -> io::Result<TcpTable> {
    let socket = netlink::open(NETLINK_SOCK_DIAG)?;
    let mut table = TcpTable::default();
    for family in [AF_INET, AF_INET6] {
        netlink::dump(&socket, all_tcp_request(family), |message| {
            add_to_table(&mut table, message, ssh_ports);
        })?;
    }
    Ok(table.finish())
}

/// The table one sock_diag datagram holds: what `tcp_table_from_netlink` gathers from
/// its dumps, for a datagram read elsewhere.
pub fn table_of_datagram(datagram: &[u8], ssh_ports: &[u16]) -> io::Result<TcpTable> {
    let mut table = TcpTable::default();
    netlink::read_datagram(datagram, &mut |message| {
        add_to_table(&mut table, message, ssh_ports)
    })?;
    Ok(table.finish())
}

/// One sock_diag reply into the table: a listener, or a connection on an SSH port.
fn add_to_table(table: &mut TcpTable, message: SockDiagMessage, ssh_ports: &[u16]) {
    let SockDiagMessage::InetResponse(response) = message else {
        return;
    };
    if response.header.state == TCP_LISTEN {
        table.listeners.push(listener_of(&response));
    } else if ssh_ports.contains(&response.header.socket_id.source_port) {
        table.connections.extend(connection_of(&response));
    }
}

/// SOCK_DIAG_BY_FAMILY for TCP in every state (request sockets of handshakes included).
fn all_tcp_request(family: u8) -> SockDiagMessage {
    let socket_id = if family == AF_INET6 {
        SocketId::new_v6()
    } else {
        SocketId::new_v4()
    };
    // INET_DIAG_SKV6ONLY needs no extension bit: the kernel always adds it for AF_INET6.
    SockDiagMessage::InetRequest(InetRequest {
        family,
        protocol: IPPROTO_TCP,
        extensions: ExtensionFlags::empty(),
        states: StateFlags::all(),
        socket_id,
    })
}

fn connection_of(response: &InetResponse) -> Option<TcpConnection> {
    let header = &response.header;
    let retransmits = match header.timer {
        Some(Timer::Retransmit(_, count)) => count,
        _ => 0,
    };
    let state = ConnectionState::from_kernel(header.state)?;
    Some(TcpConnection {
        local_address: header.socket_id.source_address,
        local_port: header.socket_id.source_port,
        remote_address: header.socket_id.destination_address,
        remote_port: header.socket_id.destination_port,
        state,
        retransmits: Some(retransmits),
        half_open_ms: None,
        accepted: state.is_open().then_some(header.inode != 0),
    })
}

fn listener_of(response: &InetResponse) -> ListeningSocket {
    let header = &response.header;
    let v6only = response.nlas.iter().find_map(|nla| match nla {
        Nla::SkV6Only(v6only) => Some(*v6only),
        _ => None,
    });
    ListeningSocket {
        address: header.socket_id.source_address,
        port: header.socket_id.source_port,
        v6only,
        uid: header.uid,
        inode: u64::from(header.inode),
        bound_device: device_name(header.socket_id.interface_id),
        owners: Vec::new(),
        // For a listener the kernel reports the accept queue and its limit here.
        accept_queue: Some(header.recv_queue),
        accept_backlog: Some(header.send_queue),
    }
}

/// The name of the interface a socket is bound to (0 means not bound).
fn device_name(index: u32) -> Option<String> {
    if index == 0 {
        return None;
    }
    let name = nix::net::if_::if_indextoname(index)
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("if#{index}"));
    Some(name)
}
