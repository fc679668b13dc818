//! Collectors: each reads one part of the system into `Facts`, bounded in time, and says
//! what it could not see instead of failing. No collector writes anything or judges
//! anything; that is the rules' job.

pub mod auth;
pub mod cloud;
pub mod command;
pub mod config;
pub mod firewall;
pub mod health;
pub mod host;
pub mod live;
pub mod logs;
pub mod netlink;
pub mod network;
pub mod nic;
pub mod pam;
pub mod pids;
pub mod prereqs;
pub mod progress;
pub mod reach;
pub mod selinux;
pub mod service;
pub mod session;
pub mod worker;

use crate::facts::{
    AuthFacts, BannerProbe, Facts, LiveFacts, ProbeOutcome, ProbeReport, SshdConfigFacts,
};
pub use progress::Progress;
use std::path::PathBuf;
use std::sync::Arc;
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
    /// Ask the running sshd (the live probes); `--no-probe` turns them off.
    pub probe: bool,
    pub probe_bounds: live::ProbeBounds,
    /// `--deadline`: the verdict is printed by then, whatever still hangs.
    pub deadline: Duration,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            config_path: None,
            sshd_path: None,
            // Bounds for a hung service, not for a slow one: right after a boot under load
            // systemd took over 2 s to answer in the VM lab.
            dbus_timeout: Duration::from_secs(5),
            sshd_timeout: Duration::from_secs(5),
            run_sshd: true,
            imds: cloud::ImdsPolicy::Auto,
            imds_endpoint: cloud::IMDS_ENDPOINT.to_string(),
            imds_timeout: Duration::from_secs(1),
            users: Vec::new(),
            probe: true,
            probe_bounds: live::ProbeBounds::default(),
            // Longer than every probe's own bound; far shorter than Run Command's wait.
            deadline: Duration::from_secs(20),
        }
    }
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

    /// Takes in the notes of a part of this probe that ran on its own thread.
    pub fn absorb(&mut self, part: ProbeNotes) {
        if let Some(outcome) = part.outcome {
            self.raise(outcome);
        }
        self.notes.extend(part.notes);
    }

    fn raise(&mut self, to: ProbeOutcome) {
        self.outcome = Some(self.outcome.map_or(to, |now| now.max(to)));
    }
}

/// Runs one collector, timing it; returns its report with what `run` returned.
fn timed<T>(
    progress: &Progress,
    name: &'static str,
    run: impl FnOnce(&mut ProbeNotes) -> T,
) -> (T, ProbeReport) {
    progress.started(name);
    let started = Instant::now();
    let mut notes = ProbeNotes::default();
    let answer = run(&mut notes);
    let report = ProbeReport {
        name,
        outcome: notes.outcome.unwrap_or(ProbeOutcome::Ok),
        notes: notes.notes,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    (answer, report)
}

/// Runs one collector, timing it; returns its facts, shared, and its report, both kept
/// in `progress` the moment it finishes (`store` puts a copy of the facts in their place,
/// should the deadline need them: nothing is copied otherwise).
fn probe<T: Clone + Send + Sync + 'static>(
    progress: &Progress,
    name: &'static str,
    run: impl FnOnce(&mut ProbeNotes) -> T,
    store: fn(&mut Facts, T),
) -> (Arc<T>, ProbeReport) {
    let (facts, report) = timed(progress, name, run);
    let facts = Arc::new(facts);
    let kept = Arc::clone(&facts);
    progress.finished(&report, Box::new(move |all| store(all, (*kept).clone())));
    (facts, report)
}

/// The facts a probe returned, once nothing else holds them (`Progress::release`).
fn owned<T: Clone>(facts: Arc<T>) -> T {
    Arc::try_unwrap(facts).unwrap_or_else(|shared| (*shared).clone())
}

