//! Host health on real filesystems: each test makes a private mount namespace
//! (`unshare --mount`), mounts a small tmpfs over /tmp, fills it for real, and runs the
//! binary there. Nothing outside the namespace sees the mounts. Connection tracking is
//! counted in a network namespace of the test's own.

use crate::support;

use support::mount_ns::diagnose_after as diagnose_in;
use support::verdict::findings_with as findings_on;
use support::NetNs;

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str = "mounts in a private mount namespace and a network namespace need root";

fn diagnose_after(setup: &str) -> serde_json::Value {
    diagnose_in(setup, &["--no-sshd-run"])
}

/// A full filesystem alone locks no one out (the VM lab logs in on a full root
/// filesystem): a warning.
#[test]
fn full_tmp_is_a_warning() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_after(
        "mount -t tmpfs -o size=1m tmpfs /tmp; dd if=/dev/zero of=/tmp/fill bs=64k 2>/dev/null || true",
    );
    let full = findings_on(&verdict, "SSH-HST-001");
    assert_eq!(full.len(), 1, "{verdict:#}");
    assert_eq!(full[0]["title"], "/tmp is full (no space left)");
    assert_eq!(full[0]["severity"], "warning");
    let evidence = full[0]["evidence"][0]["fact"].as_str().unwrap();
    assert!(
        evidence.starts_with("100% of 1.0 MiB used, 0 B available"),
        "{evidence}"
    );
    assert_ne!(verdict["status"], "healthy");
}

#[test]
fn exhausted_inodes_count_as_full_even_with_space_left() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_after(
        "mount -t tmpfs -o size=8m,nr_inodes=64 tmpfs /tmp; i=0; while touch /tmp/f$i 2>/dev/null; do i=$((i+1)); done",
    );
    let full = findings_on(&verdict, "SSH-HST-001");
    assert_eq!(full.len(), 1, "{verdict:#}");
    assert_eq!(full[0]["title"], "/tmp is full (no inodes left)");
}

#[test]
fn nearly_full_is_a_warning() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
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
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_after("mount -t tmpfs -o size=4m,ro tmpfs /tmp");
    let read_only = findings_on(&verdict, "SSH-HST-003");
    assert_eq!(read_only.len(), 1, "{verdict:#}");
    assert_eq!(read_only[0]["title"], "/tmp is mounted read-only");
}

#[test]
fn healthy_tmp_raises_nothing() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
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

/// An nft rule that needs connection state makes the kernel track the namespace's
/// connections; ten unanswered UDP flows on loopback then stay in its table (30 s each).
/// The table's size limit is the kernel's, read the same in every namespace.
#[test]
fn conntrack_entries_are_counted_in_the_namespace_diagnosed() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    let untracked = ns.diagnose(&["--no-sshd-run"]);
    let before = &untracked["facts"]["health"]["conntrack"];
    // nf_conntrack may not even be loaded; if it is, this namespace tracks nothing yet.
    assert!(before.is_null() || before["entries"] == 0, "{before:#}");
    ns.exec(
        &["nft", "-f", "-"],
        "table inet lab {\n chain input {\n  type filter hook input priority 0;\n  ct state new counter\n }\n}\n",
    );
    ns.exec(
        &[
            "bash",
            "-c",
            "for port in $(seq 40000 40009); do echo x > /dev/udp/127.0.0.1/$port; done",
        ],
        "",
    );
    let verdict = ns.diagnose(&["--no-sshd-run"]);
    let conntrack = &verdict["facts"]["health"]["conntrack"];
    let entries = conntrack["entries"].as_u64().expect("entries counted");
    assert!((10..100).contains(&entries), "{conntrack:#}");
    let max: u64 = std::fs::read_to_string("/proc/sys/net/netfilter/nf_conntrack_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(conntrack["max"], max);
    assert_eq!(conntrack["drops"], 0, "{conntrack:#}");
    assert!(findings_on(&verdict, "SSH-HST-006").is_empty());
    assert!(findings_on(&verdict, "SSH-HST-007").is_empty());
}
