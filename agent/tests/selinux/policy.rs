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
        "semanage port -a -t ssh_port_t -p tcp 2222 || semanage port -m -t ssh_port_t -p tcp 2222"
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

/// The repair against the real policy store: `semanage` (policycoreutils) labels the
/// port in a private copy of the installed store, the check after it finds the label,
/// and undo deletes it. A free port is added (2222); one the base policy gives another
/// type (8080, http_cache_port_t) is modified, and undo gives it back that type. This
/// kernel has no SELinux, so that sshd may then bind the port is not shown here; the
/// stand-in selinuxfs says "enforcing".
#[test]
fn the_port_is_labeled_by_semanage_and_undo_deletes_the_label() {
    if !support::requires_root(NEEDS_ROOT)
        || !support::requires_program("semanage", "the real SELinux policy store to repair")
    {
        return;
    }
    let store = "/var/lib/selinux/default";
    support::accounts::in_private_system("", || {
        // A network of its own: the sshds other tests run on loopback are not this
        // machine's, and the check after the fix must not count them.
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare net ns");
        support::accounts::sh(&format!(
            "cp -a {store} /tmp/store; mount -t tmpfs tmpfs /var/lib/selinux; \
             cp -a /tmp/store {store}; \
             printf 'SELINUX=enforcing\\nSELINUXTYPE=default\\n' > /etc/selinux/config; \
             mount -t tmpfs tmpfs /sys/fs; mkdir /sys/fs/selinux; echo 1 > /sys/fs/selinux/enforce"
        ));
        for port in ["2222", "8080"] {
            let config = format!("/tmp/sshd_config_{port}");
            std::fs::write(&config, format!("Port {port}\n")).unwrap();
            let sshdoctor = |args: &[&str]| {
                let mut all = args.to_vec();
                all.extend(["--format", "json", "--state-dir", "/tmp/sshdoctor-fix"]);
                if args[0] == "fix" {
                    all.extend(["--imds", "never", "--no-sshd-run", "--config", &config]);
                }
                let output = std::process::Command::new(support::sshdoctor_exe())
                    .args(all)
                    .output()
                    .unwrap();
                let report: serde_json::Value = serde_json::from_slice(&output.stdout)
                    .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
                report
            };
            let before = port_types(port);
            assert!(!before.contains("ssh_port_t"), "{before}");
            let plan = sshdoctor(&["fix", "SSH-SEL-001"]);
            assert_eq!(
                plan["steps"][0]["command"],
                format!(
                    "semanage port -a -t ssh_port_t -p tcp {port} || semanage port -m -t ssh_port_t -p tcp {port}"
                ),
                "{plan:#}"
            );
            let applied = sshdoctor(&["fix", "--apply", "SSH-SEL-001"]);
            assert_eq!(applied["outcome"], "applied", "{applied:#}");
            assert!(port_types(port).contains("ssh_port_t"), "{port}");
            let undone = sshdoctor(&["undo"]);
            assert_eq!(undone["outcome"], "undone", "{undone:#}");
            assert_eq!(port_types(port), before, "{port}");
        }
    });
}

/// The types `semanage port -l` gives TCP `port`, as the kernel would load them: a local
/// label first (it overrides the base policy's).
fn port_types(port: &str) -> String {
    let listed = std::process::Command::new("semanage")
        .args(["port", "-l"])
        .output()
        .unwrap();
    let types: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&"tcp")
                && fields[2..]
                    .iter()
                    .any(|listed| listed.trim_end_matches(',') == port)
        })
        .map(|line| line.split_whitespace().next().unwrap().to_string())
        .collect();
    types.join(" ")
}

const CONFIG_22: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/firewall/sshd_config"
);

/// alice with her key, SELinux enforcing (stand-in selinuxfs), and an audit log whose
/// one record denied sshd reading an authorized_keys: `age` seconds ago, or, for None,
/// just after her files were last changed (as when sshd reads them on her next login).
fn diagnose_denial(age: Option<u64>) -> serde_json::Value {
    use support::accounts::{ALICE, PRIVATE_SYSTEM};
    let when = match age {
        Some(age) => format!("$(( $(date +%s) - {age} ))"),
        None => "$(( $(date +%s) + 1 ))".to_string(),
    };
    let record = "type=AVC msg=audit(${when}.204:812): avc:  denied  { read } for  pid=4242 \
         comm=\\\"sshd\\\" name=\\\"authorized_keys\\\" dev=\\\"vda1\\\" ino=131090 \
         scontext=system_u:system_r:sshd_t:s0-s0:c0.c1023 \
         tcontext=unconfined_u:object_r:user_tmp_t:s0 tclass=file permissive=0";
    let setup = format!(
        "{PRIVATE_SYSTEM}; {ALICE}; mount -t tmpfs tmpfs /sys/fs; mkdir /sys/fs/selinux; \
         echo 1 > /sys/fs/selinux/enforce; mkdir -p /var/log/audit; when={when}; \
         echo \"{record}\" > /var/log/audit/audit.log"
    );
    diagnose_after(
        &setup,
        &["--no-sshd-run", "--user", "alice", "--config", CONFIG_22],
    )
}

/// A key file moved in from /tmp keeps user_tmp_t, which sshd_t may not read: the
/// verdict names the denial and the restorecon of alice's ~/.ssh.
#[test]
fn a_recent_denial_of_a_key_file_names_the_restorecon() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_denial(None);
    let found = findings_with(&verdict, "SSH-SEL-003");
    assert_eq!(found.len(), 1, "{verdict:#}");
    let denial = found[0];
    assert_eq!(denial["severity"], "critical");
    let title = denial["title"].as_str().unwrap();
    assert!(
        title.starts_with(
            "SELinux denied sshd read on authorized_keys (user_tmp_t): 1 in the audit log, last "
        ),
        "{title}"
    );
    assert_eq!(
        denial["remediation"]["guest"][0],
        "restorecon -Rv /home/alice/.ssh"
    );
    assert_eq!(
        verdict["facts"]["selinux"]["audit_log"],
        "/var/log/audit/audit.log"
    );
}

/// The same denial two days old is history: a warning.
#[test]
fn an_old_denial_is_a_warning() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let verdict = diagnose_denial(Some(2 * 24 * 3600));
    let found = findings_with(&verdict, "SSH-SEL-003");
    assert_eq!(found.len(), 1, "{verdict:#}");
    assert_eq!(found[0]["severity"], "warning");
}
