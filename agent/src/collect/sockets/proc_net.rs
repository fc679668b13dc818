//! The listener table from /proc/net/tcp and /proc/net/tcp6, for when netlink fails.
//! These tables say nothing of IPV6_V6ONLY or SO_BINDTODEVICE, so those stay unknown.

use super::sorted_unique;
use crate::facts::ListeningSocket;
use procfs::net::{TcpNetEntries, TcpNetEntry, TcpState};
use procfs::FromReadSI;
use std::path::Path;

/// Every TCP socket in LISTEN state in `net_dir`'s tcp and tcp6 tables (`/proc/net` for
/// this process), sorted and deduplicated. A missing tcp6 table means IPv6 is disabled.
pub fn listeners_from_proc_net(net_dir: &Path) -> procfs::ProcResult<Vec<ListeningSocket>> {
    let mut entries = read_table(&net_dir.join("tcp"))?;
    match read_table(&net_dir.join("tcp6")) {
        Ok(v6_entries) => entries.extend(v6_entries),
        Err(procfs::ProcError::NotFound(_)) => {}
        Err(err) => return Err(err),
    }
    Ok(listeners_from_entries(entries))
}

fn read_table(path: &Path) -> procfs::ProcResult<Vec<TcpNetEntry>> {
    TcpNetEntries::from_file(path, procfs::current_system_info()).map(|table| table.0)
}

/// The LISTEN entries of parsed tcp/tcp6 tables, sorted and deduplicated.
pub fn listeners_from_entries(
    entries: impl IntoIterator<Item = TcpNetEntry>,
) -> Vec<ListeningSocket> {
    let listeners = entries
        .into_iter()
        .filter(|entry| entry.state == TcpState::Listen)
        .map(|entry| ListeningSocket {
            address: entry.local_address.ip(),
            port: entry.local_address.port(),
            v6only: None,
            uid: entry.uid,
            inode: entry.inode,
            bound_device: None,
            owners: Vec::new(),
        })
        .collect();
    sorted_unique(listeners)
}
