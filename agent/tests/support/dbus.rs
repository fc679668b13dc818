//! A private D-Bus system bus (a real dbus-daemon) and a fake systemd serving on it the
//! Manager and unit objects with the interfaces and signatures of org.freedesktop.systemd1(5).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use tempfile::TempDir;
use zbus::blocking::{connection, Connection};
use zbus::fdo;
use zbus::zvariant::OwnedObjectPath;

pub const SYSTEMD_NAME: &str = "org.freedesktop.systemd1";

/// A dbus-daemon of type "system" on a socket in a temporary directory, allowing everything.
pub struct TestBus {
    pub address: String,
    daemon: Child,
    _dir: TempDir,
}

impl TestBus {
    pub fn start() -> TestBus {
        TestBus::start_in(&std::env::temp_dir())
    }

    /// `start` with the socket in a new directory under `parent` (outside /tmp, for
    /// clients in a private system, whose /tmp is its own).
    pub fn start_in(parent: &std::path::Path) -> TestBus {
        let dir = tempfile::tempdir_in(parent).expect("temp dir");
        let socket = dir.path().join("system_bus_socket");
        let config = dir.path().join("system.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .expect("write bus config");
        let mut daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start dbus-daemon");
        // The address is printed once the daemon listens.
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().expect("stdout"))
            .read_line(&mut address)
            .expect("read bus address");
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon printed {address:?}"
        );
        TestBus {
            address: address.trim().to_string(),
            daemon,
            _dir: dir,
        }
    }

    pub fn connect(&self) -> connection::Builder<'static> {
        connection::Builder::address(self.address.as_str()).expect("bus address")
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// How the Service interface of a fake unit answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceShape {
    /// As systemd ≥ 235.
    Current,
    /// As systemd < 235: no NRestarts.
    WithoutNRestarts,
    /// MainPID as a string: a property of an unexpected type.
    MistypedMainPid,
}

/// One unit's properties, as systemd would report them.
#[derive(Debug, Clone)]
pub struct FakeUnit {
    pub id: String,
    pub names: Vec<String>,
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    pub unit_file_state: String,
    pub fragment_path: String,
    pub drop_in_paths: Vec<String>,
    pub triggers: Vec<String>,
    pub active_enter_timestamp: u64,
    pub inactive_enter_timestamp: u64,
    pub result: String,
    pub exec_main_status: i32,
    pub exec_main_code: i32,
    pub main_pid: u32,
    pub n_restarts: u32,
    pub exec_start: Vec<Vec<String>>,
    /// Environment= assignments and EnvironmentFile= paths (with whether a missing
    /// file is ignored).
    pub environment: Vec<String>,
    pub environment_files: Vec<(String, bool)>,
    pub need_daemon_reload: bool,
    pub freezer_state: String,
    pub listen: Vec<(String, String)>,
    pub accept: bool,
    pub service_shape: ServiceShape,
}

impl FakeUnit {
    /// A loaded, disabled, never-started unit with a vendor unit file.
    pub fn new(id: &str) -> FakeUnit {
        FakeUnit {
            id: id.to_string(),
            names: vec![id.to_string()],
            load_state: "loaded".into(),
            active_state: "inactive".into(),
            sub_state: "dead".into(),
            unit_file_state: "disabled".into(),
            fragment_path: format!("/usr/lib/systemd/system/{id}"),
            drop_in_paths: Vec::new(),
            triggers: Vec::new(),
            active_enter_timestamp: 0,
            inactive_enter_timestamp: 0,
            result: "success".into(),
            exec_main_status: 0,
            exec_main_code: 0,
            main_pid: 0,
            n_restarts: 0,
            exec_start: Vec::new(),
            environment: Vec::new(),
            environment_files: Vec::new(),
            need_daemon_reload: false,
            freezer_state: "running".into(),
            listen: Vec::new(),
            accept: false,
            service_shape: ServiceShape::Current,
        }
    }

    /// What LoadUnit makes of a name with no unit file.
    fn not_found(id: &str) -> FakeUnit {
        FakeUnit {
            load_state: "not-found".into(),
            unit_file_state: String::new(),
            fragment_path: String::new(),
            ..FakeUnit::new(id)
        }
    }

    fn path(&self) -> OwnedObjectPath {
        unit_path(&self.id)
    }

    fn is_socket(&self) -> bool {
        self.id.ends_with(".socket")
    }
}

/// systemd's object path for a unit: bytes outside [A-Za-z0-9] become `_xx`.
pub fn unit_path(id: &str) -> OwnedObjectPath {
    let label: String = id
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                (byte as char).to_string()
            } else {
                format!("_{byte:02x}")
            }
        })
        .collect();
    OwnedObjectPath::try_from(format!("/org/freedesktop/systemd1/unit/{label}")).expect("path")
}

