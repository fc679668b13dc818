//! The listener table from a NETLINK_SOCK_DIAG inet_diag dump, as `ss -lt` reads it.

use super::sorted_unique;
use crate::facts::ListeningSocket;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_sock_diag::inet::{
    nlas::Nla, ExtensionFlags, InetRequest, InetResponse, SocketId, StateFlags,
};
use netlink_packet_sock_diag::{SockDiagMessage, AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket, SocketAddr};
use nix::sys::socket::{setsockopt, sockopt::ReceiveTimeout, MsgFlags};
use nix::sys::time::{TimeVal, TimeValLike};
use std::io;

/// A silent kernel must not hang the diagnosis.
const RECEIVE_TIMEOUT_MS: i64 = 1000;
/// The kernel caps a dump datagram at 32 KiB (SKB_WITH_OVERHEAD(32768)).
const DATAGRAM_SIZE: usize = 32 * 1024;
/// Upper bound on datagrams per dump: far more than any real listener table needs.
const MAX_DATAGRAMS: usize = 4096;

/// Every TCP socket in LISTEN state, IPv4 and IPv6, sorted and deduplicated.
pub fn listeners_from_netlink() -> io::Result<Vec<ListeningSocket>> {
    let socket = open_socket()?;
    let mut listeners = Vec::new();
    for family in [AF_INET, AF_INET6] {
        request_listeners(&socket, family)?;
        receive_dump(&socket, &mut listeners)?;
    }
    Ok(sorted_unique(listeners))
}

fn open_socket() -> io::Result<Socket> {
    let socket = Socket::new(NETLINK_SOCK_DIAG)?;
    let timeout = TimeVal::milliseconds(RECEIVE_TIMEOUT_MS);
    setsockopt(&socket, ReceiveTimeout, &timeout)?;
    socket.connect(&SocketAddr::new(0, 0))?;
    Ok(socket)
}

/// Sends SOCK_DIAG_BY_FAMILY for TCP, letting the kernel filter on LISTEN.
fn request_listeners(socket: &Socket, family: u8) -> io::Result<()> {
    let socket_id = if family == AF_INET6 {
        SocketId::new_v6()
    } else {
        SocketId::new_v4()
    };
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    // INET_DIAG_SKV6ONLY needs no extension bit: the kernel always adds it for AF_INET6.
    let request = SockDiagMessage::InetRequest(InetRequest {
        family,
        protocol: IPPROTO_TCP,
        extensions: ExtensionFlags::empty(),
        states: StateFlags::LISTEN,
        socket_id,
    });
    let mut packet = NetlinkMessage::new(header, request.into());
    packet.finalize();
    let mut buffer = vec![0; packet.buffer_len()];
    packet.serialize(&mut buffer);
    socket.send(&buffer, 0)?;
    Ok(())
}

/// Reads datagrams until NLMSG_DONE, appending each listener.
fn receive_dump(socket: &Socket, listeners: &mut Vec<ListeningSocket>) -> io::Result<()> {
    let mut datagram = vec![0; DATAGRAM_SIZE];
    for _ in 0..MAX_DATAGRAMS {
        // MSG_TRUNC makes recv return the real length, so truncation cannot go unnoticed.
        let size = socket.recv(&mut &mut datagram[..], MsgFlags::MSG_TRUNC.bits())?;
        if size > datagram.len() {
            return Err(invalid(format!(
                "{size}-byte datagram exceeds {DATAGRAM_SIZE} bytes"
            )));
        }
        if read_datagram(&datagram[..size], listeners)? == Dump::Done {
            return Ok(());
        }
    }
    Err(invalid(format!(
        "dump did not end after {MAX_DATAGRAMS} datagrams"
    )))
}

#[derive(PartialEq)]
enum Dump {
    Continues,
    Done,
}

fn read_datagram(mut bytes: &[u8], listeners: &mut Vec<ListeningSocket>) -> io::Result<Dump> {
    while !bytes.is_empty() {
        let message = NetlinkMessage::<SockDiagMessage>::deserialize(bytes)
            .map_err(|err| invalid(err.to_string()))?;
        let length = message.header.length as usize;
        match message.payload {
            NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                listeners.push(listener_of(&response));
            }
            NetlinkPayload::Done(_) => return Ok(Dump::Done),
            NetlinkPayload::Error(error) => return Err(error.to_io()),
            _ => {}
        }
        // Messages are 4-byte aligned within a datagram.
        let next = length.next_multiple_of(4);
        if length == 0 || next > bytes.len() {
            break;
        }
        bytes = &bytes[next..];
    }
    Ok(Dump::Continues)
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

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}
