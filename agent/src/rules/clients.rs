//! Where a user's clients come from, as far as this machine saw: sshd's log lines that
//! name the user and an address ("Accepted|Failed METHOD for USER from ADDRESS"), then the
//! remote peers of connections to SSH's ports. Rules that depend on the client's address
//! (from= key options, pam_access origins) judge these; the live probes' own addresses
//! are never a client's.

use crate::facts::{is_probe_address, Facts};
use std::net::IpAddr;

/// Each address once, with where it was seen; the user's own log lines first.
pub fn recent_clients(facts: &Facts, user: &str) -> Vec<(IpAddr, String)> {
    let mut clients = super::logs::user_client_addresses(facts, user);
    for connection in &facts.sockets.connections {
        let address = connection.remote_address.to_canonical();
        if connection.from_loopback()
            || is_probe_address(address)
            || clients.iter().any(|(seen, _)| *seen == address)
        {
            continue;
        }
        clients.push((address, "TCP table".into()));
    }
    clients
}
