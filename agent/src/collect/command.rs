//! Running the machine's own tools (nft, journalctl, ...): found in PATH and the usual
//! bin and sbin directories, run with a C locale and no stdin, bounded in time and output.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// Directories to look for tools in: PATH, then the usual sbin and bin directories,
/// because Run Command and cron may run us with a PATH that lacks them.
pub fn tool_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        if !dirs.iter().any(|known| known == Path::new(dir)) {
            dirs.push(dir.into());
        }
    }
    dirs
}

/// The path of an executable named `name` in the first of `dirs` that has one.
pub fn find_tool(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    dirs.iter()
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// What a tool printed.
#[derive(Debug)]
pub struct ToolOutput {
    pub stdout: String,
    pub stderr: String,
    /// None when killed by a signal (or by us, at the timeout).
    pub exit_code: Option<i32>,
    pub timed_out: bool,
}

impl ToolOutput {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// The first line of stderr, to say why a tool failed.
    pub fn error_line(&self) -> String {
        let line = self.stderr.lines().find(|line| !line.trim().is_empty());
        match (line, self.exit_code) {
            (Some(line), _) => line.trim().to_string(),
            (None, Some(code)) => format!("exit status {code}"),
            (None, None) => "killed by a signal".into(),
        }
    }
}

/// Output beyond this is cut: a ruleset that large is read in part, not in full.
const OUTPUT_LIMIT: u64 = 16 << 20;

/// Runs `program args`; a tool that outlives `timeout` is an error, like one that
/// cannot start.
pub fn run(program: &Path, args: &[&str], timeout: Duration) -> Result<ToolOutput, String> {
    let mut command = Command::new(program);
    command.args(args);
    let output = capture(command, timeout, OUTPUT_LIMIT)
        .map_err(|err| format!("cannot run {}: {err}", program.display()))?;
    if output.timed_out {
        return Err(format!(
            "{} {} did not answer within {} ms",
            program.display(),
            args.join(" "),
            timeout.as_millis()
        ));
    }
    Ok(output)
}

/// Runs `command` with a C locale and no stdin, keeping at most `limit` bytes of each
/// stream and killing it after `timeout`. Err only when it cannot be started.
///
/// The tool runs in its own process group, so a timeout kills what it started too (a
/// shell's children hold the pipes open); output still unread when the time is up, say
/// from a process that left the group, is given up rather than waited for.
pub fn capture(command: Command, timeout: Duration, limit: u64) -> std::io::Result<ToolOutput> {
    capture_with_input(command, Stdio::null(), timeout, limit)
}

/// `capture` with `stdin` as the tool's standard input.
pub fn capture_with_input(
    mut command: Command,
    stdin: Stdio,
    timeout: Duration,
    limit: u64,
) -> std::io::Result<ToolOutput> {
    use std::os::unix::process::CommandExt;
    let deadline = Instant::now() + timeout;
    let mut child = command
        .env("LC_ALL", "C")
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let group = i32::try_from(child.id()).ok();
    let _running = group.map(Running::register);
    // Read both pipes while waiting: a large output would otherwise fill the pipe and
    // stall the tool until the timeout.
    let stdout = drain(child.stdout.take(), limit);
    let stderr = drain(child.stderr.take(), limit);
    let (exit_code, timed_out) = match child.wait_timeout(timeout) {
        Ok(Some(status)) => (status.code(), false),
        Ok(None) | Err(_) => {
            if let Ok(group) = i32::try_from(child.id()) {
                let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            (None, true)
        }
    };
    let collect = |output: mpsc::Receiver<String>| {
        let left = deadline.saturating_duration_since(Instant::now());
        output
            .recv_timeout(left.max(PIPE_GRACE))
            .unwrap_or_default()
    };
    Ok(ToolOutput {
        stdout: collect(stdout),
        stderr: collect(stderr),
        exit_code,
        timed_out,
    })
}

/// The process groups of the tools running now.
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// A tool's process group on the list of those running, until dropped (once the tool
/// has been waited for, so its pid cannot have been reused yet).
struct Running(i32);

impl Running {
    fn register(group: i32) -> Running {
        if let Ok(mut running) = RUNNING.lock() {
            running.push(group);
        }
        Running(group)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut running) = RUNNING.lock() {
            running.retain(|group| *group != self.0);
        }
    }
}

/// Kills every tool still running, with whatever it started: called before the process
/// exits. A tool left behind by the deadline can be stuck in the kernel on our behalf
/// (`sshd -T` opening an sshd_config on a hung mount), and a thread of ours looking up
/// the same path then waits, beyond SIGKILL, for the tool's lookup to end: the process
/// could not exit, and Run Command would never return.
pub fn end_tools() {
    if let Ok(running) = RUNNING.lock() {
        for group in running.iter() {
            let _ = killpg(Pid::from_raw(*group), Signal::SIGKILL);
        }
    }
}

/// How long output is still awaited once a tool has exited or been killed.
const PIPE_GRACE: Duration = Duration::from_millis(100);

/// Reads a pipe to its end on a thread, keeping at most `limit` bytes: the rest is read
/// and dropped, so the child never blocks on a full pipe.
fn drain(pipe: Option<impl Read + Send + 'static>, limit: u64) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = (&mut pipe).take(limit).read_to_end(&mut kept);
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        }
        let _ = sender.send(String::from_utf8_lossy(&kept).into_owned());
    });
    receiver
}

/// Writes an executable shell script named `name` into `dir`: a stand-in for a real tool.
#[cfg(test)]
pub fn fake_tool(dir: &Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
