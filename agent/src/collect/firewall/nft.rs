//! nftables: `nft -j list ruleset` for the model, `nft -a list ruleset` for each rule's text.

use super::{ProbeNotes, Tools};
use crate::collect::command::run;
use crate::facts::{NftChain, NftRule, NftRuleset, NftSet, NftTable};
use serde_json::Value;
use std::collections::HashMap;

/// The ruleset as `nft -j list ruleset` gives it; the rules' text is `rule_text`'s.
pub fn list(tools: &Tools, notes: &mut ProbeNotes) -> Option<NftRuleset> {
    let Some(nft) = tools.find("nft") else {
        notes.note("nft is not installed: no nftables ruleset to read");
        return None;
    };
    let json = match run(&nft, &["-j", "list", "ruleset"], tools.timeout) {
        Ok(output) if output.success() => output.stdout,
        Ok(output) => {
            notes.partial(format!(
                "nft -j list ruleset failed: {}",
                output.error_line()
            ));
            return None;
        }
        Err(err) => {
            notes.partial(err);
            return None;
        }
    };
    match parse_json(&json) {
        Ok(ruleset) => Some(ruleset),
        Err(err) => {
            notes.partial(format!("nft -j list ruleset: {err}"));
            None
        }
    }
}

/// `nft -a list ruleset`, which `attach_text` matches to the rules by handle.
pub fn rule_text(tools: &Tools, notes: &mut ProbeNotes) -> Option<String> {
    let nft = tools.find("nft")?;
    match run(&nft, &["-a", "list", "ruleset"], tools.timeout) {
        Ok(output) if output.success() => return Some(output.stdout),
        Ok(output) => notes.note(format!(
            "nft -a list ruleset failed ({}): rules are named by handle only",
            output.error_line()
        )),
        Err(err) => notes.note(format!("{err}: rules are named by handle only")),
    }
    None
}

/// The ruleset from libnftables JSON (`{"nftables": [{"table": ...}, {"chain": ...}, ...]}`).
pub fn parse_json(text: &str) -> Result<NftRuleset, String> {
    // An empty ruleset prints nothing at all on some nft versions.
    if text.trim().is_empty() {
        return Ok(NftRuleset::default());
    }
    let mut document: Value =
        serde_json::from_str(text).map_err(|err| format!("not JSON: {err}"))?;
    // Taken apart, not copied: a large ruleset's document is tens of MB.
    let Some(Value::Array(objects)) = document.get_mut("nftables").map(Value::take) else {
        return Err("no \"nftables\" array".into());
    };
    drop(document);
    let mut ruleset = NftRuleset::default();
    for mut object in objects {
        if let Some(table) = object.get("table") {
            ruleset.tables.push(NftTable {
                family: string(table, "family"),
                name: string(table, "name"),
                chains: Vec::new(),
                sets: Vec::new(),
            });
        } else if let Some(chain) = object.get("chain") {
            let Some(table) = table_of(&mut ruleset, chain) else {
                continue;
            };
            table.chains.push(NftChain {
                name: string(chain, "name"),
                hook: optional_string(chain, "hook"),
                chain_type: optional_string(chain, "type"),
                priority: chain.get("prio").and_then(Value::as_i64),
                policy: optional_string(chain, "policy"),
                rules: Vec::new(),
            });
        } else if let Some(set) = object.get("set") {
            let Some(table) = table_of(&mut ruleset, set) else {
                continue;
            };
            let name = string(set, "name");
            let elements = match object["set"].get_mut("elem").map(Value::take) {
                Some(Value::Array(elements)) => elements,
                Some(single) => vec![single],
                None => Vec::new(),
            };
            table.sets.push(NftSet { name, elements });
        } else if let Some(rule) = object.get("rule") {
            let chain_name = string(rule, "chain");
            let Some(chain) = table_of(&mut ruleset, rule).and_then(|table| {
                table
                    .chains
                    .iter_mut()
                    .find(|chain| chain.name == chain_name)
            }) else {
                continue;
            };
            let handle = rule.get("handle").and_then(Value::as_u64).unwrap_or(0);
            let expr = match object["rule"].get_mut("expr").map(Value::take) {
                Some(Value::Array(expr)) => expr,
                _ => Vec::new(),
            };
            chain.rules.push(NftRule {
                handle,
                text: None,
                expr,
            });
        }
    }
    Ok(ruleset)
}

fn string(object: &Value, key: &str) -> String {
    optional_string(object, key).unwrap_or_default()
}

