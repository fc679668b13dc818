//! PAM, as sshd runs it for a key login (UsePAM yes): once the key is accepted, the
//! account stack decides whether the user may log in at all, and the session stack must
//! open before the shell runs. Neither shows in the live key query (sshd answers it before
//! PAM runs), so a stack that refuses gives "Accepted publickey" and then nothing.
//!
//! Each stack is run as Linux-PAM runs it (`dispatch`) over what each module returns for
//! the user (`modules`). Modules the facts cannot judge are tried both ways: a stack that
//! fails whatever they return refuses for certain (critical); one that fails when they
//! all succeed but passes otherwise is odd enough to warn about.

mod dispatch;
mod modules;

use super::{comment_out, Draft, RuleId};
use crate::facts::{Facts, PamLine};
use modules::{predict, Prediction, Subject};

/// Bound on the modules tried both ways (2^n runs of a stack).
const MAX_UNKNOWN: usize = 8;

pub fn check(facts: &Facts, findings: &mut Vec<Draft>) {
    if facts.sshd.binary.is_none() {
        return;
    }
    for user in &facts.auth.users {
        let Some(account) = &user.account else {
            continue;
        };
        if !super::auth::expects_login(user) || user.settings.first("usepam") != Some("yes") {
            continue;
        }
        let clients = super::clients::recent_clients(facts, &user.name);
        for (stage, stack) in [
            ("account", &facts.pam.account),
            ("session", &facts.pam.session),
        ] {
            if stack.is_empty() {
                continue; // Not read (no PAM configuration here): nothing to judge.
            }
            let subject = Subject {
                user,
                account,
                facts,
                clients: &clients,
                stage,
            };
            if let Some(finding) = judge(stack, &subject, facts) {
                findings.push(finding);
                break; // A refused account never reaches the session stack.
            }
        }
    }
}

/// The stack's verdict for one user: a finding when it refuses.
fn judge(stack: &[PamLine], subject: &Subject, facts: &Facts) -> Option<Draft> {
    let predictions: Vec<Prediction> = stack.iter().map(|line| predict(line, subject)).collect();
    let unknown: Vec<usize> = (0..stack.len())
        .filter(|index| predictions[*index] == Prediction::Unknown && !stack[*index].substack)
        .collect();
    let run = |failing: &[usize]| {
        dispatch::dispatch(stack, |index| match &predictions[index] {
            Prediction::Known { value, .. } => value,
            Prediction::Unknown if failing.contains(&index) => dispatch::PERM_DENIED,
            Prediction::Unknown => dispatch::SUCCESS,
        })
    };
    let nominal = run(&[]);
    if nominal.granted {
        return None;
    }
    // Certain when no result of the unknown modules lets the user through.
    let certain = unknown.len() <= MAX_UNKNOWN
        && (1u32..1 << unknown.len()).all(|mask| {
            let failing: Vec<usize> = unknown
                .iter()
                .enumerate()
                .filter(|(bit, _)| mask & (1 << bit) != 0)
                .map(|(_, index)| *index)
                .collect();
            !run(&failing).granted
        });
    let user = &subject.user.name;
    let Some(culprit) = nominal
        .decided_by
        .map(|index| (&stack[index], &predictions[index]))
    else {
        // Nothing granted: every module ignored the user.
        return Some(
            Draft::new(RuleId::PamGrantsNothing)
                .var("user", user.clone())
                .var("stage", subject.stage)
                .var("service_file", service_file(facts))
                .evidence(
                    format!("no module of the {} stack grants {user}", subject.stage),
                    Some(service_file(facts)),
                ),
        );
    };
    let (line, prediction) = culprit;
    if line.module_name() == "pam_nologin.so" {
        return None; // The nologin rule names the file and its fix.
    }
    Some(refusal(line, prediction, certain, subject, facts))
}

