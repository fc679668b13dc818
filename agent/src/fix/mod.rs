//! Repairs: the actions of what the verdict found, applied in a transaction that keeps
//! every prior state, checked by diagnosing again, rolled back by itself when the fix
//! does not hold, and undone on demand.

mod action;
mod confirm;
mod files;
mod journal;
mod perform;
mod reset;

pub use action::{parse_mode, shell_word, Action, ActionTemplate, Mode, UnitVerb};
pub use confirm::{confirm, undo_unless_confirmed};
pub use journal::{list, Manifest, StepState, TxState, STATE_DIR};

use crate::collect::CollectOptions;
use crate::rules::Severity;
use crate::verdict::Verdict;
use journal::Transaction;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What `sshdoctor fix` is asked to do.
#[derive(Debug, Clone)]
pub struct FixOptions {
    /// Change the system; without it, only the plan is printed.
    pub apply: bool,
    /// Only the findings with these rule ids (all when empty; none but these with
    /// `add_key`).
    pub only: Vec<String>,
    /// A public key line to add for a user, where sshd reads that user's keys.
    pub add_key: Option<(String, String)>,
    /// The main sshd_config as the distribution ships it (cloud login lines kept).
    pub reset_config: bool,
    pub state_dir: PathBuf,
    /// Applied changes are put back after this unless `fix --confirm TXID` comes first.
    pub confirm_within: Option<std::time::Duration>,
    /// How each diagnosis (before, and after to check) is made.
    pub collect: CollectOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FixOutcome {
    /// Nothing the verdict found has an automatic repair.
    NothingToFix,
    /// The plan, printed; nothing changed.
    Planned,
    /// Applied, and the diagnosis after it no longer finds what was fixed.
    Applied,
    /// Applied in part or whole, then put back: a step failed or the fix did not hold.
    RolledBack,
    /// A transaction put back by `sshdoctor undo`.
    Undone,
    /// An unconfirmed transaction kept: nothing puts it back any more.
    Confirmed,
    /// Nothing could be done (not root, the journal unwritable, no transaction).
    Failed,
}

impl FixOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            FixOutcome::NothingToFix => "nothing_to_fix",
            FixOutcome::Planned => "planned",
            FixOutcome::Applied => "applied",
            FixOutcome::RolledBack => "rolled_back",
            FixOutcome::Undone => "undone",
            FixOutcome::Confirmed => "confirmed",
            FixOutcome::Failed => "failed",
        }
    }

    /// 0 when it did what was asked (or there was nothing to do), 2 when the fix was
    /// rolled back, 3 when nothing could be done.
    pub fn exit_code(self) -> i32 {
        match self {
            FixOutcome::RolledBack => 2,
            FixOutcome::Failed => 3,
            _ => 0,
        }
    }
}

/// One planned or applied action, with the finding it answers.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub finding: String,
    pub title: String,
    pub action: Action,
    pub command: String,
    /// planned, done, failed, reversed, or not_reached.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A finding without an automatic repair: what a person does instead.
#[derive(Debug, Clone, Serialize)]
pub struct ManualStep {
    pub finding: String,
    pub title: String,
    /// Why the rule leaves it to a person, where it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<&'static str>,
    pub guest: Vec<String>,
}

/// What a `fix` or `undo` run did.
#[derive(Debug, Clone, Serialize)]
pub struct FixReport {
    pub outcome: FixOutcome,
    pub transaction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    pub steps: Vec<StepReport>,
    pub manual: Vec<ManualStep>,
    /// After applying: the findings the fix meant to clear that are still there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub still_found: Vec<String>,
    /// A transaction that was killed mid-way, put back before this run judged anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered: Option<String>,
    /// With --confirm-within: when the fix is put back unless confirmed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_by: Option<String>,
}

impl FixReport {
    fn failed(why: String) -> FixReport {
        FixReport {
            outcome: FixOutcome::Failed,
            transaction: None,
            why: Some(why),
            steps: Vec::new(),
            manual: Vec::new(),
            still_found: Vec::new(),
            recovered: None,
            confirm_by: None,
        }
    }
}

