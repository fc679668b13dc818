//! The local firewall's rulesets: nftables, iptables (both backends), firewalld and ufw.
//!
//! Only listing commands run (`nft list`, `*-save`, `firewall-cmd --list-*`, `ufw status`),
//! each bounded in time. A tool that is not installed is a note; a tool that fails makes
//! the probe partial. Judging the rules is `rules::firewall`'s job.

pub mod firewalld;
pub mod iptables;
pub mod nft;
pub mod ufw;

use super::ProbeNotes;
use crate::facts::FirewallFacts;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt;

/// Where firewall tools are looked for, and how long each may run.
#[derive(Debug, Clone)]
pub struct Tools {
    /// Directories searched in order; sbin directories are included because Run Command
    /// and cron may run us with a PATH that lacks them.
    pub dirs: Vec<PathBuf>,
    pub timeout: Duration,
    /// ufw is a Python program that runs iptables itself: it needs longer.
    pub ufw_timeout: Duration,
    /// Where ufw's files are read (ufw/ufw.conf, ufw/user.rules, default/ufw) when
    /// `ufw status` cannot run.
    pub etc: PathBuf,
}

impl Tools {
    /// The tools of this machine: PATH, then the usual sbin and bin directories.
    pub fn system() -> Tools {
        let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect())
            .unwrap_or_default();
        for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            if !dirs.iter().any(|known| known == Path::new(dir)) {
                dirs.push(dir.into());
            }
        }
        Tools {
            dirs,
            timeout: Duration::from_secs(2),
            ufw_timeout: Duration::from_secs(5),
            etc: "/etc".into(),
        }
    }

    /// The path of an executable named `name`, if installed.
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        self.dirs
            .iter()
            .map(|dir| dir.join(name))
            .find(|path| is_executable(path))
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// What a listing command printed.
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
    // Read both pipes while waiting: a large ruleset would otherwise fill the pipe and
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

pub fn collect(notes: &mut ProbeNotes) -> FirewallFacts {
    collect_with(&Tools::system(), notes)
}

/// Every firewall layer the kernel or a manager keeps, read with the given tools.
pub fn collect_with(tools: &Tools, notes: &mut ProbeNotes) -> FirewallFacts {
    FirewallFacts {
        nftables: nft::collect(tools, notes),
        iptables: iptables::collect(tools, notes),
        firewalld: firewalld::collect(tools, notes),
        ufw: ufw::collect(tools, notes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tools_in(dir: &Path, timeout: Duration) -> Tools {
        Tools {
            dirs: vec![dir.to_path_buf()],
            timeout,
            ufw_timeout: timeout,
            etc: dir.join("etc"),
        }
    }

    fn fake_tool(dir: &Path, name: &str, script: &str) {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn missing_tools_are_notes_and_the_probe_stays_ok() {
        let empty = tempfile::tempdir().unwrap();
        let mut notes = ProbeNotes::default();
        let facts = collect_with(&tools_in(empty.path(), Duration::from_secs(2)), &mut notes);
        assert!(facts.nftables.is_none());
        assert!(facts.iptables.is_empty());
        assert!(facts.firewalld.is_none() && facts.ufw.is_none());
        assert_eq!(notes.outcome, None, "{:?}", notes.notes);
        for tool in [
            "nft",
            "iptables-save",
            "ip6tables-save",
            "firewall-cmd",
            "ufw",
        ] {
            let said = format!("{tool} is not installed");
            assert!(
                notes.notes.iter().any(|note| note.starts_with(&said)),
                "{:?}",
                notes.notes
            );
        }
    }

    #[test]
    fn a_tool_that_hangs_or_fails_makes_the_probe_partial() {
        let dir = tempfile::tempdir().unwrap();
        fake_tool(dir.path(), "nft", "sleep 10");
        fake_tool(
            dir.path(),
            "iptables-nft-save",
            "echo 'iptables-nft-save: Permission denied (you must be root)' >&2; exit 4",
        );
        let started = std::time::Instant::now();
        let mut notes = ProbeNotes::default();
        let facts = collect_with(
            &tools_in(dir.path(), Duration::from_millis(300)),
            &mut notes,
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(facts.nftables.is_none() && facts.iptables.is_empty());
        assert_eq!(notes.outcome, Some(super::super::ProbeOutcome::Partial));
        assert!(notes
            .notes
            .iter()
            .any(|note| note.contains("did not answer within 300 ms")));
        assert!(notes.notes.iter().any(|note| {
            note
            == "iptables-nft-save failed: iptables-nft-save: Permission denied (you must be root)"
        }));
    }
}
