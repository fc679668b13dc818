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

        let listeners = listeners_from_proc_net(dir.path()).unwrap();

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
    }

    #[test]
    fn a_missing_tcp6_table_means_no_ipv6_listeners() {
        let dir = tempfile::tempdir().unwrap();
        write_table(dir.path(), "tcp", &[]);
        assert!(listeners_from_proc_net(dir.path()).unwrap().is_empty());
        assert!(listeners_from_proc_net(&dir.path().join("absent")).is_err());
    }
}