/// A finding's action in the plan.
struct Planned {
    finding: String,
    title: String,
    action: Action,
}

/// The plan from a verdict: each warning or critical finding's actions (the first
/// finding that asks for an action has it), files and accounts first, then units,
/// restarts last; and the findings that stay manual.
fn plan(verdict: &Verdict, only: &[String]) -> (Vec<Planned>, Vec<ManualStep>) {
    let mut planned: Vec<Planned> = Vec::new();
    let mut manual = Vec::new();
    let wanted =
        |id: &str| only.is_empty() || only.iter().any(|rule| rule.eq_ignore_ascii_case(id));
    for finding in &verdict.findings {
        if finding.severity == Severity::Info || !wanted(finding.id) {
            continue;
        }
        let actions = &finding.remediation.actions;
        if actions.is_empty() {
            manual.push(ManualStep {
                finding: finding.id.to_string(),
                title: finding.title.clone(),
                why: finding.remediation.manual,
                guest: finding.remediation.guest.clone(),
            });
        }
        for action in actions {
            if !planned.iter().any(|step| step.action == *action) {
                planned.push(Planned {
                    finding: finding.id.to_string(),
                    title: finding.title.clone(),
                    action: action.clone(),
                });
            }
        }
    }
    planned.sort_by_key(|step| step.action.phase());
    (planned, manual)
}

/// `sshdoctor fix`: diagnoses, then plans, or applies and checks.
pub fn fix(options: &FixOptions) -> FixReport {
    // A transaction a kill left half done is put back before anything is judged: the
    // plan is then made for the system as it was, and the new transaction's prior
    // states are the true ones.
    let recovered = match options.apply && nix::unistd::geteuid().is_root() {
        true => match recover_interrupted(&options.state_dir) {
            Ok(recovered) => recovered,
            Err(why) => return FixReport::failed(why),
        },
        false => None,
    };
    let mut report = plan_and_apply(options);
    report.recovered = recovered;
    if let (FixOutcome::Applied, Some(within), Some(id)) = (
        report.outcome,
        options.confirm_within,
        report.transaction.clone(),
    ) {
        match confirm::arm(&options.state_dir, &id, within) {
            Ok(by) => report.confirm_by = Some(by),
            // No safety net, no change: the person asked for one.
            Err(why) => {
                let undone = undo(&options.state_dir, Some(&id));
                report.outcome = FixOutcome::RolledBack;
                report.why = Some(format!(
                    "the rollback after {} could not be armed ({why}); put back: {}",
                    humantime::format_duration(within),
                    undone.outcome.as_str()
                ));
            }
        }
    }
    report
}

/// Puts back the transaction a killed `fix` left "applying", if any: its id.
fn recover_interrupted(state_dir: &Path) -> Result<Option<String>, String> {
    let Some(interrupted) = journal::list(state_dir)?
        .into_iter()
        .rev()
        .find(|manifest| manifest.state == TxState::Applying)
    else {
        return Ok(None);
    };
    let undone = undo(state_dir, Some(&interrupted.id));
    match undone.outcome {
        FixOutcome::Undone => Ok(Some(interrupted.id)),
        _ => Err(format!(
            "transaction {} was interrupted and could not be put back: {}; see sshdoctor undo --list",
            interrupted.id,
            undone.why.unwrap_or_default()
        )),
    }
}

