//! `fix --apply --confirm-within DURATION`, for changes that may cut off the session the
//! person is using (as `netplan try` does): the transaction stays unconfirmed, and is
//! put back by itself when the time is up unless `fix --confirm TXID` came first.
//!
//! What puts it back outlives this process: a transient systemd timer where systemd is
//! init, else a process of our own in a session of its own. Both run a copy of this
//! binary kept in the transaction's directory, since Run Command deletes the one it
//! downloaded when the script ends.

use super::journal::{Rollback, Transaction};
use super::{FixOutcome, FixReport, TxState};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The binary's copy in each unconfirmed transaction's directory.
const KEPT_BINARY: &str = "sshdoctor";

/// Makes the applied transaction `id` unconfirmed and arms what puts it back after
/// `within`: the time it will be put back (RFC 3339).
pub fn arm(state_dir: &Path, id: &str, within: Duration) -> Result<String, String> {
    let mut transaction = Transaction::open(state_dir, Some(id))?;
    let binary = transaction.dir.join(KEPT_BINARY);
    keep_binary(&binary)?;
    let deadline = SystemTime::now() + within;
    let confirm_by = humantime::format_rfc3339_seconds(deadline).to_string();
    let undo_args = |extra: &[String]| -> Vec<String> {
        let mut args = vec![
            "undo".to_string(),
            id.to_string(),
            "--state-dir".into(),
            state_dir.display().to_string(),
            "--unless-confirmed".into(),
        ];
        args.extend_from_slice(extra);
        args
    };
    let rollback = match systemd_run() {
        Some(systemd_run) => {
            let unit = format!("sshdoctor-rollback-{id}");
            let mut command = std::process::Command::new(systemd_run);
            command
                .arg(format!("--unit={unit}"))
                .arg(format!("--on-active={}s", within.as_secs().max(1)))
                .arg("--timer-property=AccuracySec=1s")
                .arg(format!(
                    "--description=sshdoctor: put back transaction {id} unless confirmed"
                ))
                .arg(&binary)
                .args(undo_args(&[]));
            let output =
                crate::collect::command::capture(command, Duration::from_secs(30), 64 << 10)
                    .map_err(|err| format!("cannot run systemd-run: {err}"))?;
            if !output.success() {
                return Err(format!("systemd-run: {}", output.error_line()));
            }
            Rollback::Timer { unit }
        }
        None => Rollback::Watcher {
            pid: spawn_watcher(
                &binary,
                &undo_args(&["--wait".into(), within.as_secs().to_string()]),
            )?,
        },
    };
    transaction.manifest.state = TxState::Unconfirmed;
    transaction.manifest.confirm_by = Some(confirm_by.clone());
    transaction.manifest.rollback = Some(rollback);
    transaction.save()?;
    Ok(confirm_by)
}

/// `fix --confirm TXID`: the transaction stays, and what would put it back is disarmed.
pub fn confirm(state_dir: &Path, id: &str) -> FixReport {
    let mut transaction = match Transaction::open(state_dir, Some(id)) {
        Ok(transaction) => transaction,
        Err(why) => return FixReport::failed(why),
    };
    let mut report = FixReport::failed(String::new());
    report.transaction = Some(id.to_string());
    match transaction.manifest.state {
        TxState::Unconfirmed => {}
        TxState::Applied => {
            report.outcome = FixOutcome::Confirmed;
            report.why = Some("it was confirmed already".into());
            return report;
        }
        ref state => {
            report.why = Some(format!("too late: the transaction is {}", state.as_str()));
            return report;
        }
    }
    disarm(&transaction);
    transaction.manifest.state = TxState::Applied;
    transaction.manifest.rollback = None;
    if let Err(why) = transaction.save() {
        report.why = Some(why);
        return report;
    }
    remove_kept_binary(&transaction.dir);
    report.outcome = FixOutcome::Confirmed;
    report.why = None;
    report
}

/// What `undo --unless-confirmed` does when the time is up: puts the transaction back
/// if it is still unconfirmed; otherwise nothing. `wait`: how long to wait first (the
/// watcher's own timer).
pub fn undo_unless_confirmed(state_dir: &Path, id: &str, wait: Option<Duration>) -> FixReport {
    if let Some(wait) = wait {
        std::thread::sleep(wait);
    }
    // A fix or undo that holds the lock now is waited for, not taken for a reason to
    // leave the transaction in place.
    let patience = Instant::now() + Duration::from_secs(120);
    let transaction = loop {
        match Transaction::open(state_dir, Some(id)) {
            Ok(transaction) => break transaction,
            Err(_) if Instant::now() < patience => std::thread::sleep(Duration::from_secs(1)),
            Err(why) => return FixReport::failed(why),
        }
    };
    if transaction.manifest.state != TxState::Unconfirmed {
        let mut report = FixReport::failed(String::new());
        report.outcome = FixOutcome::Confirmed;
        report.transaction = Some(id.to_string());
        report.why = None;
        return report;
    }
    let by = transaction.manifest.confirm_by.clone().unwrap_or_default();
    let why = format!("not confirmed by {by} (sshdoctor fix --confirm {id})");
    super::reverse_transaction(transaction, TxState::RolledBack, Some(why))
}

/// Stops what would put the transaction back: its timer, or its watcher (after making
/// sure the pid is still that watcher, not a process that took its number).
pub fn disarm(transaction: &Transaction) {
    match &transaction.manifest.rollback {
        Some(Rollback::Timer { unit }) => {
            if let Some(systemctl) = find("systemctl") {
                let mut command = std::process::Command::new(systemctl);
                command.args(["stop", &format!("{unit}.timer")]);
                let _ = crate::collect::command::capture(command, Duration::from_secs(30), 4096);
            }
        }
        Some(Rollback::Watcher { pid }) if *pid != std::process::id() => {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let ours = String::from_utf8_lossy(&cmdline).contains(&transaction.manifest.id);
            if let (true, Ok(pid)) = (ours, i32::try_from(*pid)) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        _ => {}
    }
}

/// The copy of this binary that the rollback runs, root's and 0700.
fn keep_binary(to: &Path) -> Result<(), String> {
    std::fs::copy("/proc/self/exe", to)
        .and_then(|_| std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)))
        .map(|_| ())
        .map_err(|err| format!("cannot keep a copy of sshdoctor in {}: {err}", to.display()))
}

/// Removes the copy once nothing will run it.
pub fn remove_kept_binary(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(KEPT_BINARY));
}

/// systemd-run, where systemd is init and has it.
fn systemd_run() -> Option<PathBuf> {
    Path::new("/run/systemd/system")
        .is_dir()
        .then(|| find("systemd-run"))
        .flatten()
}

fn find(tool: &str) -> Option<PathBuf> {
    crate::collect::command::find_tool(&crate::collect::command::tool_dirs(), tool)
}

/// Starts the kept binary with `args` in a session of its own, its standard streams on
/// /dev/null, so that it outlives this process and holds nothing of Run Command's.
fn spawn_watcher(binary: &Path, args: &[String]) -> Result<u32, String> {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let mut command = std::process::Command::new(binary);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe and the only call between fork and exec.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    command
        .spawn()
        .map(|child| child.id())
        .map_err(|err| format!("cannot start the rollback watcher: {err}"))
}
