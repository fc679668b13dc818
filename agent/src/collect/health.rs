//! Host health that breaks logins without touching sshd's config: full filesystems (sshd,
//! PAM and the shell all need to write somewhere), exhausted memory, the OOM killer, and
//! a full connection-tracking table.

use super::reach::Reach;
use super::ProbeNotes;
use crate::facts::{ConntrackFacts, FilesystemUsage, HealthFacts, MemoryFacts, OomKill};
use crate::openssh::PATHS_A_LOGIN_WRITES;
use procfs::Current;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Kernel log records to read at most; /dev/kmsg holds a few hundred KiB.
const MAX_KMSG_RECORDS: usize = 20_000;

/// The kernel's words when conntrack drops a packet for want of room.
const CONNTRACK_TABLE_FULL: &str = "table full, dropping packet";

pub fn collect(reach: &Reach, notes: &mut ProbeNotes) -> HealthFacts {
    let kernel_log = kernel_log(notes);
    HealthFacts {
        filesystems: filesystems(reach, notes),
        memory: memory(notes),
        load_average: procfs::LoadAverage::current()
            .ok()
            .map(|load| [load.one, load.five, load.fifteen]),
        oom_kills: kernel_log
            .iter()
            .filter_map(|record| parse_oom_kill(record))
            .collect(),
        conntrack: conntrack(&kernel_log, notes),
    }
}

fn filesystems(reach: &Reach, notes: &mut ProbeNotes) -> Vec<FilesystemUsage> {
    let mut seen_mounts: Vec<String> = Vec::new();
    let mut usages = Vec::new();
    for path in PATHS_A_LOGIN_WRITES {
        let mount = reach.mount_of(path);
        let mount_point = mount.map_or_else(|| path.to_string(), |m| m.point.clone());
        if seen_mounts.contains(&mount_point) {
            continue;
        }
        // statvfs of a dead NFS server's mount waits as long as any stat there.
        let stat = match reach.reach(path, move || {
            Path::new(path)
                .exists()
                .then(|| nix::sys::statvfs::statvfs(*path))
        }) {
            Ok(None) => continue,
            Ok(Some(stat)) => stat,
            Err(unanswered) => {
                notes.partial(format!("statvfs {}", unanswered.describe()));
                seen_mounts.push(mount_point);
                continue;
            }
        };
        seen_mounts.push(mount_point.clone());
        match stat {
            Ok(stat) => {
                let fragment = stat.fragment_size();
                let read_only = stat.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY);
                usages.push(FilesystemUsage {
                    path: path.to_string(),
                    mount_point,
                    fs_type: mount.map(|m| m.fs_type.clone()),
                    source: mount.and_then(|m| m.source.clone()),
                    total_bytes: stat.blocks() * fragment,
                    free_bytes: stat.blocks_free() * fragment,
                    available_bytes: stat.blocks_available() * fragment,
                    total_inodes: stat.files(),
                    free_inodes: stat.files_available(),
                    read_only,
                });
            }
            Err(err) => notes.partial(format!("statvfs {path}: {err}")),
        }
    }
    usages
}

fn memory(notes: &mut ProbeNotes) -> Option<MemoryFacts> {
    match procfs::Meminfo::current() {
        Ok(info) => Some(MemoryFacts {
            total_bytes: info.mem_total,
            // Kernels before 3.14 lack MemAvailable; free + cache is the usual estimate.
            available_bytes: info.mem_available.unwrap_or(info.mem_free + info.cached),
            swap_total_bytes: info.swap_total,
            swap_free_bytes: info.swap_free,
        }),
        Err(err) => {
            notes.partial(format!("cannot read /proc/meminfo: {err}"));
            None
        }
    }
}

/// The kernel's ring buffer, one record per entry, read from /dev/kmsg without blocking.
fn kernel_log(notes: &mut ProbeNotes) -> Vec<String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open("/dev/kmsg");
    let mut file = match file {
        Ok(file) => file,
        Err(err) => {
            notes.partial(format!("cannot read the kernel log (/dev/kmsg): {err}"));
            return Vec::new();
        }
    };
    let mut records = Vec::new();
    // Each read returns one record; EAGAIN means the buffer is drained; EPIPE means a
    // record was overwritten while we read, and the next read continues.
    let mut buffer = vec![0u8; 8192];
    for _ in 0..MAX_KMSG_RECORDS {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(length) => records.push(String::from_utf8_lossy(&buffer[..length]).into_owned()),
            Err(err) if err.raw_os_error() == Some(nix::libc::EPIPE) => continue,
            Err(_) => break,
        }
    }
    records
}

