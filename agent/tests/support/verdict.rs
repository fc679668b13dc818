//! Reading the real binary's JSON verdict (`--format json`): its findings by id or
//! family, the one finding a case is about and its fix, and the published schema every
//! verdict must match.

use serde_json::Value;

fn findings(verdict: &Value) -> &Vec<Value> {
    verdict["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings array: {verdict:#}"))
}

/// The ids of every finding, in the verdict's order.
pub fn ids(verdict: &Value) -> Vec<&str> {
    findings(verdict)
        .iter()
        .map(|finding| finding["id"].as_str().unwrap())
        .collect()
}

/// The ids of the findings whose id starts with one of `prefixes` ("SSH-AKF", ...).
pub fn ids_in_families(verdict: &Value, prefixes: &[&str]) -> Vec<String> {
    ids(verdict)
        .into_iter()
        .filter(|id| prefixes.iter().any(|prefix| id.starts_with(prefix)))
        .map(String::from)
        .collect()
}

/// The ids of the findings at warning or worse.
pub fn problems(verdict: &Value) -> Vec<&str> {
    findings(verdict)
        .iter()
        .filter(|finding| finding["severity"] != "info")
        .map(|finding| finding["id"].as_str().unwrap())
        .collect()
}

/// The findings with this rule id.
pub fn findings_with<'v>(verdict: &'v Value, id: &str) -> Vec<&'v Value> {
    findings(verdict)
        .iter()
        .filter(|finding| finding["id"] == id)
        .collect()
}

/// The one finding with this id.
pub fn only<'v>(verdict: &'v Value, id: &str) -> &'v Value {
    let found = findings_with(verdict, id);
    assert_eq!(found.len(), 1, "expected one {id}: {verdict:#}");
    found[0]
}

/// A finding's first guest command: the fix.
pub fn first_command(finding: &Value) -> &str {
    finding["remediation"]["guest"][0].as_str().unwrap()
}

/// The published JSON schema of the verdict, compiled.
pub fn schema() -> jsonschema::Validator {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/verdict.schema.json"
    ));
    jsonschema::validator_for(&serde_json::from_str(text).unwrap()).expect("schema compiles")
}

/// Asserts that `verdict` matches the published schema, naming every violation.
pub fn assert_matches_schema(verdict: &Value) {
    let errors: Vec<String> = schema()
        .iter_errors(verdict)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// What a verdict must never carry: password hashes (crypt's `$id$` prefixes), private
/// key material (PEM armor, not sshd's "UNPROTECTED PRIVATE KEY FILE" warning), bearer
/// tokens (a JWT's header).
const SECRET_MARKERS: &[&str] = &[
    "$1$",
    "$5$",
    "$6$",
    "$y$",
    "$gy$",
    "$2b$",
    "$2y$",
    "PRIVATE KEY-----",
    "eyJhbGci",
    "eyJ0eXAi",
];

/// Fails when `text` (a verdict, or facts) carries a secret.
pub fn assert_no_secrets(text: &str) {
    for marker in SECRET_MARKERS {
        assert!(!text.contains(marker), "a verdict carries {marker:?}");
    }
}
