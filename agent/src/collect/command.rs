//! Running the machine's own tools (nft, journalctl, ...): found in PATH and the usual
//! bin and sbin directories, run with a C locale and no stdin, bounded in time and output.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
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
    /// None when killed by a signal.
    pub exit_code: Option<i32>,
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

/// Runs `program args` with a C locale and no stdin, killing it after `timeout`.
pub fn run(program: &Path, args: &[&str], timeout: Duration) -> Result<ToolOutput, String> {
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot run {}: {err}", program.display()))?;
    // Read both pipes while waiting: a large output would otherwise fill the pipe and
    // stall the tool until the timeout.
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let status = match child.wait_timeout(timeout) {
        Ok(Some(status)) => status,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{} {} did not answer within {} ms",
                program.display(),
                args.join(" "),
                timeout.as_millis()
            ));
        }
        Err(err) => return Err(format!("waiting for {}: {err}", program.display())),
    };
    Ok(ToolOutput {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        exit_code: status.code(),
    })
}

fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(pipe) = pipe {
            let _ = pipe.take(OUTPUT_LIMIT).read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Writes an executable shell script named `name` into `dir`: a stand-in for a real tool.
#[cfg(test)]
pub fn fake_tool(dir: &Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