/// The table's fill from /proc/sys (this network namespace's), its drop counters, and
/// the kernel's "table full" lines.
fn conntrack(kernel_log: &[String], notes: &mut ProbeNotes) -> Option<ConntrackFacts> {
    const SYSCTL: &str = "/proc/sys/net/netfilter";
    let read_number = |name: &str| -> Option<u64> {
        std::fs::read_to_string(format!("{SYSCTL}/{name}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    // Without nf_conntrack loaded, these files do not exist.
    let entries = read_number("nf_conntrack_count")?;
    let Some(max) = read_number("nf_conntrack_max") else {
        notes.partial(format!("cannot read {SYSCTL}/nf_conntrack_max"));
        return None;
    };
    let drops = match std::fs::read_to_string("/proc/net/stat/nf_conntrack") {
        Ok(text) => table_full_drops(&text),
        Err(err) => {
            notes.partial(format!("cannot read /proc/net/stat/nf_conntrack: {err}"));
            None
        }
    };
    let (table_full_messages, last_table_full_seconds_since_boot) = table_full(kernel_log);
    Some(ConntrackFacts {
        entries,
        max,
        drops,
        table_full_messages,
        last_table_full_seconds_since_boot,
    })
}

/// How many kernel log records say the table was full, and the newest one's time.
fn table_full(kernel_log: &[String]) -> (u32, Option<u64>) {
    let times: Vec<u64> = kernel_log
        .iter()
        .filter(|record| record.contains(CONNTRACK_TABLE_FULL))
        .filter_map(|record| kmsg_seconds_since_boot(record))
        .collect();
    (times.len() as u32, times.last().copied())
}

/// Packets dropped because no entry could be made (a full table, or no memory): the
/// "drop" column less "insert_failed". The kernel counts "drop" also where two packets
/// of one new flow raced to be confirmed and the loser was dropped (a UDP DNS client
/// sending its A and AAAA queries at once, which happens on idle machines); such a loss
/// counts in "insert_failed" as well, and says nothing of the table's size.
fn table_full_drops(stat: &str) -> Option<u64> {
    let drop = conntrack_stat_column(stat, "drop")?;
    let lost_races = conntrack_stat_column(stat, "insert_failed").unwrap_or(0);
    Some(drop.saturating_sub(lost_races))
}

/// A column of /proc/net/stat/nf_conntrack (a header of names, then one row of hex
/// counters per CPU), summed over CPUs (saturating: a garbled file must not overflow).
/// The columns differ between kernels, so the header decides.
pub fn conntrack_stat_column(text: &str, name: &str) -> Option<u64> {
    let mut lines = text.lines();
    let column = lines.next()?.split_whitespace().position(|n| n == name)?;
    lines.try_fold(0u64, |total, row| {
        let count = u64::from_str_radix(row.split_whitespace().nth(column)?, 16).ok()?;
        Some(total.saturating_add(count))
    })
}

/// The time of a kmsg record "PRIORITY,SEQUENCE,MICROSECONDS,FLAGS;MESSAGE", in whole
/// seconds since boot.
fn kmsg_seconds_since_boot(record: &str) -> Option<u64> {
    let (prefix, _) = record.split_once(';')?;
    let micros: u64 = prefix.split(',').nth(2)?.parse().ok()?;
    Some(micros / 1_000_000)
}

/// A kmsg record "6,1234,5678901,-;Out of memory: Killed process 812 (sshd) total-vm:..."
/// as the process killed and the time since boot.
pub fn parse_oom_kill(record: &str) -> Option<OomKill> {
    let (_, message) = record.split_once(';')?;
    let message = message.lines().next()?;
    let killed = message
        .find("Killed process ")
        .map(|at| &message[at + "Killed process ".len()..])?;
    let (pid, rest) = killed.split_once(' ')?;
    let comm = rest.strip_prefix('(')?.split_once(')')?.0;
    Some(OomKill {
        pid: pid.parse().ok()?,
        comm: comm.to_string(),
        seconds_since_boot: kmsg_seconds_since_boot(record)?,
        message: message.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_kill_records_are_parsed() {
        let record = "3,1821,86400123456,-;Out of memory: Killed process 812 (sshd) total-vm:15000kB, anon-rss:1200kB\n SUBSYSTEM=memory";
        let kill = parse_oom_kill(record).unwrap();
        assert_eq!(
            (kill.pid, kill.comm.as_str(), kill.seconds_since_boot),
            (812, "sshd", 86400)
        );
        assert!(kill
            .message
            .starts_with("Out of memory: Killed process 812 (sshd)"));
        // Older kernels say "Kill process"; cgroup OOM says "Memory cgroup out of memory".
        let cgroup = "3,5,100,-;Memory cgroup out of memory: Killed process 77 (bash) total-vm:1kB";
        assert_eq!(parse_oom_kill(cgroup).unwrap().comm, "bash");
        assert!(parse_oom_kill("6,1,1,-;eth0: link up").is_none());
    }

    /// The layout of Linux 6.18 (this machine's); 4.x kernels have other columns, and
    /// the header decides.
    #[test]
    fn conntrack_drops_are_summed_over_cpus_by_column_name() {
        let stat = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart
00000010  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 0000001a 00000002 00000000  00000000 00000000 00000000 00000000
00000010  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000006 00000000 00000000  00000000 00000000 00000000 00000000
";
        assert_eq!(conntrack_stat_column(stat, "drop"), Some(32));
        assert_eq!(conntrack_stat_column(stat, "early_drop"), Some(2));
        assert_eq!(conntrack_stat_column(stat, "nonexistent"), None);
        assert_eq!(conntrack_stat_column("drop\nzz\n", "drop"), None);
        assert_eq!(conntrack_stat_column("", "drop"), None);
        // Per-CPU counters that add past u64 (a garbled file) saturate, never wrap.
        let huge = "drop\nffffffffffffffff\n00000002\n";
        assert_eq!(conntrack_stat_column(huge, "drop"), Some(u64::MAX));
        assert_eq!(table_full_drops(stat), Some(32));
    }

    #[test]
    fn packets_lost_in_a_confirmation_race_are_not_table_full_drops() {
        let header = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart";
        let row = |insert_failed: u32, drop: u32| {
            format!("00000010  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 {insert_failed:08x} {drop:08x} 00000000 00000000  00000000 00000000 00000000 00000000")
        };
        let raced = format!("{header}\n{}\n{}\n", row(2, 2), row(1, 1));
        assert_eq!(table_full_drops(&raced), Some(0));
        let full = format!("{header}\n{}\n{}\n", row(2, 9), row(0, 0));
        assert_eq!(table_full_drops(&full), Some(7));
        assert_eq!(table_full_drops(header), Some(0));
        assert_eq!(table_full_drops("entries\n1\n"), None);
    }

    #[test]
    fn table_full_lines_are_counted_with_the_newest_time() {
        let log = [
            "4,900,61000000,-;nf_conntrack: nf_conntrack: table full, dropping packet".to_string(),
            "6,901,62000000,-;eth0: link up".to_string(),
            "4,902,125500000,-;nf_conntrack: nf_conntrack: table full, dropping packet".to_string(),
        ];
        assert_eq!(table_full(&log), (2, Some(125)));
        assert_eq!(table_full(&log[1..2]), (0, None));
    }

    #[test]
    fn real_filesystems_are_measured() {
        let mut notes = ProbeNotes::default();
        let reach = Reach::new(crate::collect::reach::PATH_BOUND, &mut notes);
        let usages = filesystems(&reach, &mut notes);
        let root = usages
            .iter()
            .find(|usage| usage.path == "/")
            .expect("/ measured");
        assert!(root.total_bytes > 0 && root.available_bytes <= root.total_bytes);
        // Paths on one filesystem are reported once.
        let mut mounts: Vec<&str> = usages
            .iter()
            .map(|usage| usage.mount_point.as_str())
            .collect();
        let count = mounts.len();
        mounts.dedup();
        assert_eq!(mounts.len(), count);
    }
}