/// Gathers every fact, keeping each in `progress` as it is seen. Probes that wait on
/// other programs or the network (the firewall tools, `sshd -T`, IMDS) run on their own
/// threads so their waits overlap; the rest run in the order that lets later probes use
/// earlier hints (systemd's MainPID tells the socket scan where to look first;
/// ExecStart's `-f` names the config).
pub fn collect_all(options: &CollectOptions, progress: &Progress) -> (Facts, Vec<ProbeReport>) {
    let mut reports = Reports::default();
    let host = reports.keep(probe(progress, "host", host::collect, |facts, host| {
        facts.host = host
    }));
    let chosen = service::sshd::choose(options.sshd_path.as_deref());
    let (reach, report) = timed(progress, "mounts", |notes| {
        reach::Reach::new(reach::PATH_BOUND, notes)
    });
    progress.finished(&report, Box::new(|_| {}));
    let reach = reports.keep((reach, report));
    let reach = &reach;
    std::thread::scope(|scope| {
        // sshd -T is the longest wait of a diagnosis: it starts now for the config sshd
        // reads unless told otherwise, and is used when the unit or the running sshd
        // names no other (config::check_with_sshd runs it again then).
        let early_dump =
            config::early_dump(options, chosen.binary.as_deref()).map(|(binary, path)| {
                worker::beside(scope, move || {
                    config::run_sshd(&binary, "-T", &path, &[], options.sshd_timeout, None)
                })
            });
        let firewall = worker::beside(scope, || {
            probe(
                progress,
                "firewall",
                firewall::collect,
                |facts, firewall| facts.firewall = firewall,
            )
        });
        let cloud = worker::beside(scope, || {
            probe(
                progress,
                "cloud",
                |notes| cloud::collect(options, notes),
                |facts, cloud| facts.cloud = cloud,
            )
        });
        let health = worker::beside(scope, || {
            probe(
                progress,
                "health",
                |notes| health::collect(reach, notes),
                |facts, health| facts.health = health,
            )
        });
        let selinux = worker::beside(scope, || {
            probe(progress, "selinux", selinux::collect, |facts, selinux| {
                facts.selinux = selinux
            })
        });
        let logs = worker::beside(scope, || {
            probe(progress, "logs", logs::collect, |facts, logs| {
                facts.logs = logs
            })
        });
        // The binary is read (what it was built with) while sshd -T and the others run.
        let sshd = reports.keep(probe(
            progress,
            "sshd",
            |notes| service::sshd::collect(chosen, notes),
            |facts, sshd| facts.sshd = sshd,
        ));
        let systemd = reports.keep(probe(
            progress,
            "systemd",
            |notes| service::systemd::collect(options, notes),
            |facts, systemd| facts.systemd = systemd,
        ));
        let openrc = reports.keep(probe(
            progress,
            "openrc",
            |_| service::openrc::collect(std::path::Path::new("/")),
            |facts, openrc| facts.openrc = openrc,
        ));
        let sysv = reports.keep(probe(
            progress,
            "sysv",
            |_| service::sysv::collect(std::path::Path::new("/")),
            |facts, sysv| facts.sysv = sysv,
        ));
        let processes = reports.keep(probe(
            progress,
            "processes",
            |notes| service::processes::collect(&systemd, notes),
            |facts, processes| facts.processes = processes,
        ));
        let config_source =
            config::choose_config_path(options, &systemd, openrc.as_ref().as_ref(), &processes);
        let parsed = reports.keep(probe(
            progress,
            "sshd_config",
            |notes| config::parse(config_source, notes),
            |facts, parsed| facts.config = parsed,
        ));
        let ssh_ports = ssh_ports(&parsed, &systemd);
        let host_keys = {
            let named = prereqs::named_host_keys(&parsed);
            worker::beside(scope, move || prereqs::load_keys(named))
        };
        let config = {
            let sshd = Arc::clone(&sshd);
            worker::beside(scope, move || {
                probe(
                    progress,
                    "sshd -T",
                    |notes| {
                        let early = early_dump.map(worker::Beside::join);
                        config::check_with_sshd(options, &sshd, owned(parsed), early, notes)
                    },
                    |facts, config| facts.config = config,
                )
            })
        };
        let interfaces = reports.keep(probe(
            progress,
            "interfaces",
            nic::collect,
            |facts, interfaces| facts.interfaces = interfaces,
        ));
        let likely_owners = network::likely_owners(&systemd, &processes);
        let hints = network::OwnerHints {
            likely_owners: &likely_owners,
            ssh_ports: &ssh_ports,
        };
        let sockets = reports.keep(probe(
            progress,
            "sockets",
            |notes| network::collect(hints, notes),
            |facts, sockets| facts.sockets = sockets,
        ));
        // The banners are read while the users' facts are gathered.
        let banners = options.probe.then(|| {
            let (sockets, ssh_ports) = (sockets.clone(), ssh_ports.clone());
            worker::beside(scope, move || {
                probe(
                    progress,
                    "live banners",
                    |notes| live::banners(&sockets, &ssh_ports, options.probe_bounds, notes),
                    |facts, banners| facts.live.banners = banners,
                )
            })
        });
        let config = reports.keep(config.join());
        // The host keys were being loaded (an ssh-keygen each) while sshd -T ran; the rest
        // of the prerequisites are read while the users are examined.
        let prereqs = {
            let (config, sshd) = (Arc::clone(&config), Arc::clone(&sshd));
            worker::beside(scope, move || {
                probe(
                    progress,
                    "prereqs",
                    |notes| prereqs::collect(&config, &sshd, host_keys.join(), notes),
                    |facts, prereqs| facts.prereqs = prereqs,
                )
            })
        };
        let auth = reports.keep(probe(
            progress,
            "auth",
            |notes| auth::collect(options, &config, &host, &sshd, reach, notes),
            |facts, auth| facts.auth = auth,
        ));
        let pam = reports.keep(probe(progress, "pam", pam::collect, |facts, pam| {
            facts.pam = pam
        }));
        let live = reports.live(banners, &auth, &config, options, progress);
        let prereqs = reports.keep(prereqs.join());
        let logs = reports.keep(logs.join());
        let health = reports.keep(health.join());
        let cloud = reports.keep(cloud.join());
        let firewall = reports.keep(firewall.join());
        let selinux = reports.keep(selinux.join());
        // From here the facts are the collection's alone: no copy is made of them.
        progress.release();
        let mut logs = owned(logs);
        logs.login_files_changed_at = login_files_changed_at(&config, &auth, &pam, reach);
        let facts = Facts {
            health: owned(health),
            cloud: owned(cloud),
            firewall: owned(firewall),
            selinux: owned(selinux),
            logs,
            host: owned(host),
            sshd: owned(sshd),
            systemd: owned(systemd),
            openrc: owned(openrc),
            sysv: owned(sysv),
            processes: owned(processes),
            sockets: owned(sockets),
            interfaces: owned(interfaces),
            config: owned(config),
            prereqs: owned(prereqs),
            auth: owned(auth),
            live: owned(live),
            pam: owned(pam),
            unfinished: Vec::new(),
        };
        (facts, reports.0)
    })
}

