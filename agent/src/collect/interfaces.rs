//! Addresses this machine's interfaces hold, to tell whether a ListenAddress can be bound.

use super::ProbeNotes;
use crate::facts::{InterfaceAddress, InterfaceFacts};
use nix::net::if_::InterfaceFlags;

pub fn collect(notes: &mut ProbeNotes) -> InterfaceFacts {
    let entries = match nix::ifaddrs::getifaddrs() {
        Ok(entries) => entries,
        Err(err) => {
            notes.unavailable(format!("getifaddrs failed: {err}"));
            return InterfaceFacts::default();
        }
    };
    let addresses = entries
        .filter_map(|entry| {
            let storage = entry.address?;
            let address = if let Some(v4) = storage.as_sockaddr_in() {
                std::net::IpAddr::V4(v4.ip())
            } else if let Some(v6) = storage.as_sockaddr_in6() {
                std::net::IpAddr::V6(v6.ip())
            } else {
                return None;
            };
            Some(InterfaceAddress {
                interface: entry.interface_name,
                address,
                up: entry.flags.contains(InterfaceFlags::IFF_UP),
                loopback: entry.flags.contains(InterfaceFlags::IFF_LOOPBACK),
            })
        })
        .collect();
    InterfaceFacts { addresses }
}
