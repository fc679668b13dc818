//! The prerequisite rules (SSH-PRV) judged on facts built by hand: the privilege
//! separation directory and sshd's helper programs.

use crate::support::facts::*;
use sshdoctor::facts::*;
use sshdoctor::rules::{evaluate, Severity};

/// Stopped sshd and no /run/sshd: systemd removes the directory when it stops the unit
/// and creates it again on start, so it is no finding while systemd is PID 1, even when
/// systemd does not answer in time (the lab's reboot under load). Without systemd the
/// directory must exist for sshd to start.
#[test]
fn missing_privsep_dir_counts_only_where_systemd_does_not_create_it() {
    let mut facts = healthy();
    stop_sshd(&mut facts);
    facts.prereqs.privsep_dir = Some(FileStat::missing("/run/sshd"));
    assert!(!ids(&facts).contains(&"SSH-PRV-001"), "{:?}", ids(&facts));
    facts.systemd = SystemdFacts {
        reachable: false,
        error: Some("timed out after 5s".into()),
        ..SystemdFacts::default()
    };
    facts.host.pid1_comm = Some("systemd".into());
    assert_eq!(ids(&facts), ["SSH-SVC-008", "SSH-SVC-009"]);
    facts.host.pid1_comm = Some("init".into());
    assert_eq!(ids(&facts), ["SSH-PRV-001", "SSH-SVC-008", "SSH-SVC-009"]);
}

/// sshd checks its privsep directory when it starts (and, before OpenSSH 9.8, on every
/// connection): with sshd-session and sshd running, an unsafe directory is a warning
/// about the next restart (the VM lab's trixie logs in fine); otherwise it is critical.
#[test]
fn unsafe_privsep_dir_is_critical_only_when_sshd_must_start() {
    let mut facts = healthy();
    facts.prereqs.privsep_dir = Some(FileStat {
        path: "/run/sshd".into(),
        exists: true,
        kind: FileKind::Directory,
        mode: Some(0o777),
        uid: Some(0),
        gid: Some(0),
        group: Some("root".into()),
        error: None,
    });
    // OpenSSH before 9.8 re-executes sshd per connection: every connection fails.
    let running = evaluate(&facts);
    assert_eq!(running[0].id, "SSH-PRV-002");
    assert_eq!(running[0].severity, Severity::Critical);
    facts.sshd.session = Some("/usr/lib/openssh/sshd-session".into());
    let running = evaluate(&facts);
    assert_eq!(running[0].severity, Severity::Warning);
    stop_sshd(&mut facts);
    let stopped = evaluate(&facts);
    let unsafe_dir = stopped.iter().find(|f| f.id == "SSH-PRV-002").unwrap();
    assert_eq!(unsafe_dir.severity, Severity::Critical);
}

/// OpenSSH 10's sshd-session made non-executable (or removed): critical, with this
/// distribution's reinstall and a restart of the unit first; the listener closing
/// connections before its banner is this finding's alone.
#[test]
fn a_missing_sshd_session_is_critical_with_the_reinstall_first() {
    let mut facts = healthy();
    facts.prereqs.helpers = vec![SshdHelper {
        name: "sshd-session".into(),
        stat: stat("/usr/lib/openssh/sshd-session", FileKind::File, 0o644, 0),
        source: "sshd -T".into(),
    }];
    facts.live.banners[0].outcome = BannerOutcome::ClosedBeforeBanner;
    let found = evaluate(&facts);
    let ids: Vec<&str> = found.iter().map(|finding| finding.id).collect();
    assert_eq!(ids, ["SSH-PRV-004"], "{found:#?}");
    assert_eq!(
        found[0].title,
        "sshd's sshd-session /usr/lib/openssh/sshd-session is not executable"
    );
    assert_eq!(
        found[0].remediation.guest[0],
        "apt-get install --reinstall -y openssh-server && systemctl restart ssh.service"
    );
    facts.host.os_id = Some("rhel".into());
    assert_eq!(
        evaluate(&facts)[0].remediation.guest[0],
        "dnf reinstall -y openssh-server && systemctl restart ssh.service"
    );
}

/// Host keys 0640 root:ssh_keys: usable for a build with RHEL's patch, ignored by any
/// other; where the build could not be read, a RHEL-family os-release decides.
#[test]
fn ssh_keys_group_host_keys_follow_the_build() {
    let mut facts = healthy();
    let mut private = stat("/etc/ssh/ssh_host_ed25519_key", FileKind::File, 0o640, 0);
    private.group = Some("ssh_keys".into());
    facts.prereqs.host_keys = vec![HostKey {
        path: private.path.clone(),
        source: None,
        private,
        public_exists: true,
        load: None,
    }];
    let key_ids = |facts: &Facts| -> Vec<&'static str> {
        evaluate(facts)
            .into_iter()
            .map(|finding| finding.id)
            .filter(|id| id.starts_with("SSH-KEY"))
            .collect()
    };
    facts.sshd.accepts_ssh_keys_group = Some(true);
    assert!(key_ids(&facts).is_empty());
    facts.sshd.accepts_ssh_keys_group = Some(false);
    assert_eq!(key_ids(&facts), ["SSH-KEY-001"]);
    facts.sshd.accepts_ssh_keys_group = None;
    facts.host.os_id = Some("rocky".into());
    facts.host.os_id_like = vec!["rhel".into(), "centos".into(), "fedora".into()];
    assert!(key_ids(&facts).is_empty());
}
