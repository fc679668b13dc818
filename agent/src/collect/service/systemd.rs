//! The SSH units as systemd sees them, asked over D-Bus the way `systemctl status` asks.
//!
//! Everything runs on a worker thread that the caller waits for with a deadline: zbus bounds
//! each method call, but not the connection handshake, and a bus that accepts a connection
//! and then says nothing must not stall the diagnosis.

use super::systemctl;
use crate::collect::command::tool_dirs;
use crate::collect::worker::{self, Late};
use crate::collect::{CollectOptions, ProbeNotes};
use crate::facts::{SystemdFacts, UnitFacts, UnitKind};
use crate::openssh::{INSTANCE_UNIT_PATTERNS, SERVICE_UNIT_NAMES, SOCKET_UNIT_NAMES};
use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zbus::blocking::{connection, Connection};
use zbus::zvariant::{DynamicDeserialize, DynamicType, OwnedObjectPath, OwnedValue};

/// Where libdbus and zbus look when DBUS_SYSTEM_BUS_ADDRESS is unset.
const DEFAULT_SYSTEM_BUS: &str = "unix:path=/var/run/dbus/system_bus_socket";
const SYSTEMD_SERVICE: &str = "org.freedesktop.systemd1";
const UNIT_INTERFACE: &str = "org.freedesktop.systemd1.Unit";
const SERVICE_INTERFACE: &str = "org.freedesktop.systemd1.Service";
const SOCKET_INTERFACE: &str = "org.freedesktop.systemd1.Socket";

/// Each instance costs two round trips; a busy Accept=yes socket can have hundreds.
pub(super) const MAX_INSTANCES: usize = 16;

/// One row of Manager.ListUnits / ListUnitsByPatterns: `(ssssssouso)`.
pub type ListedUnit = (
    String,
    String,
    String,
    String,
    String,
    String,
    OwnedObjectPath,
    u32,
    String,
    OwnedObjectPath,
);

/// One entry of a service's ExecStart property: `(sasbttttuii)`.
pub type ExecCommand = (String, Vec<String>, bool, u64, u64, u64, u64, u32, i32, i32);

const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER_INTERFACE: &str = "org.freedesktop.systemd1.Manager";
const PROPERTIES_INTERFACE: &str = "org.freedesktop.DBus.Properties";

/// systemd's manager and unit objects, asked with plain method calls. zbus proxies would
/// do the same, but they link in property caching and signal streams that a probe
/// reading each value once never uses (about 100 KB of the binary).
struct Systemd<'c> {
    connection: &'c Connection,
}

impl Systemd<'_> {
    fn call<B, R>(&self, path: &str, interface: &str, method: &str, body: &B) -> zbus::Result<R>
    where
        B: serde::Serialize + DynamicType,
        R: for<'d> DynamicDeserialize<'d>,
    {
        let reply = self.connection.call_method(
            Some(SYSTEMD_SERVICE),
            path,
            Some(interface),
            method,
            body,
        )?;
        reply.body().deserialize()
    }

    fn version(&self) -> zbus::Result<String> {
        let value: OwnedValue = self.call(
            MANAGER_PATH,
            PROPERTIES_INTERFACE,
            "Get",
            &(MANAGER_INTERFACE, "Version"),
        )?;
        Ok(String::try_from(value)?)
    }

    fn load_unit(&self, name: &str) -> zbus::Result<OwnedObjectPath> {
        self.call(MANAGER_PATH, MANAGER_INTERFACE, "LoadUnit", &(name,))
    }

    fn list_units(&self) -> zbus::Result<Vec<ListedUnit>> {
        self.call(MANAGER_PATH, MANAGER_INTERFACE, "ListUnits", &())
    }

    fn list_units_by_patterns(
        &self,
        states: &[&str],
        patterns: &[&str],
    ) -> zbus::Result<Vec<ListedUnit>> {
        self.call(
            MANAGER_PATH,
            MANAGER_INTERFACE,
            "ListUnitsByPatterns",
            &(states, patterns),
        )
    }

    /// All properties of one interface of a unit object, in one round trip.
    fn get_all(
        &self,
        path: &OwnedObjectPath,
        interface: &str,
    ) -> zbus::Result<HashMap<String, OwnedValue>> {
        self.call(path.as_str(), PROPERTIES_INTERFACE, "GetAll", &(interface,))
    }
}

