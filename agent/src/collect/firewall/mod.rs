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
    /// This network namespace's /proc/net, which lists the legacy iptables tables.
    pub proc_net: PathBuf,
}

impl Tools {
    /// The tools of this machine: PATH, then the usual sbin and bin directories.
    pub fn system() -> Tools {
        Tools {
            dirs: tool_dirs(),
            timeout: Duration::from_secs(4),
            ufw_timeout: Duration::from_secs(5),
            etc: "/etc".into(),
            proc_net: "/proc/net".into(),
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
/// layers are read at once, each waiting on its own programs; iptables waits only for the
/// nftables listing, which says whether iptables-nft has any tables to save.
pub fn collect_with(tools: &Tools, notes: &mut ProbeNotes) -> FirewallFacts {
    std::thread::scope(|scope| {
        let firewalld = read_layer(scope, |notes| firewalld::collect(tools, notes));
        let ufw = read_layer(scope, |notes| ufw::collect(tools, notes));
        let mut nftables = nft::list(tools, notes);
        let has_rules = nftables.as_ref().is_some_and(|ruleset| {
            ruleset
                .tables
                .iter()
                .any(|table| table.chains.iter().any(|chain| !chain.rules.is_empty()))
        });
        let rule_text = has_rules.then(|| read_layer(scope, |notes| nft::rule_text(tools, notes)));
        let iptables = iptables::collect(tools, nftables.as_ref(), notes);
        if let (Some(ruleset), Some(text)) = (nftables.as_mut(), rule_text) {
            if let Some(text) = join_layer(text, notes) {
                nft::attach_text(ruleset, &text);
            }
        }
        FirewallFacts {
            nftables,
            iptables,
            firewalld: join_layer(firewalld, notes),
            ufw: join_layer(ufw, notes),
        }
    })
}

type Layer<'scope, T> = worker::Beside<'scope, (T, ProbeNotes)>;

/// Reads one layer on its own thread, with notes of its own.
fn read_layer<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    read: impl FnOnce(&mut ProbeNotes) -> T + Send + 'scope,
) -> Layer<'scope, T> {
    worker::beside(scope, move || {
        let mut layer_notes = ProbeNotes::default();
        (read(&mut layer_notes), layer_notes)
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
            proc_net: dir.join("proc-net"),
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

    #[test]
    fn a_backend_without_tables_is_not_asked() {
        let dir = tempfile::tempdir().unwrap();
        let asked = dir.path().join("asked");
        let save = |name: &str| {
            fake_tool(
                dir.path(),
                name,
                &format!("echo {name} >> {}; echo '*filter'", asked.display()),
            )
        };
        for name in [
            "iptables-nft-save",
            "iptables-legacy-save",
            "ip6tables-nft-save",
            "ip6tables-legacy-save",
        ] {
            save(name);
        }
        // nft holds an inet table (not iptables-nft's) and iptables-nft's ip6 filter;
        // the legacy backend has an IPv4 table only.
        fake_tool(
            dir.path(),
            "nft",
            r#"echo '{"nftables": [{"table": {"family": "inet", "name": "filter", "handle": 1}}, {"table": {"family": "ip6", "name": "filter", "handle": 2}}]}'"#,
        );
        std::fs::create_dir(dir.path().join("proc-net")).unwrap();
        std::fs::write(dir.path().join("proc-net/ip_tables_names"), "filter\n").unwrap();
        std::fs::write(dir.path().join("proc-net/ip6_tables_names"), "").unwrap();
        let mut notes = ProbeNotes::default();
        let facts = collect_with(&tools_in(dir.path(), Duration::from_secs(5)), &mut notes);
        let saved: Vec<&str> = facts
            .iptables
            .iter()
            .map(|set| set.command.as_str())
            .collect();
        assert_eq!(saved, ["iptables-legacy-save", "ip6tables-nft-save"]);
        let asked = std::fs::read_to_string(asked).unwrap();
        assert_eq!(asked.lines().count(), 2, "{asked}");

        // When nft cannot list, iptables-nft-save is asked, whatever nft would have said.
        fake_tool(dir.path(), "nft", "exit 1");
        let facts = collect_with(&tools_in(dir.path(), Duration::from_secs(5)), &mut notes);
        let saved: Vec<&str> = facts
            .iptables
            .iter()
            .map(|set| set.command.as_str())
            .collect();
        assert_eq!(
            saved,
            [
                "iptables-nft-save",
                "iptables-legacy-save",
                "ip6tables-nft-save"
            ]
        );
    }
}
