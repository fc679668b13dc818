//! The systemd collector against a real dbus-daemon and a fake systemd on it.

use crate::support;
use crate::support::dbus::{silent_systemd, FakeSystemd, FakeUnit, ServiceShape, TestBus};
use sshdoctor::collect::service::systemd::{collect_from, collect_with};
use sshdoctor::collect::ProbeNotes;
use sshdoctor::facts::{SystemdFacts, UnitFacts, UnitKind};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(2);
const VERSION: &str = "252.36-1~deb12u1";
/// What the tests that start a bus need dbus-daemon for.
const DBUS_DAEMON_FOR: &str = "the private system bus the fake systemd serves on";

fn ask(bus: &TestBus) -> (SystemdFacts, String) {
    let mut notes = ProbeNotes::default();
    let facts = collect_from(&bus.address, TIMEOUT, &mut notes);
    (facts, format!("{notes:?}"))
}

fn unit<'f>(facts: &'f SystemdFacts, name: &str) -> &'f UnitFacts {
    facts
        .units
        .iter()
        .find(|unit| unit.name == name)
        .unwrap_or_else(|| panic!("no {name} in {:#?}", facts.units))
}

fn names(facts: &SystemdFacts) -> Vec<&str> {
    facts.units.iter().map(|unit| unit.name.as_str()).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// Debian's ssh.service, enabled and running, answering to sshd.service too.
fn debian_ssh_service() -> FakeUnit {
    FakeUnit {
        names: strings(&["ssh.service", "sshd.service"]),
        active_state: "active".into(),
        sub_state: "running".into(),
        unit_file_state: "enabled".into(),
        fragment_path: "/lib/systemd/system/ssh.service".into(),
        drop_in_paths: strings(&["/etc/systemd/system/ssh.service.d/override.conf"]),
        active_enter_timestamp: 1_700_000_000_123_456,
        main_pid: 4242,
        n_restarts: 0,
        exec_start: vec![strings(&[
            "/usr/sbin/sshd",
            "-D",
            "-f",
            "/etc/ssh/alt_config",
        ])],
        ..FakeUnit::new("ssh.service")
    }
}

fn ssh_socket() -> FakeUnit {
    FakeUnit {
        triggers: strings(&["ssh.service"]),
        listen: vec![("Stream".into(), "[::]:22".into())],
        ..FakeUnit::new("ssh.socket")
    }
}

#[test]
fn healthy_service_is_read_with_every_field() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let _systemd = FakeSystemd::serve(&bus, VERSION, vec![debian_ssh_service(), ssh_socket()]);
    let (facts, notes) = ask(&bus);

    assert!(facts.reachable, "{facts:?} {notes}");
    assert_eq!(facts.error, None);
    assert_eq!(facts.version.as_deref(), Some(VERSION));
    assert_eq!(names(&facts), ["ssh.service", "ssh.socket"]);
    let service = unit(&facts, "ssh.service");
    assert_eq!(service.kind, UnitKind::Service);
    assert_eq!(service.aliases, ["sshd.service"]);
    assert_eq!(service.load_state, "loaded");
    assert_eq!(service.active_state, "active");
    assert_eq!(service.sub_state, "running");
    assert_eq!(service.unit_file_state.as_deref(), Some("enabled"));
    assert_eq!(service.result.as_deref(), Some("success"));
    assert_eq!(service.main_pid, Some(4242));
    assert_eq!(service.n_restarts, Some(0));
    assert_eq!(service.exec_main_code, Some(0));
    assert_eq!(service.exec_main_status, Some(0));
    assert_eq!(
        service.active_enter_timestamp_us,
        Some(1_700_000_000_123_456)
    );
    assert_eq!(service.inactive_enter_timestamp_us, None, "0 means never");
    assert_eq!(
        service.fragment_path.as_deref(),
        Some("/lib/systemd/system/ssh.service")
    );
    assert_eq!(
        service.dropin_paths,
        ["/etc/systemd/system/ssh.service.d/override.conf"]
    );
    assert_eq!(
        service.exec_start,
        [strings(&[
            "/usr/sbin/sshd",
            "-D",
            "-f",
            "/etc/ssh/alt_config"
        ])]
    );
    assert!(service.listen.is_empty() && service.accept.is_none());

    let socket = unit(&facts, "ssh.socket");
    assert_eq!(socket.kind, UnitKind::Socket);
    assert_eq!(socket.active_state, "inactive");
    assert_eq!(socket.unit_file_state.as_deref(), Some("disabled"));
    assert_eq!(socket.triggers, ["ssh.service"]);
    assert_eq!(
        socket.listen,
        [("Stream".to_string(), "[::]:22".to_string())]
    );
    assert_eq!(socket.accept, Some(false));
    assert_eq!(socket.main_pid, None);
    assert!(
        !notes.contains("Partial"),
        "nothing should be missing: {notes}"
    );
}