/// What the worker could not see; replayed into the probe's notes.
enum Remark {
    Partial(String),
    Note(String),
}

/// Asks the system bus: DBUS_SYSTEM_BUS_ADDRESS when set, else the standard socket.
pub fn collect(options: &CollectOptions, notes: &mut ProbeNotes) -> SystemdFacts {
    let address = system_bus_address();
    // sd_booted(3): systemd runs as init exactly when this directory exists; without
    // it systemctl has no one to ask, and costs a few processes to say so.
    let fallback = Path::new("/run/systemd/system").is_dir().then(tool_dirs);
    let mut facts = collect_with(&address, fallback.as_deref(), options.dbus_timeout, notes);
    super::unit_files::read(&mut facts, Path::new("/"));
    facts
}

/// The system bus: DBUS_SYSTEM_BUS_ADDRESS when set, else the standard socket.
pub fn system_bus_address() -> String {
    std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .ok()
        .filter(|address| !address.is_empty())
        .unwrap_or_else(|| DEFAULT_SYSTEM_BUS.to_string())
}

/// Whether a service holds `name` on the system bus, asked within `timeout`; None when
/// the bus does not answer.
pub fn bus_name_owned(name: &'static str, timeout: Duration) -> Option<bool> {
    let address = system_bus_address();
    let asked = worker::within("bus-name", 1 << 20, timeout, move || {
        let connection = connection::Builder::address(address.as_str())
            .and_then(|builder| builder.method_timeout(timeout).build())
            .ok()?;
        let reply = connection
            .call_method(
                Some("org.freedesktop.DBus"),
                "/org/freedesktop/DBus",
                Some("org.freedesktop.DBus"),
                "NameHasOwner",
                &(name,),
            )
            .ok()?;
        reply.body().deserialize::<bool>().ok()
    });
    asked.ok().flatten()
}

/// Asks systemd over the system bus at `address`; when the bus is down or does not
/// answer, through the systemctl found in `fallback`'s directories (which then uses
/// systemd's private socket, as root). No fallback where systemd is not init.
pub fn collect_with(
    address: &str,
    fallback: Option<&[PathBuf]>,
    timeout: Duration,
    notes: &mut ProbeNotes,
) -> SystemdFacts {
    let bus_failure = match ask_within(address, timeout) {
        Ok((facts, remarks)) => return answered(facts, remarks, notes),
        Err(reason) => reason,
    };
    // Only root may use systemd's private socket.
    let Some(tool_dirs) = fallback.filter(|_| nix::unistd::geteuid().is_root()) else {
        return unreachable(notes, bus_failure);
    };
    match systemctl::collect(tool_dirs, timeout) {
        Ok(facts) => {
            notes.note(format!("{bus_failure}; systemctl answered instead"));
            facts
        }
        Err(reason) => unreachable(notes, format!("{bus_failure}; nor systemctl: {reason}")),
    }
}

/// Asks the systemd reachable at the D-Bus `address`, giving up after `timeout` in total.
pub fn collect_from(address: &str, timeout: Duration, notes: &mut ProbeNotes) -> SystemdFacts {
    collect_with(address, None, timeout, notes)
}

/// Asks systemd over the bus at `address` on a worker, giving up after `timeout` in
/// total: zbus bounds each method call, but not the connection handshake.
fn ask_within(address: &str, timeout: Duration) -> Result<(SystemdFacts, Vec<Remark>), String> {
    let stage = Arc::new(Mutex::new(String::from("connecting to the bus")));
    let asked = {
        let (owned, stage) = (address.to_string(), Arc::clone(&stage));
        worker::within("systemd-dbus", 2 << 20, timeout, move || {
            let mut remarks = Vec::new();
            let outcome = ask_systemd(&owned, timeout, &stage, &mut remarks);
            (outcome, remarks)
        })
    };
    match asked {
        Ok((Ok(facts), remarks)) => Ok((facts, remarks)),
        Ok((Err(reason), _)) => Err(reason),
        Err(Late::TimedOut) => {
            let stage = stage.lock().map(|stage| stage.clone()).unwrap_or_default();
            Err(format!("timed out after {timeout:?} {stage} at {address}"))
        }
        Err(late) => Err(format!("the D-Bus thread gave no answer: {late:?}")),
    }
}

