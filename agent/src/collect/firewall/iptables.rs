//! iptables and ip6tables, as `*-save` prints them. Both backends are read: a Debian or
//! RHEL machine uses nf_tables (`iptables-nft-save`), older ones and some images the legacy
//! x_tables (`iptables-legacy-save`); the kernel applies both when both have rules.

use super::{ProbeNotes, Tools};
use crate::collect::command::run;
use crate::facts::{
    IpFamily, IptablesChain, IptablesRule, IptablesRuleset, IptablesTable, NftRuleset,
};
use std::path::Path;

/// The save tools per family: each backend's own, else the plain one (whichever backend
/// the alternatives system points it at), with the nftables family iptables-nft writes to
/// and the /proc/net file that lists the legacy backend's tables.
const SAVE_TOOLS: &[SaveTools] = &[
    SaveTools {
        family: IpFamily::Ipv4,
        nft: "iptables-nft-save",
        legacy: "iptables-legacy-save",
        plain: "iptables-save",
        nft_family: "ip",
        legacy_tables: "ip_tables_names",
    },
    SaveTools {
        family: IpFamily::Ipv6,
        nft: "ip6tables-nft-save",
        legacy: "ip6tables-legacy-save",
        plain: "ip6tables-save",
        nft_family: "ip6",
        legacy_tables: "ip6_tables_names",
    },
];

struct SaveTools {
    family: IpFamily,
    nft: &'static str,
    legacy: &'static str,
    plain: &'static str,
    nft_family: &'static str,
    legacy_tables: &'static str,
}

/// The only tables iptables-nft creates or saves (xtables' builtin table list).
const XTABLES_TABLES: &[&str] = &["filter", "nat", "mangle", "raw", "security"];

/// Saves each family's rules from both backends. A backend that holds no table is not
/// asked, for each save is a program start: the nftables ruleset, when nft could list
/// it, tells whether iptables-nft has any; /proc/net lists the legacy tables in
/// this network namespace, as iptables-legacy-save itself reads them.
pub fn collect(
    tools: &Tools,
    nftables: Option<&NftRuleset>,
    notes: &mut ProbeNotes,
) -> Vec<IptablesRuleset> {
    let mut rulesets = Vec::new();
    for save_tools in SAVE_TOOLS {
        let found: Vec<&str> = [save_tools.nft, save_tools.legacy]
            .into_iter()
            .filter(|name| tools.find(name).is_some())
            .collect();
        let asked: Vec<&str> = if found.is_empty() {
            if tools.find(save_tools.plain).is_none() {
                notes.note(format!("{} is not installed", save_tools.plain));
            }
            vec![save_tools.plain]
        } else {
            found
                .into_iter()
                .filter(|name| {
                    if *name == save_tools.nft {
                        nft_holds_xtables(nftables, save_tools.nft_family)
                    } else {
                        legacy_holds_tables(&tools.proc_net, save_tools.legacy_tables)
                    }
                })
                .collect()
        };
        for name in asked {
            if let Some(ruleset) = save(tools, name, save_tools.family, notes) {
                rulesets.push(ruleset);
            }
        }
    }
    rulesets
}

fn nft_holds_xtables(nftables: Option<&NftRuleset>, family: &str) -> bool {
    nftables.is_none_or(|ruleset| {
        ruleset
            .tables
            .iter()
            .any(|table| table.family == family && XTABLES_TABLES.contains(&table.name.as_str()))
    })
}

/// Unknown when /proc/net cannot be read: then the tool is asked.
fn legacy_holds_tables(proc_net: &Path, names_file: &str) -> bool {
    if !proc_net.is_dir() {
        return true;
    }
    std::fs::read(proc_net.join(names_file))
        .is_ok_and(|names| names.iter().any(|byte| !byte.is_ascii_whitespace()))
}

fn save(
    tools: &Tools,
    name: &str,
    family: IpFamily,
    notes: &mut ProbeNotes,
) -> Option<IptablesRuleset> {
    let path = tools.find(name)?;
    match run(&path, &[], tools.timeout) {
        Ok(output) if output.success() => {
            let ruleset = parse_save(name, family, &output.stdout);
            let rules: usize = ruleset.tables.iter().map(|table| table.rules.len()).sum();
            if rules > 0 {
                notes.note(format!(
                    "{name}: {rules} rules in the {} backend",
                    ruleset.backend.as_deref().unwrap_or("unknown")
                ));
            }
            Some(ruleset)
        }
        Ok(output) => {
            notes.partial(format!("{name} failed: {}", output.error_line()));
            None
        }
        Err(err) => {
            notes.partial(err);
            None
        }
    }
}

/// Parses `iptables-save` output: `*table`, `:CHAIN POLICY [p:b]`, `-A CHAIN ...`, `COMMIT`.
pub fn parse_save(command: &str, family: IpFamily, text: &str) -> IptablesRuleset {
    let mut ruleset = IptablesRuleset {
        command: command.to_string(),
        family,
        backend: None,
        tables: Vec::new(),
    };
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix("# Generated by") {
            ruleset.backend = Some(backend_of(comment));
        } else if let Some(name) = line.strip_prefix('*') {
            ruleset.tables.push(IptablesTable {
                name: name.to_string(),
                chains: Vec::new(),
                rules: Vec::new(),
            });
        } else if let Some(declaration) = line.strip_prefix(':') {
            let mut words = declaration.split_whitespace();
            if let (Some(table), Some(name)) = (ruleset.tables.last_mut(), words.next()) {
                table.chains.push(IptablesChain {
                    name: name.to_string(),
                    policy: words
                        .next()
                        .filter(|policy| *policy != "-")
                        .map(str::to_string),
                });
            }
        } else if let Some(rule) = line.strip_prefix("-A ") {
            if let (Some(table), Some(chain)) =
                (ruleset.tables.last_mut(), rule.split_whitespace().next())
            {
                table.rules.push(IptablesRule {
                    chain: chain.to_string(),
                    line: index as u32 + 1,
                    text: line.to_string(),
                });
            }
        }
    }
    ruleset
}

/// "iptables-nft-save v1.8.9 (nf_tables) on ..." → "nf_tables". The legacy tools print no
/// backend: "iptables-save v1.8.9 on ...".
fn backend_of(header: &str) -> String {
    header
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map_or_else(|| "legacy".to_string(), |(backend, _)| backend.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_output_gives_policies_rules_and_line_numbers() {
        let text =
            "# Generated by iptables-nft-save v1.8.9 (nf_tables) on Tue Nov 24 07:03:12 2026\n\
*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:sshg - [0:0]\n\
-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j DROP\nCOMMIT\n";
        let ruleset = parse_save("iptables-nft-save", IpFamily::Ipv4, text);
        assert_eq!(ruleset.backend.as_deref(), Some("nf_tables"));
        let filter = &ruleset.tables[0];
        assert_eq!(filter.name, "filter");
        assert_eq!(filter.chains[0].policy.as_deref(), Some("DROP"));
        assert_eq!(filter.chains[2].policy, None);
        assert_eq!(filter.rules[1].line, 7);
        assert_eq!(filter.rules[1].chain, "INPUT");
        assert_eq!(
            filter.rules[1].text,
            "-A INPUT -p tcp -m tcp --dport 22 -j DROP"
        );
        let legacy = parse_save(
            "iptables-legacy-save",
            IpFamily::Ipv4,
            "# Generated by iptables-save v1.8.9 on Tue Nov 24 07:10:03 2026\n*filter\n",
        );
        assert_eq!(legacy.backend.as_deref(), Some("legacy"));
    }
}
