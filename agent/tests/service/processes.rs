//! The process collector against a real sshd and real pid files.

use crate::support;
use sshdoctor::collect::service::processes::{collect, read_pid_file};
use sshdoctor::collect::ProbeNotes;
use sshdoctor::facts::{SshdProcess, SystemdFacts, UnitFacts, UnitKind};
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tempfile::TempDir;

/// An sshd listening on 127.0.0.1 on a free port, with its own key, config and pid file.
struct TestSshd {
    child: Child,
    config: PathBuf,
    pid_file: PathBuf,
    port: u16,
    _dir: TempDir,
}

impl TestSshd {
    fn start() -> TestSshd {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("host_ed25519_key");
        let keygen = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(keygen.success());
        // The privilege separation directory sshd insists on.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("sshd_config");
        let pid_file = dir.path().join("sshd.pid");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\n",
                key.display(),
                pid_file.display()
            ),
        )
        .unwrap();
        let child = Command::new(support::SSHD)
            .arg("-D")
            .arg("-f")
            .arg(&config)
            .arg("-E")
            .arg(dir.path().join("sshd.log"))
            .spawn()
            .unwrap();
        let sshd = TestSshd {
            child,
            config,
            pid_file,
            port,
            _dir: dir,
        };
        sshd.wait_until_listening();
        sshd
    }

    /// sshd writes its pid file once its sockets listen; probing the port instead would
    /// leave a forked child per attempt.
    fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let written =
            |path: &Path| std::fs::read_to_string(path).is_ok_and(|pid| pid.ends_with('\n'));
        while !written(&self.pid_file) {
            assert!(Instant::now() < deadline, "sshd did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn sshd_processes() -> Vec<SshdProcess> {
    let mut notes = ProbeNotes::default();
    let facts = collect(&SystemdFacts::default(), &mut notes);
    assert!(!format!("{notes:?}").contains("Unavailable"), "{notes:?}");
    facts.sshd
}

fn find(processes: &[SshdProcess], pid: u32) -> Option<&SshdProcess> {
    processes.iter().find(|process| process.pid == pid)
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

#[test]
fn running_sshd_is_found_as_the_listener_with_its_config_and_gone_once_killed() {
    if !support::requires_sshd() {
        return;
    }
    let started_before_us = now_us();
    let mut sshd = TestSshd::start();
    let processes = sshd_processes();

    let listener = find(&processes, sshd.pid()).expect("our sshd in /proc");
    assert_eq!(listener.comm, "sshd");
    assert_eq!(listener.ppid, std::process::id());
    assert!(listener.is_listener, "{listener:?}");
    assert_eq!(
        listener.config_path.as_deref(),
        Some(sshd.config.to_str().unwrap()),
        "{listener:?}"
    );
    let start = listener.start_time_us.expect("a start time");
    // Boot time has whole-second precision and ticks are 10 ms.
    assert!(
        start + 1_500_000 >= started_before_us,
        "{start} < {started_before_us}"
    );
    assert!(start <= now_us() + 1_000_000);

    sshd.stop();
    assert!(find(&sshd_processes(), sshd.pid()).is_none());
}

#[test]
fn per_connection_child_is_not_a_listener() {
    if !support::requires_sshd() {
        return;
    }
    let sshd = TestSshd::start();
    // Once the banner arrives, the listener has forked the connection's own sshd.
    let connection = TcpStream::connect(("127.0.0.1", sshd.port)).unwrap();
    connection
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut banner = String::new();
    BufReader::new(&connection).read_line(&mut banner).unwrap();
    assert!(banner.starts_with("SSH-2.0-OpenSSH"), "{banner:?}");

    let processes = sshd_processes();
    let children: Vec<&SshdProcess> = processes
        .iter()
        .filter(|process| process.ppid == sshd.pid())
        .collect();
    assert!(
        !children.is_empty(),
        "no child of {} in {processes:#?}",
        sshd.pid()
    );
    for child in children {
        assert!(!child.is_listener, "{child:?}");
        assert_eq!(child.config_path, None);
    }
    assert!(find(&processes, sshd.pid()).unwrap().is_listener);
    drop(connection);
}

fn write_pid_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn pid_file_of_a_running_sshd_names_it_alive() {
    if !support::requires_sshd() {
        return;
    }
    let mut sshd = TestSshd::start();
    let missing = sshd.pid_file.with_file_name("absent.pid");
    let found = read_pid_file([missing.as_path(), sshd.pid_file.as_path()]).expect("pid file");

    assert_eq!(found.path, sshd.pid_file.display().to_string());
    assert_eq!(found.pid, Some(sshd.pid()));
    assert!(found.alive);

    sshd.stop();
    // sshd may or may not remove its pid file; a stale one must read as not alive.
    let stale = write_pid_file(
        sshd.pid_file.parent().unwrap(),
        "stale.pid",
        &format!("{}\n", sshd.pid()),
    );
    let found = read_pid_file([stale.as_path()]).unwrap();
    assert_eq!(found.pid, Some(sshd.pid()));
    assert!(!found.alive);
}

#[test]
fn pid_file_choice_and_contents() {
    let dir = tempfile::tempdir().unwrap();
    let own = write_pid_file(
        dir.path(),
        "first.pid",
        &format!("{}\n", std::process::id()),
    );
    let other = write_pid_file(dir.path(), "second.pid", "1\n");
    let garbage = write_pid_file(dir.path(), "garbage.pid", "not a pid\n");
    let empty = write_pid_file(dir.path(), "empty.pid", "");
    let missing = dir.path().join("missing.pid");

    let first = read_pid_file([missing.as_path(), own.as_path(), other.as_path()]).unwrap();
    assert_eq!(first.path, own.display().to_string());
    assert_eq!(first.pid, Some(std::process::id()));
    assert!(first.alive);

    for unreadable in [&garbage, &empty] {
        let found = read_pid_file([unreadable.as_path()]).unwrap();
        assert_eq!(found.pid, None);
        assert!(!found.alive);
    }
    assert!(read_pid_file([missing.as_path()]).is_none());
}

/// Where systemd runs SSH, the sshd processes are listed from the running unit's cgroup
/// (and the login sessions' scopes), not from every process: a real sshd moved into a
/// real cgroup v2 (mounted in the test's own mount namespace) is found with its role and
/// config; a second sshd outside it is not read at all.
#[test]
fn where_systemd_runs_ssh_its_processes_come_from_the_units_cgroup() {
    if !support::requires_root("a cgroup v2 mount in a private mount namespace needs root")
        || !support::requires_sshd()
    {
        return;
    }
    let unit_cgroup = format!("/sshdoctor-test-{}.slice/ssh.service", std::process::id());
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).unwrap();
                support::accounts::sh(
                    "mount --make-rprivate /; mount -t cgroup2 cgroup2 /sys/fs/cgroup",
                );
                let dir = format!("/sys/fs/cgroup{unit_cgroup}");
                std::fs::create_dir_all(&dir).unwrap();
                let mut in_unit = TestSshd::start();
                let mut by_hand = TestSshd::start();
                std::fs::write(format!("{dir}/cgroup.procs"), in_unit.pid().to_string()).unwrap();
                let systemd = SystemdFacts {
                    reachable: true,
                    units: vec![UnitFacts {
                        active_state: "active".into(),
                        main_pid: Some(in_unit.pid()),
                        control_group: Some(unit_cgroup.clone()),
                        ..UnitFacts::new("ssh.service", UnitKind::Service)
                    }],
                    ..SystemdFacts::default()
                };
                let mut notes = ProbeNotes::default();
                let facts = collect(&systemd, &mut notes);
                in_unit.stop();
                by_hand.stop();
                let _ = std::fs::remove_dir(&dir);
                let _ = std::fs::remove_dir(std::path::Path::new(&dir).parent().unwrap());
                assert!(facts.scanned);
                assert_eq!(facts.cgroups[0], unit_cgroup);
                let listener = find(&facts.sshd, in_unit.pid()).expect("the unit's sshd");
                assert!(listener.is_listener, "{listener:?}");
                assert_eq!(listener.config_path.as_deref(), in_unit.config.to_str());
                assert!(
                    find(&facts.sshd, by_hand.pid()).is_none(),
                    "{:?}",
                    facts.sshd
                );
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
}
