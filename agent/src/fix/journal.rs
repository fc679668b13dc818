//! The transaction journal: one directory per `fix --apply` under the state directory
//! (root only), holding a manifest and the bytes of every file it changes. The manifest
//! records each step's prior state *before* the step changes anything, and is replaced
//! atomically at each step, so a kill at any moment leaves enough to undo.

use super::action::Action;
use super::files::PathState;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::fs::DirBuilder;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Where transactions are kept unless `--state-dir` says otherwise.
pub const STATE_DIR: &str = "/var/lib/sshdoctor/fix";
const MANIFEST: &str = "manifest.json";

/// What a transaction is doing, or did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// Steps being applied; a transaction left so was cut short.
    Applying,
    /// Applied, and the diagnosis after it shows the findings gone.
    Applied,
    /// Applied, and put back by itself at `confirm_by` unless confirmed before.
    Unconfirmed,
    /// Put back by itself: a step failed or the fix did not hold.
    RolledBack,
    /// Put back by `sshdoctor undo`.
    Undone,
}

impl TxState {
    pub fn as_str(&self) -> &'static str {
        match self {
            TxState::Applying => "applying",
            TxState::Applied => "applied",
            TxState::Unconfirmed => "unconfirmed",
            TxState::RolledBack => "rolled_back",
            TxState::Undone => "undone",
        }
    }
}

/// A step's prior state: what undo puts back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prior {
    Path(PathState),
    /// Several files (a host key, its .pub and where the old one went): put back in
    /// the reverse order.
    Paths(Vec<PathState>),
    Shell {
        user: String,
        shell: String,
    },
    /// A kernel setting's value as /proc/sys showed it.
    Sysctl {
        key: String,
        value: String,
    },
    /// Field 3 of /etc/shadow, the day of the last password change; None: empty.
    LastChange {
        user: String,
        day: Option<i64>,
    },
    /// Field 8 of /etc/shadow; None: never expires.
    Expiry {
        user: String,
        expire: Option<i64>,
    },
    /// sshd running outside systemd as this pid: undone by a SIGHUP once the files are
    /// back, so that it reads them.
    Sshd {
        pid: u32,
    },
    /// Locked with a password hash behind the "!": undo locks it again (usermod -L),
    /// and the hash is never written here.
    Locked {
        user: String,
    },
    /// Locked without a password: the field as it was ("!", "!!", "!*"), which holds
    /// no hash.
    LockMark {
        user: String,
        mark: String,
    },
    /// The sshd process was stopped: undo stops it again.
    Stopped {
        pid: u32,
    },
    /// No such user: undo deletes the one the step added.
    NoUser {
        user: String,
    },
    /// The firewall had no rule of ours: undo deletes the one the step inserted.
    NoRule,
    /// The link was down: undo sets it down again.
    LinkDown {
        interface: String,
    },
    /// ufw had "VERB PORT/tcp" (deny, reject), which `ufw allow` changed in place: undo
    /// sets the verb back.
    UfwVerb {
        verb: String,
    },
    /// firewalld did not allow the port at run time; `permanent`: its saved zone did.
    /// Undo removes it at run time, and from the saved zone unless it was there.
    FirewalldClosed {
        permanent: bool,
    },
    /// The local SELinux type TCP `port` had (`semanage port -l -C`); None: no local
    /// label, so undo deletes the one the step added.
    PortLabel {
        port: u16,
        local: Option<String>,
    },
    /// No sshd ran here: the one started writes this pid file, and undo stops it.
    SshdStopped {
        pid_file: String,
    },
    /// OpenRC's service ran no sshd: undo stops the one the step started.
    RcStopped {
        service: String,
    },
    /// No sshd ran from the SysV init script: undo stops the one the step started.
    InitScriptStopped {
        script: String,
    },
    /// The links to the service's init script in the runlevel directories (path,
    /// target) before the step: undo removes the ones it added and puts back the ones
    /// it changed.
    RcLinks {
        service: String,
        links: Vec<(String, String)>,
    },
    /// The service was not in the runlevel: undo takes it out again.
    NotInRunlevel {
        service: String,
        runlevel: String,
    },
    /// `systemctl is-active` and `is-enabled` before the step.
    Unit {
        unit: String,
        active: String,
        enabled: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// The prior state is recorded; the change may or may not have happened.
    Started,
    Done,
    Failed,
    /// Put back.
    Reversed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// The finding this step answers (rule id).
    pub finding: String,
    pub action: Action,
    pub prior: Option<Prior>,
    pub state: StepState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub created_at: String,
    pub state: TxState,
    /// Why it was rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Unconfirmed: when it is put back (RFC 3339), and what will do it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
    pub steps: Vec<Step>,
}

/// What puts an unconfirmed transaction back when its time is up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Rollback {
    /// A transient systemd timer (`systemd-run --on-active`).
    Timer { unit: String },
    /// Without systemd: a process of our own, in a session of its own, that waits.
    Watcher { pid: u32 },
}