/// The finding for a stack that `line` made fail.
fn refusal(
    line: &PamLine,
    prediction: &Prediction,
    certain: bool,
    subject: &Subject,
    facts: &Facts,
) -> Draft {
    let user = &subject.user.name;
    let name = line.module_name();
    let because = match prediction {
        Prediction::Known { because, .. } => because.clone(),
        Prediction::Unknown => None,
    };
    let why = reason(line, name, because.as_deref());
    let rule = match (subject.stage, certain) {
        ("account", true) => RuleId::PamAccountRefuses,
        ("session", true) => RuleId::PamSessionFails,
        _ => RuleId::PamMayRefuse,
    };
    let (fix, commented_out) = fix_for(line, because.as_deref(), user);
    let mut finding = Draft::new(rule);
    // The line the catalogue's actions comment out, where that is the fix.
    if let Some((file, number)) = commented_out.as_deref().and_then(super::located) {
        finding = finding.var("file", file).var("line", number.to_string());
    }
    let mut finding = finding
        .var("user", user.clone())
        .var("stage", subject.stage)
        .var("module", name)
        .var("source", line.source.clone())
        .var(
            "source_file",
            line.source
                .rsplit_once(':')
                .map_or(&*line.source, |(file, _)| file),
        )
        .var("why", why)
        .var("fix", fix)
        .evidence(line.text.clone(), Some(line.source.clone()));
    if let Some(rule_source) = because.filter(|source| source.contains(':')) {
        let rule_text = access_rule_text(facts, &rule_source).unwrap_or_default();
        finding = finding.evidence(rule_text, Some(rule_source));
        // pam_access judged the addresses the user's clients came from.
        for (address, source) in subject.clients {
            finding = finding.evidence(
                format!("a client of {user} at {address}"),
                Some(source.clone()),
            );
        }
    }
    finding
}

fn service_file(facts: &Facts) -> String {
    facts
        .pam
        .service_file
        .clone()
        .unwrap_or_else(|| "/etc/pam.d/other".into())
}

/// What the culprit does, in a few words.
fn reason(line: &PamLine, name: &str, because: Option<&str>) -> String {
    if let Some(why) = &line.must_fail {
        return format!("PAM cannot use this line ({why}), so it always fails");
    }
    if line.module_exists == Some(false) {
        return format!("{name} is not installed, so the line always fails");
    }
    match (name, because) {
        ("pam_deny.so", _) => "pam_deny refuses everyone".into(),
        ("pam_access.so", Some(rule)) => format!("pam_access refuses by the rule at {rule}"),
        ("pam_listfile.so", Some(list)) => format!("pam_listfile refuses by the list {list}"),
        ("pam_succeed_if.so", _) => "pam_succeed_if's condition does not hold".into(),
        _ => format!("{name} fails"),
    }
}

/// The edit that lets the user through: comment out the rule or line that refuses, or
/// edit the list it reads; and the "file:line" commented out, if that is the edit. PAM
/// reads its files for every login, so nothing needs a restart.
fn fix_for(line: &PamLine, because: Option<&str>, user: &str) -> (String, Option<String>) {
    if let Some(fix) = because.and_then(comment_out) {
        return (fix, because.map(String::from));
    }
    match (because, line.argument("sense")) {
        (Some(list), Some("allow")) => return (format!("echo {user} >> {list}"), None),
        // No "$" in it, so that the console's wrapping can cut it inside quotes; cat
        // back into the list keeps its owner and mode.
        (Some(list), Some("deny")) => {
            return (
                format!(
                    "grep -vx {user} {list} > /run/sshdoctor.list; cat /run/sshdoctor.list > {list}"
                ),
                None,
            )
        }
        _ => {}
    }
    match comment_out(&line.source) {
        Some(fix) => (fix, Some(line.source.clone())),
        None => (format!("# edit {}", line.source), None),
    }
}

fn access_rule_text(facts: &Facts, source: &str) -> Option<String> {
    facts
        .pam
        .access_files
        .iter()
        .flat_map(|file| file.rules.iter().flatten())
        .find(|rule| rule.source == source)
        .map(|rule| {
            let sign = if rule.allow { "+" } else { "-" };
            format!("{sign}:{}:{}", rule.users, rule.origins)
        })
}