fn plan_and_apply(options: &FixOptions) -> FixReport {
    let mut collect = options.collect.clone();
    if let Some((user, _)) = &options.add_key {
        collect.users = vec![user.clone()];
    }
    let before = crate::diagnose(&collect);
    let (planned, manual) = match planned_steps(options, &before) {
        Ok(plan) => plan,
        Err(why) => return FixReport::failed(why),
    };
    let mut report = FixReport {
        outcome: FixOutcome::Planned,
        transaction: None,
        why: None,
        steps: planned
            .iter()
            .map(|step| StepReport {
                finding: step.finding.clone(),
                title: step.title.clone(),
                action: step.action.clone(),
                command: step.action.command(),
                outcome: "planned",
                error: None,
            })
            .collect(),
        manual,
        still_found: Vec::new(),
        recovered: None,
        confirm_by: None,
    };
    if planned.is_empty() {
        report.outcome = FixOutcome::NothingToFix;
        return report;
    }
    if !options.apply {
        return report;
    }
    if !nix::unistd::geteuid().is_root() {
        report.outcome = FixOutcome::Failed;
        report.why = Some("only root can apply a fix: run it with sudo".into());
        return report;
    }
    let mut transaction = match Transaction::begin(&options.state_dir) {
        Ok(transaction) => transaction,
        Err(why) => return FixReport::failed(why),
    };
    report.transaction = Some(transaction.manifest.id.clone());
    let config_files = &before.facts.config.files;
    let mut config_changed = false;
    for (index, step) in planned.iter().enumerate() {
        // A unit is started or reloaded only with a config sshd accepts.
        if config_changed && is_unit_step(&step.action) {
            config_changed = false;
            if let Err(why) = sshd_accepts_config(&before) {
                return rolled_back(&mut transaction, report, why);
            }
        }
        if let Err(why) = apply_step(&mut transaction, step) {
            report.steps[index].outcome = "failed";
            report.steps[index].error = Some(why.clone());
            let why = format!("{} failed: {why}", step.action.command());
            return rolled_back(&mut transaction, report, why);
        }
        report.steps[index].outcome = "done";
        // sshd -t also loads the host keys.
        config_changed |= matches!(
            step.action,
            Action::NewHostKey { .. } | Action::MakeHostKeys
        ) || step
            .action
            .paths()
            .iter()
            .any(|path| config_files.contains(path));
    }
    if config_changed {
        if let Err(why) = sshd_accepts_config(&before) {
            return rolled_back(&mut transaction, report, why);
        }
    }
    if planned.iter().any(|step| step.action.restarts_sshd()) {
        wait_for_sshd(&before);
    }
    // The check: the same diagnosis again, the live probes included.
    let after = crate::diagnose(&collect);
    if let Some((why, still)) = what_did_not_hold(options, &planned, &before, &after) {
        report.still_found = still;
        return rolled_back(&mut transaction, report, why);
    }
    transaction.finish(TxState::Applied, None);
    report.outcome = FixOutcome::Applied;
    report
}

/// What `fix` is to do: the steps `--reset-config` and `--add-key` ask for, then the
/// findings' repairs (only the named ones when either is asked), and what stays manual.
fn planned_steps(
    options: &FixOptions,
    before: &Verdict,
) -> Result<(Vec<Planned>, Vec<ManualStep>), String> {
    let asked = options.add_key.is_some() || options.reset_config;
    let (mut planned, manual) = match asked && options.only.is_empty() {
        true => (Vec::new(), Vec::new()),
        false => plan(before, &options.only),
    };
    if options.reset_config {
        planned.splice(0..0, reset_steps(before)?);
    }
    if let Some((user, key)) = &options.add_key {
        planned.splice(0..0, key_steps(before, user, key)?);
    }
    Ok((planned, manual))
}

