//! Will sshd accept its configuration?

use super::ssh_view::SshView;
use super::{Draft, RuleId};
use crate::facts::{Facts, SshdConfigFacts, SshdRun};
use std::path::Path;

pub fn check(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    let config = &facts.config;
    if config.path.is_empty() {
        return; // The config probe did not run.
    }
    if !config.readable {
        let reason = config
            .read_error
            .clone()
            .unwrap_or_else(|| "unreadable".into());
        findings.push(
            Draft::new(RuleId::ConfigMissing)
                .var("file", config.path.clone())
                .var("reason", reason.clone())
                .evidence(reason, Some(config.path.clone())),
        );
        return;
    }
    check_syntax(facts, view, findings);
    for problem in config.problems.iter().filter(|problem| !problem.fatal) {
        findings.push(
            Draft::new(RuleId::ConfigProblem)
                .var("message", problem.message.clone())
                .var("file", problem.file.clone())
                .var("line", problem.line.unwrap_or(1).to_string())
                .evidence(
                    problem.message.clone(),
                    Some(problem_location(&problem.file, problem.line)),
                ),
        );
    }
    check_dropins(config, findings);
    if !config.discrepancies.is_empty() {
        let mut finding = Draft::new(RuleId::ParserDisagrees);
        for difference in &config.discrepancies {
            finding = finding.evidence(difference.clone(), None);
        }
        findings.push(finding);
    }
}

/// sshd's own verdict on its config (`sshd -T` performs every check `sshd -t` does);
/// without sshd to ask, the parser's fatal problems stand in.
fn check_syntax(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    let config = &facts.config;
    // A run that failed for the machine's sake (no host keys, no /run/sshd, not root)
    // said nothing about the config: the parser stands in, and the prereq rules report
    // the machine's problem.
    let judged = config
        .syntax_check
        .as_ref()
        .filter(|run| !run.timed_out && run.exit_code.is_some() && !run.environment_problem);
    match judged {
        Some(run) if run.exit_code != Some(0) => findings.push(sshd_refused(facts, view, run)),
        Some(_) => {}
        None => {
            if let Some(problem) = config.problems.iter().find(|problem| problem.fatal) {
                findings.push(
                    Draft::new(RuleId::ConfigSyntaxError)
                        .var("error", problem.message.clone())
                        .var("file", problem.file.clone())
                        .var("line", problem.line.unwrap_or(1).to_string())
                        .evidence(
                            format!(
                                "sshdoctor's parser (sshd -t could not run): {}",
                                problem.message
                            ),
                            Some(problem_location(&problem.file, problem.line)),
                        ),
                );
            }
        }
    }
}

/// The config sshd refuses, fixed at the line it names: commented out, checked, and sshd
/// restarted; without a line, the check shows the error.
fn sshd_refused(facts: &Facts, view: &SshView, run: &SshdRun) -> Draft {
    let error = run
        .error
        .clone()
        .unwrap_or_else(|| run.stderr.trim().to_string());
    let source = match (&run.error_file, run.error_line) {
        (Some(file), Some(line)) => Some(format!("{file}:{line}")),
        (Some(file), None) => Some(file.clone()),
        _ => None,
    };
    let test = super::sshd_test(facts);
    let fix = source.as_deref().and_then(super::comment_out).map(|edit| {
        format!(
            "{edit} && {test} && systemctl restart {}",
            view.unit_name(facts)
        )
    });
    Draft::new(RuleId::ConfigSyntaxError)
        .var("error", error.clone())
        .var("fix", fix.unwrap_or(test))
        .var(
            "file",
            run.error_file
                .clone()
                .unwrap_or_else(|| facts.config.path.clone()),
        )
        .var(
            "line",
            run.error_line.map_or("1".into(), |line| line.to_string()),
        )
        .evidence(format!("{}: {error}", run.command.join(" ")), source)
}

/// Drop-ins that no Include reads: the settings there never reach sshd.
fn check_dropins(config: &SshdConfigFacts, findings: &mut Vec<Draft>) {
    let Some(first) = config.ignored_dropins.first() else {
        return;
    };
    let dir = Path::new(first)
        .parent()
        .map_or_else(String::new, |dir| dir.display().to_string());
    let mut finding = Draft::new(RuleId::DropinsIgnored)
        .var("count", config.ignored_dropins.len().to_string())
        .var("dir", dir)
        .var("file", config.path.clone());
    for dropin in &config.ignored_dropins {
        finding = finding.evidence("no Include reads it", Some(dropin.clone()));
    }
    finding = finding.evidence(format!("sshd reads {}", config.files.join(", ")), None);
    if let Some(backup) = &config.vmaccess_backup {
        finding = finding.evidence(
            format!(
                "Azure's Reset SSH configuration replaced {} and kept the old one: diff {backup} {}",
                config.path, config.path
            ),
            Some(backup.clone()),
        );
    }
    findings.push(finding);
}

fn problem_location(file: &str, line: Option<u32>) -> String {
    match line {
        Some(line) => format!("{file}:{line}"),
        None => file.to_string(),
    }
}