fn optional_string(object: &Value, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The table a chain, set or rule object names by its "family" and "table" keys.
fn table_of<'a>(ruleset: &'a mut NftRuleset, object: &Value) -> Option<&'a mut NftTable> {
    let family = string(object, "family");
    let name = string(object, "table");
    ruleset
        .tables
        .iter_mut()
        .find(|table| table.family == family && table.name == name)
}

/// Gives each rule the text `nft -a list ruleset` prints for it, found by its handle.
pub fn attach_text(ruleset: &mut NftRuleset, listing: &str) {
    let texts = rule_texts(listing);
    for table in &mut ruleset.tables {
        for chain in &mut table.chains {
            for rule in &mut chain.rules {
                let key = (
                    table.family.clone(),
                    table.name.clone(),
                    chain.name.clone(),
                    rule.handle,
                );
                rule.text = texts.get(&key).cloned();
            }
        }
    }
}

type RuleKey = (String, String, String, u64);

/// Rule lines of the text listing, keyed by (family, table, chain, handle). A rule with a
/// long anonymous set spans several lines; its text is joined.
fn rule_texts(listing: &str) -> HashMap<RuleKey, String> {
    let mut texts = HashMap::new();
    let mut table: Option<(String, String)> = None;
    let mut chain: Option<String> = None;
    let mut pending = String::new();
    for raw in listing.lines() {
        let line = raw.trim();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["table", family, name, "{", ..] => {
                table = Some((family.to_string(), name.to_string()));
                chain = None;
            }
            ["chain", name, "{", ..] => {
                chain = Some(name.to_string());
                pending.clear();
            }
            _ if line.starts_with('}') => {
                chain = None;
                pending.clear();
            }
            _ => {
                let (Some((family, table_name)), Some(chain_name)) = (&table, &chain) else {
                    continue;
                };
                // Chain properties, not rules.
                if line.ends_with(';') || line.starts_with("comment \"") || line.is_empty() {
                    continue;
                }
                match line.rsplit_once(" # handle ") {
                    Some((rule, handle)) => {
                        if let Ok(handle) = handle.trim().parse::<u64>() {
                            pending.push_str(rule.trim());
                            let key = (
                                family.clone(),
                                table_name.clone(),
                                chain_name.clone(),
                                handle,
                            );
                            texts.insert(key, std::mem::take(&mut pending));
                        }
                        pending.clear();
                    }
                    None => {
                        pending.push_str(line);
                        pending.push(' ');
                    }
                }
            }
        }
    }
    texts
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "table inet filter { # handle 1\n\
\tset allowed { # handle 3\n\t\ttype inet_service\n\t\telements = { 2222, 8022 }\n\t}\n\n\
\tchain input { # handle 1\n\
\t\ttype filter hook input priority filter; policy drop;\n\
\t\tct state established,related accept # handle 4\n\
\t\tip saddr { 192.0.2.1, 192.0.2.2,\n\t\t\t   192.0.2.3 } drop # handle 5\n\
\t}\n}\n";

    const JSON: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
{"table": {"family": "inet", "name": "filter", "handle": 1}},
{"set": {"family": "inet", "name": "allowed", "table": "filter", "type": "inet_service", "handle": 3, "elem": [2222, 8022]}},
{"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
{"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 4, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}]}},
{"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 5, "expr": [{"drop": null}]}}]}"#;

    #[test]
    fn json_gives_tables_chains_sets_and_rules_with_their_text() {
        let mut ruleset = parse_json(JSON).unwrap();
        attach_text(&mut ruleset, LISTING);
        let table = &ruleset.tables[0];
        assert_eq!(
            (table.family.as_str(), table.name.as_str()),
            ("inet", "filter")
        );
        assert_eq!(table.sets[0].elements.len(), 2);
        let chain = &table.chains[0];
        assert_eq!(chain.hook.as_deref(), Some("input"));
        assert_eq!(chain.priority, Some(0));
        assert_eq!(chain.policy.as_deref(), Some("drop"));
        assert_eq!(chain.rules[0].handle, 4);
        assert_eq!(
            chain.rules[0].text.as_deref(),
            Some("ct state established,related accept")
        );
        assert_eq!(
            chain.rules[1].text.as_deref(),
            Some("ip saddr { 192.0.2.1, 192.0.2.2, 192.0.2.3 } drop")
        );
    }

    #[test]
    fn empty_output_is_an_empty_ruleset_and_garbage_is_an_error() {
        assert!(parse_json("").unwrap().tables.is_empty());
        assert!(parse_json("Error: oops").is_err());
        assert!(parse_json("{\"x\": 1}").is_err());
    }
}
