//! The host health rules (SSH-HST) judged on facts built by hand: memory, the OOM
//! killer and the connection-tracking table.

use crate::support::facts::*;
use sshdoctor::facts::*;
use sshdoctor::rules::{evaluate, Severity};
use sshdoctor::verdict::Status;

#[test]
fn memory_pressure_and_oom_kills_of_sshd() {
    let mut facts = healthy();
    facts.health.memory = Some(MemoryFacts {
        total_bytes: 1 << 30,
        available_bytes: 20 << 20,
        swap_total_bytes: 0,
        swap_free_bytes: 0,
    });
    facts.health.oom_kills = vec![
        OomKill {
            pid: 812,
            comm: "sshd".into(),
            seconds_since_boot: 3600,
            message: "Out of memory: Killed process 812 (sshd)".into(),
        },
        OomKill {
            pid: 900,
            comm: "java".into(),
            seconds_since_boot: 3700,
            message: "Out of memory: Killed process 900 (java)".into(),
        },
    ];
    let findings = evaluate(&facts);
    let found: Vec<&str> = findings.iter().map(|f| f.id).collect();
    assert_eq!(found, ["SSH-HST-004", "SSH-HST-005"]);
    assert_eq!(
        findings[0].title,
        "Memory is nearly exhausted (20.0 MiB available of 1.0 GiB)"
    );
    assert_eq!(
        findings[1].title,
        "The kernel's OOM killer killed sshd (pid 812)"
    );
    // With free swap, low MemAvailable alone does not starve forks.
    facts.health.memory.as_mut().unwrap().swap_total_bytes = 2 << 30;
    facts.health.memory.as_mut().unwrap().swap_free_bytes = 2 << 30;
    assert_eq!(ids(&facts), ["SSH-HST-005"]);
}

/// A full conntrack table drops every new connection (critical); a table at 90% warns;
/// drops since boot, with room again now, are for information; max 0 means no limit.
#[test]
fn conntrack_table_full_dropping_and_nearly_full() {
    let mut facts = healthy();
    let mut conntrack = ConntrackFacts {
        entries: 1200,
        max: 65536,
        drops: Some(0),
        ..ConntrackFacts::default()
    };
    facts.health.conntrack = Some(conntrack.clone());
    assert!(ids(&facts).is_empty(), "{:?}", ids(&facts));

    conntrack.entries = 65536;
    conntrack.drops = Some(412);
    conntrack.table_full_messages = 3;
    conntrack.last_table_full_seconds_since_boot = Some(5400);
    facts.health.conntrack = Some(conntrack.clone());
    let full = evaluate(&facts);
    assert_eq!(full[0].id, "SSH-HST-006");
    assert_eq!(full[0].severity, Severity::Critical);
    assert_eq!(
        full[0].title,
        "The connection-tracking table is full (65536 of 65536 entries)"
    );
    assert_eq!(
        full[0].remediation.guest[0],
        "sysctl -w net.netfilter.nf_conntrack_max=131072"
    );
    let facts_seen: Vec<&str> = full[0].evidence.iter().map(|e| e.fact.as_str()).collect();
    assert_eq!(
        facts_seen,
        [
            "65536 of 65536 entries (100%)",
            "412 packets dropped since boot because the table was full",
            "3 \"table full, dropping packet\" line(s) in the kernel log",
        ]
    );
    assert_eq!(
        verdict(facts.clone()).summary,
        "SSH-HST-006: The connection-tracking table is full (65536 of 65536 entries)"
    );

    conntrack.entries = 900;
    facts.health.conntrack = Some(conntrack.clone());
    let dropped = evaluate(&facts);
    assert_eq!(ids(&facts), ["SSH-HST-007"]);
    assert_eq!(dropped[0].severity, Severity::Info, "room again now");
    assert_eq!(verdict(facts.clone()).status, Status::Healthy);
    assert_eq!(
        dropped[0].title,
        "The connection-tracking table was full since boot: 412 new connections' packets dropped"
    );

    conntrack.drops = Some(0);
    conntrack.table_full_messages = 0;
    conntrack.last_table_full_seconds_since_boot = None;
    conntrack.entries = 60000;
    facts.health.conntrack = Some(conntrack.clone());
    assert_eq!(ids(&facts), ["SSH-HST-007"]);
    assert_eq!(evaluate(&facts)[0].severity, Severity::Warning);

    conntrack.max = 0;
    facts.health.conntrack = Some(conntrack);
    assert!(ids(&facts).is_empty(), "max 0: no limit");
}
