//! Will sshd accept its configuration?

use super::{Draft, RuleId};
use crate::facts::{Facts, SshdConfigFacts, SshdRun};
use std::path::Path;

pub fn check(facts: &Facts, view: &super::SshView, findings: &mut Vec<Draft>) {
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
    check_syntax(facts, findings);
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
    check_vendor_config(facts, findings);
    check_shadowed(facts, view, findings);
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
fn check_syntax(facts: &Facts, findings: &mut Vec<Draft>) {
    let config = &facts.config;
    // A run that failed for the machine's sake (no host keys, no /run/sshd, not root)
    // said nothing about the config: the parser stands in, and the prereq rules report
    // the machine's problem.
    let judged = config
        .syntax_check
        .as_ref()
        .filter(|run| !run.timed_out && run.exit_code.is_some() && !run.environment_problem);
    match judged {
        Some(run) if run.exit_code != Some(0) => findings.push(sshd_refused(facts, run)),
        Some(_) => {}
        None => {
            if let Some(problem) = config.problems.iter().find(|problem| problem.fatal) {
                let repair = fix_at(facts, Some(&problem.file), problem.line, &problem.message);
                findings.push(
                    repair
                        .fill(Draft::new(RuleId::ConfigSyntaxError))
                        .var("error", problem.message.clone())
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

/// The config sshd refuses, fixed at the line it names.
fn sshd_refused(facts: &Facts, run: &SshdRun) -> Draft {
    let error = run
        .error
        .clone()
        .unwrap_or_else(|| run.stderr.trim().to_string());
    let repair = fix_at(facts, run.error_file.as_deref(), run.error_line, &error);
    let source = match (&run.error_file, run.error_line) {
        (Some(file), Some(line)) => Some(format!("{file}:{line}")),
        (Some(file), None) => Some(file.clone()),
        _ => None,
    };
    repair
        .fill(Draft::new(RuleId::ConfigSyntaxError))
        .var("error", error.clone())
        .evidence(format!("{}: {error}", run.command.join(" ")), source)
}

/// How a rejected config is repaired, and the command that shows the culprit.
enum Repair {
    /// The line is commented out, then sshd restarted (the catalogue's actions).
    Edit {
        file: String,
        line: u32,
        locate: String,
    },
    /// No line is certain: the fix is the check, which repeats sshd's message.
    Check { test: String, locate: String },
}

impl Repair {
    fn fill(self, draft: Draft) -> Draft {
        match self {
            Repair::Edit { file, line, locate } => draft
                .var("file", file)
                .var("line", line.to_string())
                .var("locate", locate),
            Repair::Check { test, locate } => draft.var("fix", test).var("locate", locate),
        }
    }
}

/// The line is commented out (then the config checked and sshd restarted) only when
/// the file and line are certain and the line is not a Match line; otherwise the fix is
/// the check, and the culprit is shown, or looked for by what the message quotes or the
/// keyword it names.
fn fix_at(facts: &Facts, file: Option<&str>, line: Option<u32>, error: &str) -> Repair {
    let test = super::sshd_test(facts);
    // A Match line itself is at fault (a bad criterion): commenting it out would apply
    // its block's settings to every connection. Only a line within a block is edited.
    let match_line = error.contains("Match") && !error.contains("within a Match block");
    if let (Some(file), Some(line), false) = (file, line, match_line) {
        return Repair::Edit {
            file: file.to_string(),
            line,
            locate: format!("sed -n '{line}p' {file}"),
        };
    }
    let files = match file {
        Some(file) => file.to_string(),
        None => facts.config.files.join(" "),
    };
    let locate = match (file, line, culprit(facts, error)) {
        (Some(file), Some(line), _) => format!("sed -n '{line}p' {file}"),
        (_, _, Some(word)) => format!("grep -n -i -F -- '{word}' {files}"),
        _ => test.clone(),
    };
    Repair::Check { test, locate }
}

/// What to look for in the config files: the text sshd's message quotes, else the
/// first word of it that is a keyword the config sets.
fn culprit(facts: &Facts, error: &str) -> Option<String> {
    let quoted = error
        .split(['\'', '"'])
        .nth(1)
        .filter(|text| !text.is_empty());
    if let Some(text) = quoted {
        return Some(text.to_string());
    }
    let config = &facts.config;
    let sets = |keyword: &str| {
        config.global.contains_key(keyword)
            || config
                .match_blocks
                .iter()
                .any(|block| block.settings.contains_key(keyword))
    };
    error
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|word| !word.is_empty() && sets(&word.to_ascii_lowercase()))
        .map(String::from)
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

/// SUSE: /etc/ssh/sshd_config exists, so sshd never reads the vendor file, and the /etc
/// file lacks an Include the vendor file has: by accident, most likely (a file written
/// by hand with one setting), and the drop-ins and the vendor defaults are lost.
fn check_vendor_config(facts: &Facts, findings: &mut Vec<Draft>) {
    let Some(vendor) = facts
        .config
        .vendor_config
        .as_ref()
        .filter(|vendor| !vendor.used)
    else {
        return;
    };
    let missing: Vec<&String> = vendor
        .includes
        .iter()
        .filter(|pattern| !vendor.main_includes.contains(pattern))
        .collect();
    if missing.is_empty() {
        return;
    }
    let mut finding = Draft::new(RuleId::VendorConfigHidden)
        .var("vendor", vendor.path.clone())
        .var("file", crate::openssh::DEFAULT_SSHD_CONFIG)
        // Once the /etc file is gone sshd reads the vendor file: that is the one tested.
        .var("vendor_test", super::sshd_test_of(facts, &vendor.path));
    for pattern in missing {
        finding = finding.evidence(
            format!("Include {pattern} is in {} only", vendor.path),
            Some(vendor.path.clone()),
        );
    }
    findings.push(finding);
}

/// Keywords that decide whether a login works: a value of one that never counts is a
/// person's intent lost.
const LOGIN_KEYWORDS: &[&str] = &[
    "passwordauthentication",
    "pubkeyauthentication",
    "kbdinteractiveauthentication",
    "permitrootlogin",
    "permitemptypasswords",
    "authenticationmethods",
    "authorizedkeysfile",
    "authorizedkeyscommand",
    "authorizedkeyscommanduser",
    "usepam",
    "strictmodes",
    "maxauthtries",
    "addressfamily",
    "pubkeyacceptedalgorithms",
    "hostkeyalgorithms",
    "kexalgorithms",
    "ciphers",
    "macs",
];

/// A login keyword set twice in the global section with different values: sshd keeps
/// the first, and the later line (most often the one a person just wrote) does nothing.
fn check_shadowed(facts: &Facts, view: &super::SshView, findings: &mut Vec<Draft>) {
    let config = &facts.config;
    for shadowed in config.shadowed.iter().filter(|shadowed| {
        LOGIN_KEYWORDS.contains(&shadowed.keyword.as_str())
            && !shadowed
                .value
                .value
                .eq_ignore_ascii_case(&shadowed.by.value)
    }) {
        let by = &shadowed.by;
        let written_by = config
            .writer_of(&by.location())
            .map_or(String::new(), |who| format!(" ({who})"));
        let fix = match super::located(&by.location()) {
            Some((file, line)) => format!(
                "{} && {} && {}",
                super::comment_out_lines(file, &[line]),
                super::sshd_test(facts),
                super::reload_sshd(facts, view)
            ),
            None => format!("grep -rn -i '{}' /etc/default/ssh /etc/sysconfig/sshd 2>/dev/null   # it is on sshd's command line", shadowed.keyword),
        };
        findings.push(
            Draft::new(RuleId::SettingShadowed)
                .var("keyword", shadowed.keyword.clone())
                .var("value", shadowed.value.value.clone())
                .var("place", shadowed.value.location())
                .var("by_value", by.value.clone())
                .var("by_place", format!("{}{written_by}", by.location()))
                .var("fix", fix)
                .evidence(
                    format!("{} {} (ignored)", shadowed.keyword, shadowed.value.value),
                    Some(shadowed.value.location()),
                )
                .evidence(
                    format!("{} {} (set first)", shadowed.keyword, by.value),
                    Some(by.location()),
                ),
        );
    }
}

fn problem_location(file: &str, line: Option<u32>) -> String {
    match line {
        Some(line) => format!("{file}:{line}"),
        None => file.to_string(),
    }
}