fn answered(facts: SystemdFacts, remarks: Vec<Remark>, notes: &mut ProbeNotes) -> SystemdFacts {
    for remark in remarks {
        match remark {
            Remark::Partial(text) => notes.partial(text),
            Remark::Note(text) => notes.note(text),
        }
    }
    facts
}

fn unreachable(notes: &mut ProbeNotes, reason: String) -> SystemdFacts {
    notes.unavailable(reason.clone());
    SystemdFacts {
        reachable: false,
        error: Some(reason),
        ..SystemdFacts::default()
    }
}

fn set_stage(stage: &Mutex<String>, now: impl Into<String>) {
    if let Ok(mut current) = stage.lock() {
        *current = now.into();
    }
}

fn ask_systemd(
    address: &str,
    timeout: Duration,
    stage: &Mutex<String>,
    remarks: &mut Vec<Remark>,
) -> Result<SystemdFacts, String> {
    let connection = connection::Builder::address(address)
        .and_then(|builder| builder.method_timeout(timeout).build())
        .map_err(|err| {
            format!(
                "cannot connect to the system bus at {address}: {err}{}",
                pid1_hint()
            )
        })?;
    let systemd = Systemd {
        connection: &connection,
    };
    set_stage(stage, format!("waiting for {SYSTEMD_SERVICE} to answer"));
    let version = systemd.version().map_err(|err| systemd_error(&err))?;
    set_stage(stage, "reading the SSH units");
    let mut found = FoundUnits::default();
    for name in SERVICE_UNIT_NAMES.iter().chain(SOCKET_UNIT_NAMES) {
        if let Some(path) = unit_path(&systemd, name, remarks) {
            found.read(&systemd, path, remarks);
        }
    }
    for path in instance_paths(&systemd, remarks) {
        found.read(&systemd, path, remarks);
    }
    Ok(SystemdFacts {
        reachable: true,
        error: None,
        version: Some(version),
        units: found.units,
        socket_generator: None,
    })
}

/// The first answer tells whether systemd is on the bus at all.
fn systemd_error(err: &zbus::Error) -> String {
    match error_name(err).as_deref() {
        Some("org.freedesktop.DBus.Error.ServiceUnknown")
        | Some("org.freedesktop.DBus.Error.NameHasNoOwner") => {
            format!("{SYSTEMD_SERVICE} is not on the system bus{}", pid1_hint())
        }
        _ if is_timeout(err) => format!("timed out waiting for {SYSTEMD_SERVICE} to answer"),
        _ => format!("{SYSTEMD_SERVICE} did not answer: {err}"),
    }
}

/// The D-Bus error name of an error reply.
fn error_name(err: &zbus::Error) -> Option<String> {
    match err {
        zbus::Error::MethodError(name, _, _) => Some(name.to_string()),
        _ => None,
    }
}