#[test]
fn masked_service_is_kept_with_its_masked_state() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let masked = FakeUnit {
        load_state: "masked".into(),
        unit_file_state: "masked".into(),
        fragment_path: "/etc/systemd/system/ssh.service".into(),
        ..FakeUnit::new("ssh.service")
    };
    let _systemd = FakeSystemd::serve(&bus, VERSION, vec![masked]);
    let (facts, _) = ask(&bus);

    assert_eq!(names(&facts), ["ssh.service"]);
    let service = unit(&facts, "ssh.service");
    assert_eq!(service.load_state, "masked");
    assert_eq!(service.unit_file_state.as_deref(), Some("masked"));
    assert_eq!(service.active_state, "inactive");
    assert_eq!(service.main_pid, None);
}

#[test]
fn a_frozen_service_says_so() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let frozen = FakeUnit {
        freezer_state: "frozen".into(),
        ..debian_ssh_service()
    };
    let _systemd = FakeSystemd::serve(&bus, VERSION, vec![frozen, ssh_socket()]);
    let (facts, _) = ask(&bus);

    assert_eq!(
        unit(&facts, "ssh.service").freezer_state.as_deref(),
        Some("frozen")
    );
    assert_eq!(
        unit(&facts, "ssh.socket").freezer_state.as_deref(),
        Some("running")
    );
}

#[test]
fn failed_service_reports_how_its_main_process_ended() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let failed = FakeUnit {
        active_state: "failed".into(),
        sub_state: "failed".into(),
        unit_file_state: "enabled".into(),
        result: "exit-code".into(),
        exec_main_code: 1,
        exec_main_status: 255,
        n_restarts: 5,
        inactive_enter_timestamp: 1_700_000_100_000_000,
        main_pid: 0,
        ..debian_ssh_service()
    };
    let _systemd = FakeSystemd::serve(&bus, VERSION, vec![failed]);
    let (facts, _) = ask(&bus);

    let service = unit(&facts, "ssh.service");
    assert_eq!(service.active_state, "failed");
    assert_eq!(service.sub_state, "failed");
    assert_eq!(service.result.as_deref(), Some("exit-code"));
    assert_eq!(service.exec_main_code, Some(1));
    assert_eq!(service.exec_main_status, Some(255));
    assert_eq!(service.n_restarts, Some(5));
    assert_eq!(service.main_pid, None, "MainPID 0 means none");
    assert_eq!(
        service.inactive_enter_timestamp_us,
        Some(1_700_000_100_000_000)
    );
}

#[test]
fn socket_activation_shows_the_listening_socket_and_idle_service() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let socket = FakeUnit {
        active_state: "active".into(),
        sub_state: "listening".into(),
        unit_file_state: "enabled".into(),
        listen: vec![("Stream".into(), "[::]:2222".into())],
        active_enter_timestamp: 1_700_000_000_000_000,
        ..ssh_socket()
    };
    let service = FakeUnit {
        unit_file_state: "disabled".into(),
        ..FakeUnit::new("ssh.service")
    };
    let _systemd = FakeSystemd::serve(&bus, VERSION, vec![service, socket]);
    let (facts, _) = ask(&bus);

    let socket = unit(&facts, "ssh.socket");
    assert_eq!(socket.active_state, "active");
    assert_eq!(socket.sub_state, "listening");
    assert_eq!(
        socket.listen,
        [("Stream".to_string(), "[::]:2222".to_string())]
    );
    assert_eq!(socket.triggers, ["ssh.service"]);
    let service = unit(&facts, "ssh.service");
    assert_eq!(service.active_state, "inactive");
    assert_eq!(service.sub_state, "dead");
    assert_eq!(service.main_pid, None);
}

