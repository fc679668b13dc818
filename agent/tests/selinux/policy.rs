//! SELinux on real files in a private mount namespace: selinuxfs's `enforce`, the
//! config and the policy store are tmpfs copies the test writes, then the real binary
//! judges them. (This kernel has no SELinux, so selinuxfs is played by a tmpfs file with
//! the same name and contents.)

use crate::support;

use support::mount_ns::diagnose_after;
use support::verdict::findings_with;

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str =
    "a stand-in selinuxfs in a private mount namespace (unshare --mount) needs root";

const CONFIG_2222: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/selinux/sshd_config_2222"
);

/// SELinux in `mode` now, `config` in /etc/selinux/config with the targeted policy
/// installed, and `ports_local` as its local port labels.
fn diagnose_selinux(mode: &str, config: &str, ports_local: &str) -> serde_json::Value {
    let enforce = if mode == "enforcing" { "1" } else { "0" };
    let setup = format!(
        "mount -t tmpfs tmpfs /sys/fs; mkdir /sys/fs/selinux; echo {enforce} > /sys/fs/selinux/enforce; \
         mkdir -p /etc/selinux /var/lib/selinux; mount -t tmpfs tmpfs /etc/selinux; \
         mount -t tmpfs tmpfs /var/lib/selinux; mkdir /etc/selinux/targeted; \
         printf '{config}' > /etc/selinux/config; \
         mkdir -p /var/lib/selinux/targeted/active; printf '{ports_local}' > /var/lib/selinux/targeted/active/ports.local"
    );
    diagnose_after(&setup, &["--no-sshd-run", "--config", CONFIG_2222])
}

const ENFORCING_TARGETED: &str = "SELINUX=enforcing\\nSELINUXTYPE=targeted\\n";

#[test]
fn enforcing_without_a_label_for_the_port_is_critical() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_selinux("enforcing", ENFORCING_TARGETED, "");
    let found = findings_with(&verdict, "SSH-SEL-001");
    assert_eq!(found.len(), 1, "{verdict:#}");
    assert_eq!(found[0]["title"], "SELinux does not let sshd use port 2222");
    assert_eq!(
        found[0]["remediation"]["guest"][0],
        "semanage port -a -t ssh_port_t -p tcp 2222"
    );
    assert_eq!(verdict["facts"]["selinux"]["kernel_mode"], "enforcing");
}

#[test]
fn a_local_label_allows_the_port() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let labels = "portcon tcp 2222 system_u:object_r:ssh_port_t:s0\\n";
    let verdict = diagnose_selinux("enforcing", ENFORCING_TARGETED, labels);
    assert!(
        findings_with(&verdict, "SSH-SEL-001").is_empty(),
        "{verdict:#}"
    );
    assert_eq!(
        verdict["facts"]["selinux"]["ports_source"],
        "/var/lib/selinux/targeted/active/ports.local"
    );
}

#[test]
fn permissive_mode_does_not_block_the_port() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_selinux("permissive", ENFORCING_TARGETED, "");
    assert!(
        findings_with(&verdict, "SSH-SEL-001").is_empty(),
        "{verdict:#}"
    );
}

#[test]
fn a_mistyped_mode_will_stop_the_next_boot() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_selinux(
        "permissive",
        "SELINUX=enforcin\\nSELINUXTYPE=targeted\\n",
        "",
    );
    let found = findings_with(&verdict, "SSH-SEL-002");
    assert_eq!(found.len(), 1, "{verdict:#}");
    assert_eq!(
        found[0]["title"],
        "/etc/selinux/config will stop the next boot: line 1: SELINUX=enforcin is not enforcing, permissive or disabled"
    );
}

#[test]
fn a_policy_that_is_not_installed_will_stop_the_next_boot() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_selinux("permissive", "SELINUX=enforcing\\nSELINUXTYPE=mls\\n", "");
    let found = findings_with(&verdict, "SSH-SEL-002");
    assert_eq!(found.len(), 1, "{verdict:#}");
    assert!(found[0]["title"]
        .as_str()
        .unwrap()
        .ends_with("SELINUXTYPE=mls but /etc/selinux/mls does not exist"));
}