/// A systemd serving `units` (plus not-found objects for the SSH names none of them carries).
pub struct FakeSystemd {
    _connection: Connection,
}

/// The SSH names LoadUnit is asked about: any not carried by a unit is "not-found".
const SSH_NAMES: &[&str] = &["ssh.service", "sshd.service", "ssh.socket", "sshd.socket"];

impl FakeSystemd {
    pub fn serve(bus: &TestBus, version: &str, units: Vec<FakeUnit>) -> FakeSystemd {
        FakeSystemd::serve_with(bus, version, true, units)
    }

    /// `has_list_by_patterns` false: a systemd older than 230.
    pub fn serve_with(
        bus: &TestBus,
        version: &str,
        has_list_by_patterns: bool,
        units: Vec<FakeUnit>,
    ) -> FakeSystemd {
        let builder = bus.connect().name(SYSTEMD_NAME).expect("name");
        FakeSystemd {
            _connection: serve_on(builder, version, has_list_by_patterns, units)
                .build()
                .expect("fake systemd on the bus"),
        }
    }
}

/// `builder` serving the manager and `units` (plus not-found objects for the SSH names
/// none of them carries).
fn serve_on(
    builder: connection::Builder<'static>,
    version: &str,
    has_list_by_patterns: bool,
    mut units: Vec<FakeUnit>,
) -> connection::Builder<'static> {
    for name in SSH_NAMES {
        if !units
            .iter()
            .any(|unit| unit.names.iter().any(|n| n == name))
        {
            units.push(FakeUnit::not_found(name));
        }
    }
    let mut builder = builder
        .serve_at(
            "/org/freedesktop/systemd1",
            Manager {
                version: version.to_string(),
                units: units.clone(),
                has_list_by_patterns,
            },
        )
        .expect("serve manager");
    for unit in units {
        let path = unit.path();
        builder = builder
            .serve_at(path.clone(), UnitInterface(unit.clone()))
            .expect("serve unit");
        builder = match (unit.is_socket(), unit.service_shape) {
            (true, _) => builder.serve_at(path, SocketInterface(unit)),
            (false, ServiceShape::MistypedMainPid) => {
                builder.serve_at(path, MistypedServiceInterface(unit))
            }
            (false, _) => builder.serve_at(path, ServiceInterface(unit)),
        }
        .expect("serve unit type");
    }
    builder
}

/// Owns org.freedesktop.systemd1 but never answers a call: it has no object server.
pub fn silent_systemd(bus: &TestBus) -> Connection {
    bus.connect()
        .name(SYSTEMD_NAME)
        .expect("name")
        .build()
        .expect("silent systemd on the bus")
}

use sshdoctor::collect::service::systemd::{ExecCommand, ListedUnit};

struct Manager {
    version: String,
    units: Vec<FakeUnit>,
    has_list_by_patterns: bool,
}

impl Manager {
    /// Units in memory, as ListUnits shows them (not-found ones are not).
    fn loaded(&self) -> impl Iterator<Item = &FakeUnit> {
        self.units
            .iter()
            .filter(|unit| unit.load_state != "not-found")
    }
}

fn listed(unit: &FakeUnit) -> ListedUnit {
    (
        unit.id.clone(),
        String::new(),
        unit.load_state.clone(),
        unit.active_state.clone(),
        unit.sub_state.clone(),
        String::new(),
        unit.path(),
        0,
        String::new(),
        OwnedObjectPath::try_from("/").expect("path"),
    )
}

/// Shell-style match for the `prefix*suffix` patterns the collector sends.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        Some((prefix, suffix)) => {
            name.len() >= prefix.len() + suffix.len()
                && name.starts_with(prefix)
                && name.ends_with(suffix)
        }
        None => pattern == name,
    }
}

#[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
impl Manager {
    fn load_unit(&self, name: &str) -> fdo::Result<OwnedObjectPath> {
        self.units
            .iter()
            .find(|unit| unit.names.iter().any(|known| known == name))
            .map(FakeUnit::path)
            .ok_or_else(|| fdo::Error::InvalidArgs(format!("no fake for {name}")))
    }

    fn list_units(&self) -> Vec<ListedUnit> {
        self.loaded().map(listed).collect()
    }

    fn list_units_by_patterns(
        &self,
        _states: Vec<String>,
        patterns: Vec<String>,
    ) -> fdo::Result<Vec<ListedUnit>> {
        if !self.has_list_by_patterns {
            return Err(fdo::Error::UnknownMethod(
                "Unknown method ListUnitsByPatterns".into(),
            ));
        }
        Ok(self
            .loaded()
            .filter(|unit| patterns.iter().any(|pattern| matches(pattern, &unit.id)))
            .map(listed)
            .collect())
    }

