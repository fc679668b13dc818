//! The local firewall's rulesets: nftables, iptables (both backends), firewalld and ufw.
//!
//! Only listing commands run (`nft list`, `*-save`, `firewall-cmd --list-*`, `ufw status`),
//! each bounded in time. A tool that is not installed is a note; a tool that fails makes
//! the probe partial. Judging the rules is `rules::firewall`'s job.

pub mod firewalld;
pub mod iptables;
pub mod nft;
pub mod ufw;

use super::command::{find_tool, tool_dirs};
use super::worker;
use super::ProbeNotes;
use crate::facts::FirewallFacts;
use std::path::PathBuf;
use std::time::Duration;

/// Where firewall tools are looked for, and how long each may run.
#[derive(Debug, Clone)]
pub struct Tools {
    /// Directories searched in order.
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
        Tools {
            dirs: tool_dirs(),
            timeout: Duration::from_secs(4),
            ufw_timeout: Duration::from_secs(5),
            etc: "/etc".into(),
        }
    }

    /// The path of an executable named `name`, if installed.
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        find_tool(&self.dirs, name)
    }
}

pub fn collect(notes: &mut ProbeNotes) -> FirewallFacts {
    collect_with(&Tools::system(), notes)
}

/// Every firewall layer the kernel or a manager keeps, read with the given tools. The
/// layers are read at once: each waits on its own programs.
pub fn collect_with(tools: &Tools, notes: &mut ProbeNotes) -> FirewallFacts {
    std::thread::scope(|scope| {
        let nftables = read_layer(scope, tools, nft::collect);
        let iptables = read_layer(scope, tools, iptables::collect);
        let firewalld = read_layer(scope, tools, firewalld::collect);
        let ufw = read_layer(scope, tools, ufw::collect);
        FirewallFacts {
            nftables: join_layer(nftables, notes),
            iptables: join_layer(iptables, notes),
            firewalld: join_layer(firewalld, notes),
            ufw: join_layer(ufw, notes),
        }
    })
}

type Layer<'scope, T> = worker::Beside<'scope, (T, ProbeNotes)>;

/// Reads one layer on its own thread, with notes of its own.
fn read_layer<'scope, 'env, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    tools: &'env Tools,
    read: fn(&Tools, &mut ProbeNotes) -> T,
) -> Layer<'scope, T> {
    worker::beside(scope, move || {
        let mut layer_notes = ProbeNotes::default();
        (read(tools, &mut layer_notes), layer_notes)
    })
}

fn join_layer<T>(layer: Layer<'_, T>, notes: &mut ProbeNotes) -> T {
    let (facts, layer_notes) = layer.join();
    notes.absorb(layer_notes);
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::command::fake_tool;
    use std::path::Path;

    fn tools_in(dir: &Path, timeout: Duration) -> Tools {
        Tools {
            dirs: vec![dir.to_path_buf()],
            timeout,
            ufw_timeout: timeout,
            etc: dir.join("etc"),
        }
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