/// Why the repair did not hold, by the diagnosis after it: a finding it answered is
/// still there, the added key is not accepted, or a rule silent before finds something
/// critical; with the findings still there. None when it held.
fn what_did_not_hold(
    options: &FixOptions,
    planned: &[Planned],
    before: &Verdict,
    after: &Verdict,
) -> Option<(String, Vec<String>)> {
    let seen = |verdict: &Verdict, id: &str, title: &str| {
        verdict
            .findings
            .iter()
            .any(|finding| finding.id == id && finding.title == title)
    };
    let mut still: Vec<String> = Vec::new();
    for step in planned {
        let named = format!("{}: {}", step.finding, step.title);
        if seen(after, &step.finding, &step.title) && !still.contains(&named) {
            still.push(named);
        }
    }
    if !still.is_empty() {
        return Some((
            format!("still found after the fix: {}", still.join("; ")),
            still,
        ));
    }
    if let Some(why) = options
        .add_key
        .as_ref()
        .and_then(|(user, key)| key_refused(after, user, key))
    {
        return Some((why, still));
    }
    // A repair must not take away the way people come in now: a drop-in read again
    // may move sshd to another port, and whoever uses the old one is cut off.
    let ports = |verdict: &Verdict| -> Vec<u16> {
        let view = crate::rules::SshView::new(&verdict.facts);
        let mut ports: Vec<u16> = view.ssh_sockets.iter().map(|socket| socket.port).collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    };
    let after_ports = ports(after);
    let lost: Vec<String> = ports(before)
        .into_iter()
        .filter(|port| !after_ports.contains(port))
        .map(|port| port.to_string())
        .collect();
    if !lost.is_empty() {
        return Some((
            format!(
                "sshd no longer listened on port {} after the fix, as it did before: whoever comes in there would be cut off",
                lost.join(", ")
            ),
            still,
        ));
    }
    // By rule, not title: a title may carry a count or a time (a log line's), which
    // moves between the two diagnoses without anything new being wrong.
    let new_critical: Vec<String> = after
        .findings
        .iter()
        .filter(|finding| finding.severity == Severity::Critical)
        .filter(|finding| !before.findings.iter().any(|known| known.id == finding.id))
        .map(|finding| format!("{}: {}", finding.id, finding.title))
        .collect();
    (!new_critical.is_empty()).then(|| {
        (
            format!("new after the fix: {}", new_critical.join("; ")),
            still,
        )
    })
}

/// The steps that add `key` for `user` where sshd reads that user's keys (the first
/// AuthorizedKeysFile `sshd -T` gives for the user): the directory, if missing, then
/// the line.
fn key_steps(verdict: &Verdict, user: &str, key: &str) -> Result<Vec<Planned>, String> {
    let examined = verdict
        .facts
        .auth
        .users
        .iter()
        .find(|known| known.name == user);
    let account = examined
        .and_then(|known| known.account.as_ref())
        .ok_or_else(|| format!("no user {user}: create it first (useradd -m {user})"))?;
    let path = examined
        .and_then(|known| known.keys_files.first())
        .map(|file| file.path.clone())
        .ok_or_else(|| format!("sshd reads no keys file for {user} (AuthorizedKeysFile none)"))?;
    let group = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(account.gid))
        .ok()
        .flatten()
        .map_or_else(|| user.to_string(), |group| group.name);
    let title = format!("add {user}'s key to {path}");
    let mut actions = Vec::new();
    let dir = Path::new(&path)
        .parent()
        .map(|dir| dir.display().to_string());
    if let Some(dir) = dir.filter(|dir| !Path::new(dir).exists()) {
        actions.push(Action::MakeDir {
            path: dir,
            mode: "0700".into(),
            owner: user.to_string(),
            group,
        });
    }
    let args = [
        ("path", path),
        ("owner", user.to_string()),
        ("key", key.trim().to_string()),
    ];
    actions.push(Action::from_template("add_key", &args)?);
    Ok(actions
        .into_iter()
        .map(|action| Planned {
            finding: "add-key".into(),
            title: title.clone(),
            action,
        })
        .collect())
}

