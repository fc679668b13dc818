//! Host health on real filesystems: each test makes a private mount namespace
//! (`unshare --mount`), mounts a small tmpfs over /tmp, fills it for real, and runs the
//! binary there. Nothing outside the namespace sees the mounts.

mod support;

use support::mount_ns::{diagnose_after as diagnose_in, findings_with as findings_on};

fn diagnose_after(setup: &str) -> serde_json::Value {
    diagnose_in(setup, &["--no-sshd-run"])
}

#[test]
fn full_tmp_is_critical() {
    let verdict = diagnose_after(
        "mount -t tmpfs -o size=1m tmpfs /tmp; dd if=/dev/zero of=/tmp/fill bs=64k 2>/dev/null || true",
    );
    let full = findings_on(&verdict, "SSH-HST-001");
    assert_eq!(full.len(), 1, "{verdict:#}");
    assert_eq!(full[0]["title"], "/tmp is full (no space left)");
    assert_eq!(full[0]["severity"], "critical");
    let evidence = full[0]["evidence"][0]["fact"].as_str().unwrap();
    assert!(
        evidence.starts_with("100% of 1.0 MiB used, 0 B available"),
        "{evidence}"
    );
    assert_eq!(verdict["status"], "critical");
}

#[test]
fn exhausted_inodes_are_critical_even_with_space_left() {
    let verdict = diagnose_after(
        "mount -t tmpfs -o size=8m,nr_inodes=64 tmpfs /tmp; i=0; while touch /tmp/f$i 2>/dev/null; do i=$((i+1)); done",
    );
    let full = findings_on(&verdict, "SSH-HST-001");
    assert_eq!(full.len(), 1, "{verdict:#}");
    assert_eq!(full[0]["title"], "/tmp is full (no inodes left)");
}

#[test]
fn nearly_full_is_a_warning() {
    // 1 MiB of 10 MiB left: 90% used.
    let verdict = diagnose_after(
        "mount -t tmpfs -o size=10m tmpfs /tmp; dd if=/dev/zero of=/tmp/fill bs=1M count=9 2>/dev/null",
    );
    let nearly = findings_on(&verdict, "SSH-HST-002");
    assert_eq!(nearly.len(), 1, "{verdict:#}");
    assert_eq!(nearly[0]["title"], "/tmp is nearly full (90% used)");
    assert!(findings_on(&verdict, "SSH-HST-001").is_empty());
}

#[test]
fn read_only_tmp_is_reported() {
    let verdict = diagnose_after("mount -t tmpfs -o size=4m,ro tmpfs /tmp");
    let read_only = findings_on(&verdict, "SSH-HST-003");
    assert_eq!(read_only.len(), 1, "{verdict:#}");
    assert_eq!(read_only[0]["title"], "/tmp is mounted read-only");
}

#[test]
fn healthy_tmp_raises_nothing() {
    let verdict = diagnose_after("mount -t tmpfs -o size=64m tmpfs /tmp");
    let tmp = verdict["facts"]["health"]["filesystems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|filesystem| filesystem["mount_point"] == "/tmp")
        .expect("/tmp measured");
    assert_eq!(tmp["fs_type"], "tmpfs");
    assert_eq!(tmp["total_bytes"], 64 << 20);
    let about_tmp = verdict["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["title"].as_str().unwrap().starts_with("/tmp "))
        .count();
    assert_eq!(about_tmp, 0, "{verdict:#}");
}
