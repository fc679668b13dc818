//! The rules replayed on facts a real VM gave in the lab (agent/tests/fixtures/lab/, made
//! by tests/lab/capture_facts.py from scenarios the lab passed): with each break in
//! place, the rules must still find exactly the ids and status that the VM's verdict
//! had, which a real ssh login confirmed. One file a scenario, one place to see what a
//! rule does on a real machine.

use serde_json::Value;
use sshdoctor::facts::Facts;
use sshdoctor::rules::evaluate;
use sshdoctor::verdict::Verdict;
use std::path::PathBuf;

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lab");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn real_vms_facts_give_the_verdicts_the_lab_proved() {
    let paths = fixtures();
    assert!(paths.len() >= 10, "{paths:?}");
    let mut wrong = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        crate::support::verdict::assert_no_secrets(&text);
        let fixture: Value =
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let facts: Facts = serde_json::from_value(fixture["facts"].clone())
            .unwrap_or_else(|err| panic!("{}: facts: {err}", path.display()));
        let findings = evaluate(&facts);
        let mut ids: Vec<&str> = findings.iter().map(|finding| finding.id).collect();
        ids.sort_unstable();
        let verdict = Verdict::new(facts, Vec::new(), findings.clone(), 0.0);
        let expected: Vec<&str> = fixture["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap())
            .collect();
        if ids != expected || verdict.status.as_str() != fixture["status"] {
            wrong.push(format!(
                "{}: {} {ids:?}, the lab's VM: {} {expected:?} (login: {})",
                fixture["scenario"],
                verdict.status.as_str(),
                fixture["status"],
                fixture["login"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
