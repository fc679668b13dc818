//! The listener table from a NETLINK_SOCK_DIAG inet_diag dump, as `ss -lt` reads it.

use super::sorted_unique;
use crate::collect::netlink;
use crate::facts::ListeningSocket;
use netlink_packet_sock_diag::inet::{
    nlas::Nla, ExtensionFlags, InetRequest, InetResponse, SocketId, StateFlags,
};
use netlink_packet_sock_diag::{SockDiagMessage, AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_sys::protocols::NETLINK_SOCK_DIAG;
use std::io;

/// Every TCP socket in LISTEN state, IPv4 and IPv6, sorted and deduplicated.
pub fn listeners_from_netlink() -> io::Result<Vec<ListeningSocket>> {
    let socket = netlink::open(NETLINK_SOCK_DIAG)?;
    let mut listeners = Vec::new();
    for family in [AF_INET, AF_INET6] {
        netlink::dump(&socket, listeners_request(family), |message| {
            if let SockDiagMessage::InetResponse(response) = message {
                listeners.push(listener_of(&response));
            }
        })?;
    }
    Ok(sorted_unique(listeners))
}

/// SOCK_DIAG_BY_FAMILY for TCP, letting the kernel filter on LISTEN.
fn listeners_request(family: u8) -> SockDiagMessage {
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
        states: StateFlags::LISTEN,
        socket_id,
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