fn is_timeout(err: &zbus::Error) -> bool {
    matches!(err, zbus::Error::InputOutput(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

/// Says what PID 1 is when it is not systemd: the usual reason systemd cannot be asked.
fn pid1_hint() -> String {
    match std::fs::read_to_string("/proc/1/comm") {
        Ok(comm) if comm.trim() != "systemd" => {
            format!(" (PID 1 is {}, not systemd)", comm.trim())
        }
        _ => String::new(),
    }
}

/// The object path of a named unit. LoadUnit, unlike GetUnit, also finds units systemd has
/// not loaded yet (a disabled or masked ssh.service), as `systemctl status` does.
fn unit_path(systemd: &Systemd, name: &str, remarks: &mut Vec<Remark>) -> Option<OwnedObjectPath> {
    systemd
        .load_unit(name)
        .map_err(|err| remarks.push(Remark::Partial(format!("cannot look up {name}: {err}"))))
        .ok()
}

/// Object paths of loaded ssh@/sshd@ instances. systemd < 230 has no ListUnitsByPatterns:
/// list every unit and match the names here instead.
fn instance_paths(systemd: &Systemd, remarks: &mut Vec<Remark>) -> Vec<OwnedObjectPath> {
    let listed = match systemd.list_units_by_patterns(&[], INSTANCE_UNIT_PATTERNS) {
        Ok(listed) => listed,
        Err(err)
            if error_name(&err).as_deref() == Some("org.freedesktop.DBus.Error.UnknownMethod") =>
        {
            remarks.push(Remark::Note(
                "systemd has no ListUnitsByPatterns (older than 230): matched ListUnits instead"
                    .into(),
            ));
            match systemd.list_units() {
                Ok(all) => all
                    .into_iter()
                    .filter(|unit| is_ssh_instance(&unit.0))
                    .collect(),
                Err(err) => {
                    remarks.push(Remark::Partial(format!("cannot list units: {err}")));
                    return Vec::new();
                }
            }
        }
        Err(err) => {
            remarks.push(Remark::Partial(format!(
                "cannot list ssh@ instances: {err}"
            )));
            return Vec::new();
        }
    };
    if listed.len() > MAX_INSTANCES {
        remarks.push(Remark::Note(format!(
            "{} ssh@ instances running; read the first {MAX_INSTANCES}",
            listed.len()
        )));
    }
    listed
        .into_iter()
        .take(MAX_INSTANCES)
        .map(|unit| unit.6)
        .collect()
}

/// `ssh@….service` or `sshd@….service`, as INSTANCE_UNIT_PATTERNS says.
fn is_ssh_instance(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".service") else {
        return false;
    };
    ["ssh@", "sshd@"].iter().any(|prefix| {
        stem.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty())
    })
}

/// Units read so far; an alias (sshd.service on Debian) leads to a unit already read.
#[derive(Default)]
struct FoundUnits {
    paths: HashSet<OwnedObjectPath>,
    units: Vec<UnitFacts>,
}

impl FoundUnits {
    fn read(&mut self, systemd: &Systemd, path: OwnedObjectPath, remarks: &mut Vec<Remark>) {
        if !self.paths.insert(path.clone()) {
            return;
        }
        let Some(unit) = read_unit(systemd, &path, remarks) else {
            return;
        };
        keep_unit(&mut self.units, unit);
    }
}

/// Adds `unit` unless it is already there (an alias reads its unit again) or not found
/// (absence is what rules read as not-found; an entry would only repeat it).
pub(super) fn keep_unit(units: &mut Vec<UnitFacts>, unit: UnitFacts) {
    let known = units.iter().any(|seen| seen.name == unit.name);
    if !known && unit.load_state != "not-found" {
        units.push(unit);
    }
}

fn read_unit(
    systemd: &Systemd,
    path: &OwnedObjectPath,
    remarks: &mut Vec<Remark>,
) -> Option<UnitFacts> {
    let generic = match systemd.get_all(path, UNIT_INTERFACE) {
        Ok(properties) => properties,
        Err(err) => {
            remarks.push(Remark::Partial(format!(
                "cannot read {}: {err}",
                path.as_str()
            )));
            return None;
        }
    };
    let mut unit = Properties::new(path.as_str(), generic, remarks);
    let name: String = unit.take("Id")?;
    unit.label = name.clone();
    let kind = if name.ends_with(".socket") {
        UnitKind::Socket
    } else {
        UnitKind::Service
    };
    let names: Vec<String> = unit.take("Names").unwrap_or_default();
    let mut facts = UnitFacts {
        aliases: names.into_iter().filter(|alias| *alias != name).collect(),
        load_state: unit.take("LoadState").unwrap_or_default(),
        active_state: unit.take("ActiveState").unwrap_or_default(),
        sub_state: unit.take("SubState").unwrap_or_default(),
        unit_file_state: unit
            .take("UnitFileState")
            .filter(|state: &String| !state.is_empty()),
        fragment_path: unit
            .take("FragmentPath")
            .filter(|path: &String| !path.is_empty()),
        dropin_paths: unit.take("DropInPaths").unwrap_or_default(),
        triggers: unit.take("Triggers").unwrap_or_default(),
        active_enter_timestamp_us: unit.take("ActiveEnterTimestamp").filter(|us| *us != 0),
        inactive_enter_timestamp_us: unit.take("InactiveEnterTimestamp").filter(|us| *us != 0),
        need_daemon_reload: unit.take_if_present("NeedDaemonReload").unwrap_or(false),
        // Absent before systemd 246: None, without a remark.
        freezer_state: unit
            .take_if_present("FreezerState")
            .filter(|state: &String| !state.is_empty()),
        ..UnitFacts::new(&name, kind)
    };
    let interface = match kind {
        UnitKind::Service => SERVICE_INTERFACE,
        UnitKind::Socket => SOCKET_INTERFACE,
    };
    match systemd.get_all(path, interface) {
        Ok(specific) => {
            let mut specific = Properties::new(&facts.name, specific, remarks);
            match kind {
                UnitKind::Service => fill_service(&mut facts, &mut specific),
                UnitKind::Socket => fill_socket(&mut facts, &mut specific),
            }
        }
        Err(err) => remarks.push(Remark::Partial(format!(
            "cannot read {interface} of {}: {err}",
            facts.name
        ))),
    }
    Some(facts)
}

fn fill_service(facts: &mut UnitFacts, service: &mut Properties) {
    facts.control_group = control_group(service);
    facts.result = service.take("Result");
    facts.exec_main_status = service.take("ExecMainStatus");
    facts.exec_main_code = service.take("ExecMainCode");
    facts.main_pid = service.take("MainPID").filter(|pid| *pid != 0);
    // Absent before systemd 235: None, without a remark.
    facts.n_restarts = service.take_if_present("NRestarts");
    facts.exec_start = service
        .take::<Vec<ExecCommand>>("ExecStart")
        .unwrap_or_default()
        .into_iter()
        .map(|command| command.1)
        .collect();
    facts.environment = service.take_if_present("Environment").unwrap_or_default();
    let files: Vec<(String, bool)> = service
        .take_if_present("EnvironmentFiles")
        .unwrap_or_default();
    facts.environment_files = files
        .into_iter()
        .map(|(path, optional)| match optional {
            true => format!("-{path}"),
            false => path,
        })
        .collect();
}

fn fill_socket(facts: &mut UnitFacts, socket: &mut Properties) {
    facts.control_group = control_group(socket);
    facts.result = socket.take("Result");
    facts.listen = socket.take("Listen").unwrap_or_default();
    facts.accept = socket.take("Accept");
}

/// ControlGroup, empty while the unit has no processes.
fn control_group(properties: &mut Properties) -> Option<String> {
    properties
        .take_if_present("ControlGroup")
        .filter(|group: &String| !group.is_empty())
}

/// A GetAll answer, decoded property by property: one of an unexpected type is skipped with
/// a remark instead of losing the whole unit.
struct Properties<'r> {
    label: String,
    values: HashMap<String, OwnedValue>,
    remarks: &'r mut Vec<Remark>,
}

