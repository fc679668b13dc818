//! Turns the rule catalogue (`rules/*.toml` at the workspace root) into Rust: a `RuleId`
//! enum with one variant per rule and a static `CATALOGUE`. The binary then carries the
//! text without a TOML parser, and a rule that code names but the catalogue lacks (or the
//! other way round) is a compile error, not a runtime surprise.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    rule: Vec<RuleEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    id: String,
    key: String,
    severity: String,
    title: String,
    explanation: String,
    evidence: Vec<String>,
    /// The repair as actions (`do` names the kind, the rest are its arguments, and
    /// `optional = "true"` lets an action drop out when the finding leaves one of its
    /// placeholders empty, `one_of = "NAME"` makes the actions of group NAME
    /// alternatives of which the filled ones stay, `when = "{var}"` keeps an action only
    /// when the finding sets var); they print before the `guest` lines and are what
    /// `sshdoctor fix` performs.
    #[serde(default)]
    fix: Vec<BTreeMap<String, String>>,
    /// Why a rule without `fix` stays a step for a person: one of MANUAL_REASONS.
    #[serde(default)]
    manual: Option<String>,
    #[serde(default)]
    guest: Vec<String>,
    #[serde(default)]
    azure: Vec<String>,
    #[serde(default)]
    aws: Vec<String>,
    #[serde(default)]
    gcp: Vec<String>,
    guide: String,
}

fn main() {
    embed_commit();
    let rules_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    println!("cargo:rerun-if-changed={}", rules_dir.display());
    let mut entries = Vec::new();
    for path in catalogue_files(&rules_dir) {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
        let file: CatalogueFile =
            toml::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        entries.extend(file.rule);
    }
    validate(&entries);
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("catalogue.rs");
    std::fs::write(&out, generate(&entries)).expect("writing catalogue.rs");
}

fn catalogue_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

/// The reasons a repair stays manual (their text is ManualReason's, in rules/mod.rs).
const MANUAL_REASONS: &[&str] = &[
    "key", "decision", "package", "network", "cause", "data", "history", "outside", "boot",
];

fn validate(entries: &[RuleEntry]) {
    let mut ids = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for rule in entries {
        match (&rule.manual, rule.fix.is_empty(), rule.severity.as_str()) {
            (Some(reason), true, _) if MANUAL_REASONS.contains(&reason.as_str()) => {}
            (Some(reason), true, _) => panic!(
                "{}: manual = {reason:?} is not one of {MANUAL_REASONS:?}",
                rule.id
            ),
            (Some(_), false, _) => panic!("{}: a rule with fix actions is not manual", rule.id),
            (None, true, "critical" | "warning") => {
                panic!("{}: no fix actions, and no manual = \"why\"", rule.id)
            }
            _ => {}
        }
        let id_ok = rule.id.len() == 11
            && rule.id.starts_with("SSH-")
            && rule.id[4..7].chars().all(|c| c.is_ascii_uppercase())
            && &rule.id[7..8] == "-"
            && rule.id[8..].chars().all(|c| c.is_ascii_digit());
        assert!(
            id_ok,
            "rule id {:?} is not of the form SSH-XXX-000",
            rule.id
        );
        assert!(ids.insert(rule.id.clone()), "duplicate rule id {}", rule.id);
        assert!(
            rule.key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "rule key {:?} must be snake_case",
            rule.key
        );
        assert!(
            keys.insert(rule.key.clone()),
            "duplicate rule key {}",
            rule.key
        );
        assert!(
            matches!(rule.severity.as_str(), "critical" | "warning" | "info"),
            "{}: severity must be critical, warning or info",
            rule.id
        );
        assert!(
            !rule.title.is_empty() && !rule.explanation.is_empty(),
            "{}: empty text",
            rule.id
        );
        assert!(
            rule.fix.iter().all(|action| action.contains_key("do")),
            "{}: every fix action names what it does with `do`",
            rule.id
        );
    }
}

fn camel(key: &str) -> String {
    key.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn string_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
    format!("&[{}]", quoted.join(", "))
}

/// `&[ActionTemplate { kind: "set_mode", args: &[("mode", "0600"), ...] }, ...]`.
fn action_list(actions: &[BTreeMap<String, String>]) -> String {
    let templates: Vec<String> = actions
        .iter()
        .map(|action| {
            let args: Vec<String> = action
                .iter()
                .filter(|(key, _)| *key != "do")
                .map(|(key, value)| format!("({key:?}, {value:?})"))
                .collect();
            format!(
                "ActionTemplate {{ kind: {:?}, args: &[{}] }}",
                action["do"],
                args.join(", ")
            )
        })
        .collect();
    format!("&[{}]", templates.join(", "))
}

fn generate(entries: &[RuleEntry]) -> String {
    let mut code = String::new();
    code.push_str(
        "/// Every rule in the catalogue, one variant each (generated from rules/*.toml).\n",
    );
    code.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]\n");
    code.push_str("pub enum RuleId {\n");
    for rule in entries {
        writeln!(
            code,
            "    /// {}: {}",
            rule.id,
            rule.title.replace('\n', " ")
        )
        .unwrap();
        writeln!(code, "    {},", camel(&rule.key)).unwrap();
    }
    code.push_str("}\n\n");
    code.push_str("/// The catalogue, sorted by id, indexed by `RuleId as usize`.\n");
    code.push_str("pub static CATALOGUE: &[RuleDef] = &[\n");
    for rule in entries {
        let severity = match rule.severity.as_str() {
            "critical" => "Severity::Critical",
            "warning" => "Severity::Warning",
            _ => "Severity::Info",
        };
        writeln!(
            code,
            "    RuleDef {{ id: {:?}, key: {:?}, severity: {severity}, title: {:?}, explanation: {:?}, evidence: {}, fix: {}, manual: {}, guest: {}, azure: {}, aws: {}, gcp: {}, guide: {:?} }},",
            rule.id,
            rule.key,
            rule.title,
            rule.explanation.trim(),
            string_list(&rule.evidence),
            action_list(&rule.fix),
            rule.manual
                .as_deref()
                .map_or("None".to_string(), |reason| format!("Some(ManualReason::{})", camel(reason))),
            string_list(&rule.guest),
            string_list(&rule.azure),
            string_list(&rule.aws),
            string_list(&rule.gcp),
            rule.guide
        )
        .unwrap();
    }
    code.push_str("];\n");
    code
}

/// `sshdoctor --version` names the commit it was built from.
fn embed_commit() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SSHDOCTOR_COMMIT={commit}");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
}
