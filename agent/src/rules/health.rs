//! Host health: full or read-only filesystems, exhausted memory, OOM kills of sshd, a full
//! connection-tracking table.

use super::{Draft, RuleId, SshView};
use crate::facts::{ConntrackFacts, Facts, FilesystemUsage};
use crate::openssh::PATHS_A_LOGIN_WRITES;

/// EC2Rescue's thresholds: fail at 99% used, warn at 90%.
const FULL_PERCENT: f64 = 99.0;
const NEARLY_FULL_PERCENT: f64 = 90.0;
/// Below this, "not full by percent" on a huge disk is still full for a login.
const MIN_FREE_BYTES: u64 = 1 << 20;
/// Below this share of memory available (with no free swap), forks start failing.
const LOW_MEMORY_PERCENT: f64 = 5.0;

pub fn check(facts: &Facts, _view: &SshView, findings: &mut Vec<Draft>) {
    for filesystem in &facts.health.filesystems {
        check_filesystem(filesystem, findings);
    }
    check_memory(facts, findings);
    if let Some(conntrack) = &facts.health.conntrack {
        check_conntrack(conntrack, findings);
    }
    for kill in facts
        .health
        .oom_kills
        .iter()
        .filter(|kill| kill.comm.starts_with("sshd"))
    {
        findings.push(
            Draft::new(RuleId::OomKilledSshd)
                .var("comm", kill.comm.clone())
                .var("pid", kill.pid.to_string())
                .evidence(
                    kill.message.clone(),
                    Some(format!(
                        "kernel log, {} s after boot",
                        kill.seconds_since_boot
                    )),
                ),
        );
    }
}

/// Full: the kernel drops new connections now (it drops at `max`; an entry or two may be
/// freed between our two reads). Nearly full: EC2Rescue's warning level for disks.
const CONNTRACK_FULL_PERCENT: f64 = 99.0;
const CONNTRACK_NEARLY_FULL_PERCENT: f64 = 90.0;

fn check_conntrack(conntrack: &ConntrackFacts, findings: &mut Vec<Draft>) {
    let used = conntrack.used_percent();
    let mut evidence = vec![(
        format!(
            "{} of {} entries ({used:.0}%)",
            conntrack.entries, conntrack.max
        ),
        "net.netfilter.nf_conntrack_count, nf_conntrack_max".to_string(),
    )];
    let drops = conntrack.drops.unwrap_or(0);
    if drops > 0 {
        evidence.push((
            format!("{drops} packets dropped since boot because the table was full"),
            "/proc/net/stat/nf_conntrack (drop)".into(),
        ));
    }
    if let Some(last) = conntrack.last_table_full_seconds_since_boot {
        evidence.push((
            format!(
                "{} \"table full, dropping packet\" line(s) in the kernel log",
                conntrack.table_full_messages
            ),
            format!("kernel log, last {last} s after boot"),
        ));
    }
    let finding = if used >= CONNTRACK_FULL_PERCENT {
        Draft::new(RuleId::ConntrackFull)
            .var("entries", conntrack.entries.to_string())
            .var("max", conntrack.max.to_string())
    } else if drops > 0 || conntrack.table_full_messages > 0 {
        let what = match drops {
            0 => "was full since boot: the kernel dropped new connections".to_string(),
            _ => format!("was full since boot: {drops} new connections' packets dropped"),
        };
        // Past drops explain earlier timeouts; the table has room now, so the machine
        // is not in trouble for it.
        Draft::new(RuleId::ConntrackDropping)
            .var("what", what)
            .severity(super::Severity::Info)
    } else if used >= CONNTRACK_NEARLY_FULL_PERCENT {
        Draft::new(RuleId::ConntrackDropping).var(
            "what",
            format!("is nearly full ({used:.0}%): new connections will be dropped when it fills"),
        )
    } else {
        return;
    };
    let mut finding = finding.var("double_max", (conntrack.max.max(1024) * 2).to_string());
    for (fact, source) in evidence {
        finding = finding.evidence(fact, Some(source));
    }
    findings.push(finding);
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn check_filesystem(filesystem: &FilesystemUsage, findings: &mut Vec<Draft>) {
    if filesystem.total_bytes == 0 {
        return; // Pseudo filesystems report no size.
    }
    let blocks = filesystem.used_percent();
    let inodes = filesystem.inodes_used_percent();
    let usage = format!(
        "{:.0}% of {} used, {} available; inodes {:.0}% used, {} free",
        blocks,
        human_bytes(filesystem.total_bytes),
        human_bytes(filesystem.available_bytes),
        inodes,
        filesystem.free_inodes
    );
    let source = Some(format!(
        "{} on {} ({})",
        filesystem.source.as_deref().unwrap_or("?"),
        filesystem.mount_point,
        filesystem.fs_type.as_deref().unwrap_or("?")
    ));
    let blocks_full = blocks >= FULL_PERCENT || filesystem.available_bytes < MIN_FREE_BYTES;
    let inodes_full = filesystem.total_inodes > 0 && inodes >= FULL_PERCENT;
    let what = match (blocks_full, inodes_full) {
        (true, true) => Some("no space and no inodes left"),
        (true, false) => Some("no space left"),
        (false, true) => Some("no inodes left"),
        _ => None,
    };
    if let Some(what) = what {
        findings.push(
            Draft::new(RuleId::FilesystemFull)
                .var("mount_point", filesystem.mount_point.clone())
                .var("what", what)
                .evidence(usage, source),
        );
    } else if blocks >= NEARLY_FULL_PERCENT || inodes >= NEARLY_FULL_PERCENT {
        let what = if blocks >= inodes {
            format!("{blocks:.0}% used")
        } else {
            format!("{inodes:.0}% of inodes used")
        };
        findings.push(
            Draft::new(RuleId::FilesystemNearlyFull)
                .var("mount_point", filesystem.mount_point.clone())
                .var("what", what)
                .evidence(usage, source),
        );
    }
    if filesystem.read_only && PATHS_A_LOGIN_WRITES.contains(&filesystem.mount_point.as_str()) {
        findings.push(
            Draft::new(RuleId::FilesystemReadOnly)
                .var("mount_point", filesystem.mount_point.clone())
                .var("path", filesystem.path.clone())
                .evidence(
                    format!("{} is mounted ro", filesystem.mount_point),
                    Some("/proc/self/mountinfo".into()),
                ),
        );
    }
}

fn check_memory(facts: &Facts, findings: &mut Vec<Draft>) {
    let Some(memory) = &facts.health.memory else {
        return;
    };
    if memory.total_bytes == 0 {
        return;
    }
    let available_percent = memory.available_bytes as f64 * 100.0 / memory.total_bytes as f64;
    let swap_free_percent = if memory.swap_total_bytes == 0 {
        0.0
    } else {
        memory.swap_free_bytes as f64 * 100.0 / memory.swap_total_bytes as f64
    };
    if available_percent < LOW_MEMORY_PERCENT && swap_free_percent < LOW_MEMORY_PERCENT {
        findings.push(
            Draft::new(RuleId::MemoryExhausted)
                .var("available", human_bytes(memory.available_bytes))
                .var("total", human_bytes(memory.total_bytes))
                .evidence(
                    format!(
                        "MemAvailable {} of {} ({available_percent:.1}%), swap {} free of {}",
                        human_bytes(memory.available_bytes),
                        human_bytes(memory.total_bytes),
                        human_bytes(memory.swap_free_bytes),
                        human_bytes(memory.swap_total_bytes)
                    ),
                    Some("/proc/meminfo".into()),
                ),
        );
    }
}
