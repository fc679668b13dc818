//! nftables: `nft -j list ruleset` for the model, `nft -a list ruleset` for each rule's text.

use super::{ProbeNotes, Tools};
use crate::collect::command::run;
use crate::facts::{NftChain, NftRule, NftRuleset, NftSet, NftTable};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

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
/// The objects are taken one at a time from the text, and each rule's statements are kept
/// as JSON text, parsed again only while the rule is judged: a tree of 10,000 rules at
/// once would take tens of MB.
pub fn parse_json(text: &str) -> Result<NftRuleset, String> {
    // An empty ruleset prints nothing at all on some nft versions.
    if text.trim().is_empty() {
        return Ok(NftRuleset::default());
    }
    let mut ruleset = NftRuleset::default();
    let mut found = false;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer
        .deserialize_map(Document {
            found: &mut found,
            each: &mut |object| add_object(&mut ruleset, object),
        })
        .and_then(|()| deserializer.end())
        .map_err(|err| format!("not JSON: {err}"))?;
    if !found {
        return Err("no \"nftables\" array".into());
    }
    Ok(ruleset)
}

/// Adds one object of the document (a table, chain, set or rule) to the ruleset.
fn add_object(ruleset: &mut NftRuleset, mut object: Value) {
    if let Some(table) = object.get("table") {
        ruleset.tables.push(NftTable {
            family: string(table, "family"),
            name: string(table, "name"),
            chains: Vec::new(),
            sets: Vec::new(),
        });
    } else if let Some(chain) = object.get("chain") {
        let Some(table) = table_of(ruleset, chain) else {
            return;
        };
        table.chains.push(NftChain {
            name: string(chain, "name"),
            hook: optional_string(chain, "hook"),
            chain_type: optional_string(chain, "type"),
            priority: chain.get("prio").and_then(Value::as_i64),
            policy: optional_string(chain, "policy"),
            rules: Vec::new(),
        });
    } else if let Some((kind, set)) = ["set", "map"]
        .into_iter()
        .find_map(|kind| Some((kind, object.get(kind)?)))
    {
        // A map's elements are [key, value] pairs; verdict maps are looked up by name.
        let Some(table) = table_of(ruleset, set) else {
            return;
        };
        let name = string(set, "name");
        let elements = match object[kind].get_mut("elem").map(Value::take) {
            Some(Value::Array(elements)) => elements,
            Some(single) => vec![single],
            None => Vec::new(),
        };
        table.sets.push(NftSet { name, elements });
    } else if let Some(rule) = object.get("rule") {
        let chain_name = string(rule, "chain");
        let Some(chain) = table_of(ruleset, rule).and_then(|table| {
            table
                .chains
                .iter_mut()
                .find(|chain| chain.name == chain_name)
        }) else {
            return;
        };
        let handle = rule.get("handle").and_then(Value::as_u64).unwrap_or(0);
        let statements = match rule.get("expr") {
            Some(expr @ Value::Array(_)) => expr.to_string(),
            _ => "[]".to_string(),
        };
        chain.rules.push(NftRule {
            handle,
            text: None,
            expr: statements,
        });
    }
}

/// The document's visitor: each object of its "nftables" array is handed to `each` as it
/// is read, so the whole document never exists as one tree.
struct Document<'a> {
    found: &'a mut bool,
    each: &'a mut dyn FnMut(Value),
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an object with an \"nftables\" array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "nftables" {
                *self.found = true;
                map.next_value_seed(Objects(&mut *self.each))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct Objects<'a>(&'a mut dyn FnMut(Value));

impl<'de> DeserializeSeed<'de> for Objects<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Objects<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(object) = seq.next_element::<Value>()? {
            (self.0)(object);
        }
        Ok(())
    }
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

/// Gives each rule the text `nft -a list ruleset` prints for it, found by its handle
/// (unique within a table).
pub fn attach_text(ruleset: &mut NftRuleset, listing: &str) {
    let (tables, mut texts) = rule_texts(listing);
    texts.sort_unstable_by_key(|(table, handle, _)| (*table, *handle));
    for table in &mut ruleset.tables {
        let Some(at) = tables
            .iter()
            .position(|(family, name)| *family == table.family && *name == table.name)
        else {
            continue;
        };
        for rule in table.chains.iter_mut().flat_map(|chain| &mut chain.rules) {
            if let Ok(found) = texts
                .binary_search_by_key(&(at, rule.handle), |(table, handle, _)| (*table, *handle))
            {
                rule.text = Some(std::mem::take(&mut texts[found].2));
            }
        }
    }
}

/// A rule line of the text listing: the index of its table, its handle, its text.
type RuleText = (usize, u64, String);

/// The tables of the text listing, (family, name), and its rule lines. A rule with a long anonymous set spans several lines; its text
/// is joined.
fn rule_texts(listing: &str) -> (Vec<(String, String)>, Vec<RuleText>) {
    let mut tables = Vec::new();
    let mut texts = Vec::new();
    let mut in_chain = false;
    let mut pending = String::new();
    for raw in listing.lines() {
        let line = raw.trim();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["table", family, name, "{", ..] => {
                tables.push((family.to_string(), name.to_string()));
                in_chain = false;
            }
            ["chain", _, "{", ..] => {
                in_chain = true;
                pending.clear();
            }
            _ if line.starts_with('}') => {
                in_chain = false;
                pending.clear();
            }
            _ => {
                // Chain properties, not rules.
                if !in_chain
                    || tables.is_empty()
                    || line.ends_with(';')
                    || line.starts_with("comment \"")
                    || line.is_empty()
                {
                    continue;
                }
                match line.rsplit_once(" # handle ") {
                    Some((rule, handle)) => {
                        if let Ok(handle) = handle.trim().parse::<u64>() {
                            pending.push_str(rule.trim());
                            texts.push((tables.len() - 1, handle, std::mem::take(&mut pending)));
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
    (tables, texts)
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
        // Kept as text, the statements are still a JSON array in the verdict.
        let printed = serde_json::to_value(&chain.rules[1]).unwrap();
        assert_eq!(printed["expr"], serde_json::json!([{"drop": null}]));
        let read_back: NftRule = serde_json::from_value(printed).unwrap();
        assert_eq!(read_back.expr, r#"[{"drop":null}]"#);
    }

    #[test]
    fn empty_output_is_an_empty_ruleset_and_garbage_is_an_error() {
        assert!(parse_json("").unwrap().tables.is_empty());
        assert!(parse_json("Error: oops").is_err());
        assert!(parse_json("{\"x\": 1}").is_err());
        assert!(parse_json("{\"nftables\": {}}").is_err());
        assert!(parse_json("{\"nftables\": []} trailing").is_err());
    }
}