/// The steps of `--reset-config`: the main config written anew, then sshd made to read
/// it (where it runs, or systemd runs it).
fn reset_steps(verdict: &Verdict) -> Result<Vec<Planned>, String> {
    let facts = &verdict.facts;
    let path = &facts.config.path;
    let mut actions = vec![reset::reset_action(path)?];
    let view = crate::rules::SshView::new(facts);
    let (unit, pid) = crate::rules::sshd_restart_target(facts, &view);
    let args = [
        ("check", crate::rules::sshd_test(facts)),
        ("unit", unit.unwrap_or_default()),
        ("pid", pid.map(|pid| pid.to_string()).unwrap_or_default()),
    ];
    actions.extend(Action::from_template("restart_sshd", &args).ok());
    let title = format!("{path} as the distribution ships it");
    Ok(actions
        .into_iter()
        .map(|action| Planned {
            finding: "reset-config".into(),
            title: title.clone(),
            action,
        })
        .collect())
}

/// Why sshd would not take the added key, as the live key query after the fix found;
/// None when it would, or when the probes did not run.
fn key_refused(after: &Verdict, user: &str, key: &str) -> Option<String> {
    let key = key.trim();
    let examined = after
        .facts
        .auth
        .users
        .iter()
        .find(|known| known.name == user)?;
    let file = examined.keys_files.first()?;
    let text = std::fs::read_to_string(&file.path).ok()?;
    let line = text.lines().position(|line| line == key)? as u32 + 1;
    let query =
        after.facts.live.key_queries.iter().find(|query| {
            query.user == user && query.keys_file == file.path && query.line == line
        })?;
    match query.outcome {
        crate::facts::KeyQueryOutcome::Accepted => None,
        outcome => Some(format!(
            "sshd would not accept the added key ({outcome:?}): {}",
            query.detail.as_deref().unwrap_or("no detail")
        )),
    }
}

/// Records the step's prior state, then makes the change.
fn apply_step(transaction: &mut Transaction, step: &Planned) -> Result<(), String> {
    let prior = perform::prior(&step.action)?;
    let keep = perform::changes_content(&step.action);
    let index = transaction.record(&step.finding, &step.action, prior, keep)?;
    match perform::perform(&step.action) {
        Ok(()) => {
            transaction.mark(index, StepState::Done, None);
            Ok(())
        }
        Err(why) => {
            transaction.mark(index, StepState::Failed, Some(why.clone()));
            Err(why)
        }
    }
}

/// `sshd -t` with the binary and config the diagnosis ran `sshd -T` with; like it, with
/// a stand-in for a privilege-separation directory systemd removed with the stopped
/// service (restarting the unit makes the real one).
fn sshd_accepts_config(verdict: &Verdict) -> Result<(), String> {
    let Some(check) = &verdict.facts.config.syntax_check else {
        return Ok(());
    };
    let Some(sshd) = check.command.first() else {
        return Ok(());
    };
    let run = crate::collect::config::run_sshd(
        Path::new(sshd),
        "-t",
        Path::new(&verdict.facts.config.path),
        &verdict.facts.config.command_line_args(),
        std::time::Duration::from_secs(30),
        None,
    )
    .run;
    match run.exit_code {
        Some(0) => Ok(()),
        _ => Err(format!(
            "sshd rejects the changed config: {}",
            run.error.unwrap_or(run.stderr)
        )),
    }
}

fn rolled_back(transaction: &mut Transaction, mut report: FixReport, why: String) -> FixReport {
    let errors = reverse_all(transaction);
    let why = match errors.is_empty() {
        true => why,
        false => format!("{why}; and putting it back: {}", errors.join("; ")),
    };
    transaction.finish(TxState::RolledBack, Some(why.clone()));
    for (step, recorded) in report.steps.iter_mut().zip(&transaction.manifest.steps) {
        if recorded.state == StepState::Reversed {
            step.outcome = "reversed";
        }
    }
    for step in report
        .steps
        .iter_mut()
        .filter(|step| step.outcome == "planned")
    {
        step.outcome = "not_reached";
    }
    report.outcome = FixOutcome::RolledBack;
    report.why = Some(why);
    report
}