/// The newest modification or status change among the files that decide a login (see
/// `LogFacts::login_files_changed_at`): a chmod changes only the status time.
fn login_files_changed_at(
    config: &crate::facts::SshdConfigFacts,
    auth: &crate::facts::AuthFacts,
    pam: &crate::facts::PamFacts,
    reach: &reach::Reach,
) -> Option<i64> {
    use std::os::unix::fs::MetadataExt;
    let mut paths: Vec<String> = config.files.clone();
    paths.extend(config.files.iter().filter_map(|file| {
        std::path::Path::new(file)
            .parent()
            .map(|dir| dir.display().to_string())
    }));
    paths.extend(
        [
            "/etc/passwd",
            "/etc/shadow",
            "/etc/group",
            "/etc/pam.d",
            "/etc/hosts.allow",
            "/etc/hosts.deny",
        ]
        .map(String::from),
    );
    for line in pam.account.iter().chain(&pam.session) {
        if let Some((file, _)) = line.source.rsplit_once(':') {
            paths.push(file.to_string());
        }
    }
    paths.extend(pam.access_files.iter().map(|file| file.path.clone()));
    for user in &auth.users {
        for file in &user.keys_files {
            paths.push(file.path.clone());
            paths.extend(file.chain.iter().map(|entry| entry.stat.path.clone()));
        }
    }
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| {
            let owned = path.clone();
            reach
                .reach(&path, move || std::fs::metadata(owned).ok())
                .ok()?
        })
        .map(|meta| meta.mtime().max(meta.ctime()))
        .max()
}

/// The ports SSH should answer on: 22, the ones sshd_config names, and those an SSH
/// socket unit listens on. The socket scan finds these sockets' owners whatever it costs.
fn ssh_ports(
    config: &crate::facts::SshdConfigFacts,
    systemd: &crate::facts::SystemdFacts,
) -> Vec<u16> {
    let configured = config.ports.iter().map(|port| port.value);
    let from_endpoints = config.endpoints.iter().map(|endpoint| endpoint.port);
    let from_units = systemd.units.iter().flat_map(|unit| unit.listen_ports());
    let mut ports: Vec<u16> = std::iter::once(22)
        .chain(configured)
        .chain(from_endpoints)
        .chain(from_units)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The reports of the probes run so far, in the order they were taken in.
#[derive(Default)]
struct Reports(Vec<ProbeReport>);

impl Reports {
    fn keep<T>(&mut self, (facts, report): (T, ProbeReport)) -> T {
        self.0.push(report);
        facts
    }

    /// The live key queries, once the banners are read; without the probes, why not.
    fn live(
        &mut self,
        banners: Option<worker::Beside<'_, (Arc<Vec<BannerProbe>>, ProbeReport)>>,
        auth: &AuthFacts,
        config: &SshdConfigFacts,
        options: &CollectOptions,
        progress: &Progress,
    ) -> Arc<LiveFacts> {
        let Some(banners) = banners else {
            return Arc::new(LiveFacts {
                skipped: Some("--no-probe: the running sshd was not asked".into()),
                ..LiveFacts::default()
            });
        };
        let banners = self.keep(banners.join());
        self.keep(probe(
            progress,
            "live keys",
            |notes| live::collect(owned(banners), auth, config, options.probe_bounds, notes),
            |facts, live| facts.live = live,
        ))
    }
}
