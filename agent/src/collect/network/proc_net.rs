//! The TCP table from /proc/net/tcp and /proc/net/tcp6, for when netlink fails. These
//! tables say nothing of IPV6_V6ONLY, SO_BINDTODEVICE or retransmissions, so those stay
//! unknown.

use super::TcpTable;
use crate::facts::{ConnectionState, ListeningSocket, TcpConnection};
use procfs::net::{TcpNetEntries, TcpNetEntry, TcpState};
use procfs::FromReadSI;
use std::path::Path;

/// Every TCP socket in `net_dir`'s tcp and tcp6 tables (`/proc/net` for this process):
/// the listeners, and the connections whose local port is in `ssh_ports`. A missing tcp6
/// table means IPv6 is disabled.
pub fn tcp_table_from_proc_net(net_dir: &Path, ssh_ports: &[u16]) -> procfs::ProcResult<TcpTable> {
    let mut entries = read_table(&net_dir.join("tcp"))?;
    match read_table(&net_dir.join("tcp6")) {
        Ok(v6_entries) => entries.extend(v6_entries),
        Err(procfs::ProcError::NotFound(_)) => {}
        Err(err) => return Err(err),
    }
    Ok(table_from_entries(entries, ssh_ports).finish())
}

fn read_table(path: &Path) -> procfs::ProcResult<Vec<TcpNetEntry>> {
    let text = std::fs::read(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => procfs::ProcError::NotFound(Some(path.to_path_buf())),
        _ => procfs::ProcError::from(err),
    })?;
    parse_table(&text)
}

/// The entries of a tcp or tcp6 table's text.
pub fn parse_table(text: &[u8]) -> procfs::ProcResult<Vec<TcpNetEntry>> {
    TcpNetEntries::from_read(text, procfs::current_system_info()).map(|table| table.0)
}

/// The listeners of parsed tcp/tcp6 tables, and the connections on `ssh_ports`.
pub fn table_from_entries(
    entries: impl IntoIterator<Item = TcpNetEntry>,
    ssh_ports: &[u16],
) -> TcpTable {
    let mut table = TcpTable::default();
    for entry in entries {
        if entry.state == TcpState::Listen {
            table.listeners.push(ListeningSocket {
                address: entry.local_address.ip(),
                port: entry.local_address.port(),
                v6only: None,
                uid: entry.uid,
                inode: entry.inode,
                bound_device: None,
                owners: Vec::new(),
                // rx_queue of a listener is its accept queue; tx_queue says nothing.
                accept_queue: Some(entry.rx_queue),
                accept_backlog: None,
            });
        } else if ssh_ports.contains(&entry.local_address.port()) {
            table.connections.extend(connection_of(&entry));
        }
    }
    table
}

fn connection_of(entry: &TcpNetEntry) -> Option<TcpConnection> {
    let state = ConnectionState::from_kernel(entry.state.to_u8())?;
    Some(TcpConnection {
        local_address: entry.local_address.ip(),
        local_port: entry.local_address.port(),
        remote_address: entry.remote_address.ip(),
        remote_port: entry.remote_address.port(),
        state,
        retransmits: None,
        half_open_ms: None,
        accepted: state.is_open().then_some(entry.inode != 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    const HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    fn write_table(dir: &Path, name: &str, rows: &[&str]) {
        let table: String = rows.iter().map(|row| format!("{row}\n")).collect();
        std::fs::write(dir.join(name), HEADER.to_string() + &table).unwrap();
    }

    #[test]
    fn keeps_listen_rows_of_both_tables_sorted_by_port() {
        let dir = tempfile::tempdir().unwrap();
        write_table(
            dir.path(),
            "tcp",
            &[
                // 0.0.0.0:2222 LISTEN uid 0 inode 111
                "   0: 00000000:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0",
                // 127.0.0.1:22 ESTABLISHED to 127.0.0.1:40000: not a listener
                "   1: 0100007F:0016 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 20 4 0 10 -1",
            ],
        );
        write_table(
            dir.path(),
            "tcp6",
            // [::]:22 LISTEN uid 1000 inode 333
            &["   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 333 1 0000000000000000 100 0 0 10 0"],
        );

        let table = tcp_table_from_proc_net(dir.path(), &[22]).unwrap();
        let listeners = table.listeners;

        let seen: Vec<(IpAddr, u16, u32, u64)> = listeners
            .iter()
            .map(|l| (l.address, l.port, l.uid, l.inode))
            .collect();
        assert_eq!(
            seen,
            [
                ("::".parse().unwrap(), 22, 1000, 333),
                ("0.0.0.0".parse().unwrap(), 2222, 0, 111),
            ]
        );
        assert!(listeners.iter().all(|l| l.v6only.is_none()));
        assert_eq!(
            table.connections,
            [TcpConnection {
                local_address: "127.0.0.1".parse().unwrap(),
                local_port: 22,
                remote_address: "127.0.0.1".parse().unwrap(),
                remote_port: 40000,
                state: ConnectionState::Established,
                retransmits: None,
                half_open_ms: None,
                accepted: Some(true), // inode 222
            }]
        );
        let other_ports = tcp_table_from_proc_net(dir.path(), &[2222]).unwrap();
        assert!(other_ports.connections.is_empty());
    }

    #[test]
    fn a_missing_tcp6_table_means_no_ipv6_listeners() {
        let dir = tempfile::tempdir().unwrap();
        write_table(dir.path(), "tcp", &[]);
        assert!(tcp_table_from_proc_net(dir.path(), &[22])
            .unwrap()
            .listeners
            .is_empty());
        assert!(tcp_table_from_proc_net(&dir.path().join("absent"), &[22]).is_err());
    }
}