/// Puts back every recorded step: files and accounts newest first, then units newest
/// first (a restart after the files are back makes sshd read them). Returns what could
/// not be put back.
fn reverse_all(transaction: &mut Transaction) -> Vec<String> {
    let mut errors = Vec::new();
    let count = transaction.manifest.steps.len();
    let order: Vec<usize> = (0..count)
        .rev()
        .filter(|at| !is_unit_step(&transaction.manifest.steps[*at].action))
        .chain(
            (0..count)
                .rev()
                .filter(|at| is_unit_step(&transaction.manifest.steps[*at].action)),
        )
        .collect();
    for at in order {
        let step = &transaction.manifest.steps[at];
        if step.state == StepState::Reversed {
            continue;
        }
        let Some(prior) = step.prior.clone() else {
            continue;
        };
        let action = step.action.clone();
        match perform::reverse(&action, &prior, &transaction.dir) {
            Ok(()) => transaction.mark(at, StepState::Reversed, None),
            Err(why) => errors.push(why),
        }
    }
    errors
}

fn is_unit_step(action: &Action) -> bool {
    action.phase() > 0
}

/// After a restart: waits (up to 10 s) until each address sshd listened on before
/// accepts connections again, so that the check does not catch it mid-restart.
fn wait_for_sshd(verdict: &Verdict) {
    let addresses: Vec<std::net::SocketAddr> = verdict
        .facts
        .sockets
        .listeners
        .iter()
        .filter(|socket| {
            socket
                .owners
                .iter()
                .any(|owner| owner.comm.starts_with("sshd"))
        })
        .map(|socket| {
            let ip = match socket.address {
                std::net::IpAddr::V4(v4) if v4.is_unspecified() => {
                    std::net::Ipv4Addr::LOCALHOST.into()
                }
                std::net::IpAddr::V6(v6) if v6.is_unspecified() => {
                    std::net::Ipv6Addr::LOCALHOST.into()
                }
                ip => ip,
            };
            std::net::SocketAddr::new(ip, socket.port)
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for address in addresses {
        while std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(1))
            .is_err()
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// `sshdoctor undo`: puts back the transaction `id`, or the latest one still applied
/// (or cut short).
pub fn undo(state_dir: &Path, id: Option<&str>) -> FixReport {
    let transaction = match journal::Transaction::open(state_dir, id) {
        Ok(transaction) => transaction,
        Err(why) => return FixReport::failed(why),
    };
    if matches!(
        transaction.manifest.state,
        TxState::Undone | TxState::RolledBack
    ) {
        return FixReport::failed(format!(
            "transaction {} was already put back",
            transaction.manifest.id
        ));
    }
    reverse_transaction(transaction, TxState::Undone, None)
}

/// Puts every step of `transaction` back, disarms what would have done it later, and
/// leaves it `state` (with `why`); the report of what was reversed.
fn reverse_transaction(
    mut transaction: Transaction,
    state: TxState,
    why: Option<String>,
) -> FixReport {
    confirm::disarm(&transaction);
    let errors = reverse_all(&mut transaction);
    let steps = transaction
        .manifest
        .steps
        .iter()
        .map(|step| StepReport {
            finding: step.finding.clone(),
            title: String::new(),
            action: step.action.clone(),
            command: step.action.command(),
            outcome: match step.state {
                StepState::Reversed => "reversed",
                StepState::Failed => "failed",
                _ => "not_reversed",
            },
            error: step.error.clone(),
        })
        .collect();
    let failed = (!errors.is_empty()).then(|| errors.join("; "));
    let outcome = match (&failed, &state) {
        (Some(_), _) => FixOutcome::Failed,
        (None, TxState::RolledBack) => FixOutcome::RolledBack,
        (None, _) => FixOutcome::Undone,
    };
    let why = failed.or(why);
    transaction.manifest.rollback = None;
    transaction.finish(state, why.clone());
    confirm::remove_kept_binary(&transaction.dir);
    FixReport {
        outcome,
        transaction: Some(transaction.manifest.id.clone()),
        why,
        steps,
        manual: Vec::new(),
        still_found: Vec::new(),
        recovered: None,
        confirm_by: None,
    }
}