#[test]
fn accept_socket_instances_are_found_by_pattern() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let socket = FakeUnit {
        active_state: "active".into(),
        sub_state: "listening".into(),
        accept: true,
        triggers: Vec::new(),
        ..ssh_socket()
    };
    let instance = FakeUnit {
        active_state: "active".into(),
        sub_state: "running".into(),
        unit_file_state: "static".into(),
        main_pid: 777,
        exec_start: vec![strings(&["/usr/sbin/sshd", "-i"])],
        ..FakeUnit::new("ssh@0-10.0.0.4:22-10.0.0.9:50122.service")
    };
    let unrelated = FakeUnit::new("sshguard@x.service");
    let _systemd = FakeSystemd::serve(&bus, VERSION, vec![socket, instance, unrelated]);
    let (facts, _) = ask(&bus);

    assert_eq!(
        names(&facts),
        ["ssh.socket", "ssh@0-10.0.0.4:22-10.0.0.9:50122.service"]
    );
    assert_eq!(unit(&facts, "ssh.socket").accept, Some(true));
    let instance = unit(&facts, "ssh@0-10.0.0.4:22-10.0.0.9:50122.service");
    assert_eq!(instance.main_pid, Some(777));
    assert_eq!(instance.exec_start, [strings(&["/usr/sbin/sshd", "-i"])]);
}

#[test]
fn alias_is_read_once_and_recorded() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let _systemd = FakeSystemd::serve(&bus, VERSION, vec![debian_ssh_service()]);
    let (facts, _) = ask(&bus);

    // LoadUnit("sshd.service") leads to ssh.service's object: one unit, with its alias.
    assert_eq!(names(&facts), ["ssh.service"]);
    assert_eq!(unit(&facts, "ssh.service").aliases, ["sshd.service"]);
}

#[test]
fn fedora_style_sshd_service_is_found_under_its_own_name() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let sshd = FakeUnit {
        active_state: "active".into(),
        sub_state: "running".into(),
        main_pid: 99,
        ..FakeUnit::new("sshd.service")
    };
    let _systemd = FakeSystemd::serve(&bus, "255.4-1.fc40", vec![sshd]);
    let (facts, _) = ask(&bus);

    assert_eq!(names(&facts), ["sshd.service"]);
    assert!(unit(&facts, "sshd.service").aliases.is_empty());
    assert_eq!(unit(&facts, "sshd.service").main_pid, Some(99));
}

#[test]
fn old_systemd_without_list_by_patterns_or_nrestarts_still_answers() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let service = FakeUnit {
        service_shape: ServiceShape::WithoutNRestarts,
        ..debian_ssh_service()
    };
    let instance = FakeUnit {
        active_state: "active".into(),
        service_shape: ServiceShape::WithoutNRestarts,
        ..FakeUnit::new("sshd@3-10.0.0.4:22-10.0.0.9:40000.service")
    };
    let _systemd = FakeSystemd::serve_with(&bus, "219", false, vec![service, instance]);
    let (facts, notes) = ask(&bus);

    assert!(facts.reachable);
    assert_eq!(
        names(&facts),
        ["ssh.service", "sshd@3-10.0.0.4:22-10.0.0.9:40000.service"]
    );
    assert_eq!(unit(&facts, "ssh.service").n_restarts, None);
    assert_eq!(unit(&facts, "ssh.service").main_pid, Some(4242));
    assert!(notes.contains("ListUnitsByPatterns"), "{notes}");
    assert!(
        !notes.contains("NRestarts"),
        "an old systemd is not a fault: {notes}"
    );
}

#[test]
fn mistyped_property_is_skipped_not_fatal() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let service = FakeUnit {
        service_shape: ServiceShape::MistypedMainPid,
        ..debian_ssh_service()
    };
    let _systemd = FakeSystemd::serve(&bus, VERSION, vec![service]);
    let (facts, notes) = ask(&bus);

    let service = unit(&facts, "ssh.service");
    assert_eq!(service.main_pid, None);
    assert_eq!(service.active_state, "active");
    assert_eq!(service.result.as_deref(), Some("success"));
    assert_eq!(service.exec_start.len(), 1);
    assert!(notes.contains("Partial"), "{notes}");
    assert!(notes.contains("MainPID"), "{notes}");
}

fn assert_unreachable(facts: &SystemdFacts, notes: &str, reason_has: &[&str]) {
    assert!(!facts.reachable);
    assert!(facts.units.is_empty() && facts.version.is_none());
    let reason = facts.error.as_deref().expect("a reason");
    for part in reason_has {
        assert!(reason.contains(part), "{reason:?} lacks {part:?}");
    }
    assert!(notes.contains("Unavailable"), "{notes}");
    assert!(notes.contains(reason), "{notes}");
}

#[test]
fn no_bus_socket_is_unreachable_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let address = format!("unix:path={}/no_bus_here", dir.path().display());
    let mut notes = ProbeNotes::default();
    let started = Instant::now();
    let facts = collect_from(&address, TIMEOUT, &mut notes);

    assert!(
        started.elapsed() < TIMEOUT,
        "a refused connection must not wait for the deadline"
    );
    assert_unreachable(
        &facts,
        &format!("{notes:?}"),
        &[
            "cannot connect to the system bus",
            "no_bus_here",
            "No such file",
        ],
    );
}