impl<'r> Properties<'r> {
    fn new(label: &str, values: HashMap<String, OwnedValue>, remarks: &'r mut Vec<Remark>) -> Self {
        Properties {
            label: label.to_string(),
            values,
            remarks,
        }
    }

    /// A property systemd always has: its absence is worth a remark.
    fn take<T>(&mut self, name: &str) -> Option<T>
    where
        T: TryFrom<OwnedValue>,
        T::Error: Display,
    {
        if !self.values.contains_key(name) {
            self.remarks.push(Remark::Partial(format!(
                "{}: systemd did not report {name}",
                self.label
            )));
            return None;
        }
        self.take_if_present(name)
    }

    fn take_if_present<T>(&mut self, name: &str) -> Option<T>
    where
        T: TryFrom<OwnedValue>,
        T::Error: Display,
    {
        let value = self.values.remove(name)?;
        let signature = value.value_signature().to_string();
        match T::try_from(value) {
            Ok(decoded) => Some(decoded),
            Err(err) => {
                self.remarks.push(Remark::Partial(format!(
                    "{}: skipped {name} of unexpected type {signature}: {err}",
                    self.label
                )));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_match_the_patterns_systemd_would() {
        assert!(is_ssh_instance("ssh@0-10.0.0.4:22-10.0.0.9:50122.service"));
        assert!(is_ssh_instance("sshd@1.service"));
        assert!(!is_ssh_instance("ssh@.service"));
        assert!(!is_ssh_instance("ssh.service"));
        assert!(!is_ssh_instance("sshguard@x.service"));
        assert!(!is_ssh_instance("ssh@x.socket"));
    }
}