/// An open transaction: its directory and manifest, and the lock that keeps a second
/// `fix` or `undo` out while it runs.
pub struct Transaction {
    pub dir: PathBuf,
    pub manifest: Manifest,
    _lock: Flock<std::fs::File>,
}

impl Transaction {
    /// A new transaction under `root` (created 0700).
    pub fn begin(root: &Path) -> Result<Transaction, String> {
        let lock = lock(root)?;
        let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let stamp: String = now.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let id = format!("{stamp}-{}", std::process::id());
        let dir = root.join(&id);
        DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        let transaction = Transaction {
            dir,
            manifest: Manifest {
                id,
                created_at: now,
                state: TxState::Applying,
                why: None,
                confirm_by: None,
                rollback: None,
                steps: Vec::new(),
            },
            _lock: lock,
        };
        transaction.save()?;
        Ok(transaction)
    }

    /// The transaction `id`, or the latest one, to undo it.
    pub fn open(root: &Path, id: Option<&str>) -> Result<Transaction, String> {
        let lock = lock(root)?;
        let id = match id {
            Some(id) => id.to_string(),
            None => list(root)?
                .into_iter()
                .rev()
                .find(|manifest| {
                    matches!(
                        manifest.state,
                        TxState::Applying | TxState::Applied | TxState::Unconfirmed
                    )
                })
                .map(|manifest| manifest.id)
                .ok_or("no transaction to undo")?,
        };
        if id.contains('/') || id.starts_with('.') {
            return Err(format!("no transaction {id:?}"));
        }
        let dir = root.join(&id);
        let manifest = read_manifest(&dir).map_err(|err| format!("transaction {id}: {err}"))?;
        Ok(Transaction {
            dir,
            manifest,
            _lock: lock,
        })
    }

    /// Records a step and its prior state before anything changes; keeps the bytes of
    /// a file whose content the step changes.
    pub fn record(
        &mut self,
        finding: &str,
        action: &Action,
        prior: Option<Prior>,
        keep_bytes: bool,
    ) -> Result<usize, String> {
        let mut prior = prior;
        let step = self.manifest.steps.len();
        let states: Vec<&mut PathState> = match &mut prior {
            Some(Prior::Path(state)) => vec![state],
            Some(Prior::Paths(states)) => states.iter_mut().collect(),
            _ => Vec::new(),
        };
        for (index, state) in states.into_iter().enumerate() {
            if keep_bytes && state.exists && !state.is_dir {
                let name = match index {
                    0 => format!("saved-{step}"),
                    _ => format!("saved-{step}-{index}"),
                };
                let bytes = std::fs::read(&state.path)
                    .map_err(|err| format!("cannot keep a copy of {}: {err}", state.path))?;
                write_synced(&self.dir.join(&name), &bytes)?;
                state.saved = Some(name);
            }
        }
        self.manifest.steps.push(Step {
            finding: finding.to_string(),
            action: action.clone(),
            prior,
            state: StepState::Started,
            error: None,
        });
        self.save()?;
        Ok(self.manifest.steps.len() - 1)
    }

    pub fn mark(&mut self, step: usize, state: StepState, error: Option<String>) {
        self.manifest.steps[step].state = state;
        self.manifest.steps[step].error = error;
        let _ = self.save();
    }

    pub fn finish(&mut self, state: TxState, why: Option<String>) {
        self.manifest.state = state;
        self.manifest.why = why;
        let _ = self.save();
    }

    /// The manifest, replaced whole.
    pub fn save(&self) -> Result<(), String> {
        let text = serde_json::to_string_pretty(&self.manifest).expect("a manifest serializes");
        let staged = self.dir.join(".manifest.tmp");
        write_synced(&staged, text.as_bytes())?;
        std::fs::rename(&staged, self.dir.join(MANIFEST))
            .map_err(|err| format!("cannot write the manifest: {err}"))
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()));
    written.map_err(|err| format!("cannot write {}: {err}", path.display()))
}

/// The lock on the state directory, created 0700 with its parents.
fn lock(root: &Path) -> Result<Flock<std::fs::File>, String> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(|err| format!("cannot create {}: {err}", root.display()))?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(root.join("lock"))
        .map_err(|err| format!("cannot open {}/lock: {err}", root.display()))?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock)
        .map_err(|_| "another sshdoctor fix or undo is running".to_string())
}

fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).map_err(|err| err.to_string())?;
    serde_json::from_str(&text).map_err(|err| format!("unreadable manifest: {err}"))
}

/// Every transaction under `root`, oldest first (their ids start with the time).
pub fn list(root: &Path) -> Result<Vec<Manifest>, String> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(format!("cannot read {}: {err}", root.display())),
    };
    let mut manifests: Vec<Manifest> = entries
        .filter_map(|entry| read_manifest(&entry.ok()?.path()).ok())
        .collect();
    manifests.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(manifests)
}