#[test]
fn bus_without_systemd_is_unreachable() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let (facts, notes) = ask(&bus);
    assert_unreachable(
        &facts,
        &notes,
        &["org.freedesktop.systemd1 is not on the system bus"],
    );
}

/// Asserts the collector waited for its deadline and then gave up rather than hanging.
/// The upper margin is generous: this checks the bound exists, not how fast we are
/// (speed is the benchmark's business), and CI machines are busy.
fn assert_bounded(started: Instant, timeout: Duration) {
    let elapsed = started.elapsed();
    assert!(elapsed >= timeout, "gave up early: {elapsed:?}");
    assert!(elapsed < timeout * 3, "did not give up: {elapsed:?}");
}

#[test]
fn silent_systemd_times_out_within_the_bound() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let _silent = silent_systemd(&bus);
    let timeout = Duration::from_millis(800);
    let mut notes = ProbeNotes::default();
    let started = Instant::now();
    let facts = collect_from(&bus.address, timeout, &mut notes);

    assert_bounded(started, timeout);
    assert_unreachable(
        &facts,
        &format!("{notes:?}"),
        &["timed out", "org.freedesktop.systemd1"],
    );
}

#[test]
fn bus_that_accepts_but_never_speaks_times_out_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("mute_bus");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    // Accept and hold connections without ever answering the handshake.
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(held);
    });
    let timeout = Duration::from_millis(800);
    let mut notes = ProbeNotes::default();
    let started = Instant::now();
    let facts = collect_from(
        &format!("unix:path={}", socket.display()),
        timeout,
        &mut notes,
    );

    assert_bounded(started, timeout);
    assert_unreachable(
        &facts,
        &format!("{notes:?}"),
        &["timed out", "connecting", "mute_bus"],
    );
}

#[test]
fn sshdoctor_asks_the_bus_named_by_dbus_system_bus_address() {
    if !support::requires_program("dbus-daemon", DBUS_DAEMON_FOR) {
        return;
    }
    let bus = TestBus::start();
    let _systemd = FakeSystemd::serve(&bus, VERSION, vec![debian_ssh_service()]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sshdoctor"))
        .args(["--format", "json", "--no-sshd-run"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .output()
        .unwrap();
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stderr)));
    let systemd = &verdict["facts"]["systemd"];

    assert_eq!(systemd["reachable"], true, "{systemd}");
    assert_eq!(systemd["version"], VERSION);
    assert_eq!(systemd["units"][0]["name"], "ssh.service");
    assert_eq!(systemd["units"][0]["main_pid"], 4242);
}

/// The system bus is down (no socket) but systemd runs: systemctl is asked instead (it
/// then reaches systemd on its private socket). A stand-in systemctl prints what Debian
/// 12's printed for a running ssh.service; the facts are those, and a note says the bus
/// did not answer.
#[test]
fn with_the_bus_down_systemctl_is_asked() {
    if !support::requires_root("systemd's private socket is for root only") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let show = "Id=ssh.service\nNames=ssh.service sshd.service\nLoadState=loaded\n\
        ActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=812\n\
        ControlGroup=/system.slice/ssh.service\n\n\
        Id=ssh.service\nNames=ssh.service sshd.service\nLoadState=loaded\n\n\
        Id=ssh.socket\nLoadState=not-found\n\nId=sshd.socket\nLoadState=not-found\n";
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n--version) echo 'systemd 252 (252.36-1~deb12u1)';;\n\
         list-units) ;;\nshow) printf '%s' '{show}';;\nesac\n"
    );
    let systemctl = dir.path().join("systemctl");
    std::fs::write(&systemctl, script).unwrap();
    std::fs::set_permissions(
        &systemctl,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let address = format!("unix:path={}/no_bus_here", dir.path().display());
    let mut notes = ProbeNotes::default();
    let dirs = [dir.path().to_path_buf()];
    let facts = collect_with(&address, Some(&dirs), TIMEOUT, &mut notes);
    let notes = format!("{notes:?}");
    assert!(facts.reachable, "{notes}");
    assert_eq!(facts.version.as_deref(), Some(VERSION));
    assert_eq!(names(&facts), ["ssh.service"]);
    assert_eq!(unit(&facts, "ssh.service").main_pid, Some(812));
    assert!(!notes.contains("Unavailable"), "{notes}");
    assert!(notes.contains("systemctl answered instead"), "{notes}");
    assert!(notes.contains("no_bus_here"), "{notes}");
}
