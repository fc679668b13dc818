//! Collectors: each reads one part of the system into `Facts`, bounded in time, and says
//! what it could not see instead of failing. No collector writes anything or judges
//! anything; that is the rules' job.

pub mod auth;
pub mod cloud;
pub mod firewall;
pub mod health;
pub mod host;
pub mod interfaces;
pub mod prereqs;
pub mod processes;
pub mod sockets;
pub mod sshd_config;
pub mod systemd;

use crate::facts::Facts;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What the user (or a test) told the collectors.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// `--config PATH`: overrides the sshd_config path found from the unit or process.
    pub config_path: Option<PathBuf>,
    /// `--sshd PATH`: the sshd binary to run for `-t`/`-T` (default: found on the system).
    pub sshd_path: Option<PathBuf>,
    /// Upper bound for all D-Bus calls together.
    pub dbus_timeout: Duration,
    /// Upper bound for one run of the sshd binary.
    pub sshd_timeout: Duration,
    /// Skip running `sshd -t`/`-T` (e.g. for a pure parse in tests).
    pub run_sshd: bool,
    /// When to ask Azure's instance metadata service.
    pub imds: cloud::ImdsPolicy,
    /// Base URL of the metadata service (tests point it at a local fake).
    pub imds_endpoint: String,
    pub imds_timeout: Duration,
    /// `--user NAME`: the users whose authentication path is examined (default: the
    /// provisioned admin, root, and every account with a login shell).
    pub users: Vec<String>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            config_path: None,
            sshd_path: None,
            dbus_timeout: Duration::from_secs(2),
            sshd_timeout: Duration::from_secs(3),
            run_sshd: true,
            imds: cloud::ImdsPolicy::Auto,
            imds_endpoint: cloud::IMDS_ENDPOINT.to_string(),
            imds_timeout: Duration::from_secs(1),
            users: Vec::new(),
        }
    }
}

/// How a probe went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// Saw everything it looks at.
    Ok,
    /// Saw part of it; `notes` say what is missing.
    Partial,
    /// Saw nothing; `notes` say why.
    Unavailable,
}

/// The record of one probe: how it went, what it could not see, how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub name: &'static str,
    pub outcome: ProbeOutcome,
    pub notes: Vec<String>,
    pub elapsed_ms: f64,
}

/// Handed to a collector so it can say what it could not see.
#[derive(Debug, Default)]
pub struct ProbeNotes {
    outcome: Option<ProbeOutcome>,
    notes: Vec<String>,
}

impl ProbeNotes {
    /// Part of what the probe looks at could not be seen.
    pub fn partial(&mut self, why: impl Into<String>) {
        self.raise(ProbeOutcome::Partial);
        self.notes.push(why.into());
    }

    /// Nothing the probe looks at could be seen.
    pub fn unavailable(&mut self, why: impl Into<String>) {
        self.raise(ProbeOutcome::Unavailable);
        self.notes.push(why.into());
    }

    /// A remark that does not lower the outcome (e.g. "fell back to /proc/net").
    pub fn note(&mut self, what: impl Into<String>) {
        self.notes.push(what.into());
    }

    fn raise(&mut self, to: ProbeOutcome) {
        self.outcome = Some(self.outcome.map_or(to, |now| now.max(to)));
    }
}

/// Runs one collector, timing it and recording its report.
fn probe<T>(
    reports: &mut Vec<ProbeReport>,
    name: &'static str,
    run: impl FnOnce(&mut ProbeNotes) -> T,
) -> T {
    let started = Instant::now();
    let mut notes = ProbeNotes::default();
    let facts = run(&mut notes);
    reports.push(ProbeReport {
        name,
        outcome: notes.outcome.unwrap_or(ProbeOutcome::Ok),
        notes: notes.notes,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    });
    facts
}

/// Gathers every fact, in the order that lets later probes use earlier hints (systemd's
/// MainPID tells the socket scan where to look first; ExecStart's `-f` names the config).
pub fn collect_all(options: &CollectOptions) -> (Facts, Vec<ProbeReport>) {
    let mut reports = Vec::new();
    let mut facts = Facts {
        host: probe(&mut reports, "host", host::collect),
        ..Facts::default()
    };
    facts.systemd = probe(&mut reports, "systemd", |notes| {
        systemd::collect(options, notes)
    });
    facts.processes = probe(&mut reports, "processes", processes::collect);
    facts.interfaces = probe(&mut reports, "interfaces", |notes| {
        interfaces::collect(notes)
    });
    let likely_owners = sockets::likely_owners(&facts.systemd, &facts.processes);
    facts.sockets = probe(&mut reports, "sockets", |notes| {
        sockets::collect(&likely_owners, notes)
    });
    let config_source = sshd_config::choose_config_path(options, &facts.systemd, &facts.processes);
    facts.config = probe(&mut reports, "sshd_config", |notes| {
        sshd_config::collect(options, &facts.host, config_source, notes)
    });
    facts.auth = probe(&mut reports, "auth", |notes| {
        auth::collect(options, &facts.config, &facts.host, notes)
    });
    facts.prereqs = probe(&mut reports, "prereqs", |notes| {
        prereqs::collect(&facts.config, &facts.host, notes)
    });
    facts.health = probe(&mut reports, "health", health::collect);
    facts.cloud = probe(&mut reports, "cloud", |notes| {
        cloud::collect(options, notes)
    });
    facts.firewall = probe(&mut reports, "firewall", firewall::collect);
    (facts, reports)
}