    #[zbus(property)]
    fn version(&self) -> String {
        self.version.clone()
    }
}

struct UnitInterface(FakeUnit);

#[zbus::interface(name = "org.freedesktop.systemd1.Unit")]
impl UnitInterface {
    #[zbus(property)]
    fn id(&self) -> String {
        self.0.id.clone()
    }
    #[zbus(property)]
    fn names(&self) -> Vec<String> {
        self.0.names.clone()
    }
    #[zbus(property)]
    fn load_state(&self) -> String {
        self.0.load_state.clone()
    }
    #[zbus(property)]
    fn active_state(&self) -> String {
        self.0.active_state.clone()
    }
    #[zbus(property)]
    fn sub_state(&self) -> String {
        self.0.sub_state.clone()
    }
    #[zbus(property)]
    fn unit_file_state(&self) -> String {
        self.0.unit_file_state.clone()
    }
    #[zbus(property)]
    fn fragment_path(&self) -> String {
        self.0.fragment_path.clone()
    }
    #[zbus(property)]
    fn drop_in_paths(&self) -> Vec<String> {
        self.0.drop_in_paths.clone()
    }
    #[zbus(property)]
    fn triggers(&self) -> Vec<String> {
        self.0.triggers.clone()
    }
    #[zbus(property)]
    fn active_enter_timestamp(&self) -> u64 {
        self.0.active_enter_timestamp
    }
    #[zbus(property)]
    fn inactive_enter_timestamp(&self) -> u64 {
        self.0.inactive_enter_timestamp
    }
    #[zbus(property)]
    fn need_daemon_reload(&self) -> bool {
        self.0.need_daemon_reload
    }
    #[zbus(property)]
    fn freezer_state(&self) -> String {
        self.0.freezer_state.clone()
    }
}

struct ServiceInterface(FakeUnit);

#[zbus::interface(name = "org.freedesktop.systemd1.Service")]
impl ServiceInterface {
    #[zbus(property)]
    fn result(&self) -> String {
        self.0.result.clone()
    }
    #[zbus(property)]
    fn exec_main_status(&self) -> i32 {
        self.0.exec_main_status
    }
    #[zbus(property)]
    fn exec_main_code(&self) -> i32 {
        self.0.exec_main_code
    }
    #[zbus(property, name = "MainPID")]
    fn main_pid(&self) -> u32 {
        self.0.main_pid
    }
    /// A fallible property that fails is left out of GetAll, as on systemd < 235.
    #[zbus(property, name = "NRestarts")]
    fn n_restarts(&self) -> fdo::Result<u32> {
        match self.0.service_shape {
            ServiceShape::WithoutNRestarts => Err(fdo::Error::UnknownProperty("NRestarts".into())),
            _ => Ok(self.0.n_restarts),
        }
    }
    #[zbus(property)]
    fn exec_start(&self) -> Vec<ExecCommand> {
        exec_commands(&self.0)
    }
    #[zbus(property)]
    fn environment(&self) -> Vec<String> {
        self.0.environment.clone()
    }
    #[zbus(property)]
    fn environment_files(&self) -> Vec<(String, bool)> {
        self.0.environment_files.clone()
    }
}

fn exec_commands(unit: &FakeUnit) -> Vec<ExecCommand> {
    unit.exec_start
        .iter()
        .map(|argv| (argv[0].clone(), argv.clone(), false, 0, 0, 0, 0, 0, 0, 0))
        .collect()
}

/// A Service interface whose MainPID is a string instead of `u`.
struct MistypedServiceInterface(FakeUnit);

#[zbus::interface(name = "org.freedesktop.systemd1.Service")]
impl MistypedServiceInterface {
    #[zbus(property)]
    fn result(&self) -> String {
        self.0.result.clone()
    }
    #[zbus(property, name = "MainPID")]
    fn main_pid(&self) -> String {
        self.0.main_pid.to_string()
    }
    #[zbus(property)]
    fn exec_start(&self) -> Vec<ExecCommand> {
        exec_commands(&self.0)
    }
}

struct SocketInterface(FakeUnit);

#[zbus::interface(name = "org.freedesktop.systemd1.Socket")]
impl SocketInterface {
    #[zbus(property)]
    fn result(&self) -> String {
        self.0.result.clone()
    }
    #[zbus(property)]
    fn listen(&self) -> Vec<(String, String)> {
        self.0.listen.clone()
    }
    #[zbus(property)]
    fn accept(&self) -> bool {
        self.0.accept
    }
}
