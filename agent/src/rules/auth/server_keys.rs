//! The key sources sshd consults for every user: RevokedKeys, TrustedUserCAKeys and
//! AuthorizedKeysCommand (SSH-AKF).

use crate::facts::{AuthFacts, Facts, FileKind, KeysCommandProvider, Located};
use crate::rules::{Draft, RuleId, SshView};

/// RevokedKeys that sshd cannot read refuses every public key ("Error checking
/// authentication key ... in revoked keys file"); TrustedUserCAKeys that it cannot read
/// refuses certificates only.
pub(super) fn check_server_key_files(auth: &AuthFacts, findings: &mut Vec<Draft>) {
    for file in &auth.server_key_files {
        let problem = match file.stat.kind {
            FileKind::File => continue,
            FileKind::Missing if !file.stat.exists => "does not exist".to_string(),
            FileKind::Missing => format!(
                "cannot be read ({})",
                file.stat.error.as_deref().unwrap_or("?")
            ),
            _ => "is not a file".to_string(),
        };
        let path = &file.stat.path;
        let mut finding = Draft::new(RuleId::TrustedCaKeysUnreadable);
        if file.keyword == "revokedkeys" {
            // An empty list revokes nothing; only a missing file is made so.
            finding = Draft::new(RuleId::RevokedKeysUnreadable);
            if !file.stat.exists {
                finding = finding.var("missing", path.clone());
            }
        } else {
            match file
                .source
                .rsplit_once(':')
                .map(|(f, l)| (f, l.parse::<u32>()))
            {
                Some((source_file, Ok(line))) => {
                    finding = finding
                        .var("file", source_file)
                        .var("line", line.to_string());
                }
                _ => finding = finding.var("fix", format!("ls -l {path}")),
            }
        }
        findings.push(
            finding
                .var("path", path.clone())
                .var("problem", problem.clone())
                .evidence(format!("{path} {problem}"), Some(file.source.clone())),
        );
    }
}

/// misc.c subprocess/safe_path: the command must exist, be executable, and sit on a path
/// only root can change; AuthorizedKeysCommandUser must be set and exist.
pub(super) fn check_keys_command(auth: &AuthFacts, findings: &mut Vec<Draft>) {
    let Some(command) = &auth.keys_command else {
        return;
    };
    let program = command.chain.first();
    let problem = match program {
        Some(stat) if stat.kind == FileKind::Missing => {
            Some(format!("{} does not exist", stat.path))
        }
        Some(stat)
            if stat.kind != FileKind::File || stat.mode.is_none_or(|mode| mode & 0o111 == 0) =>
        {
            Some(format!("{} is not an executable file", stat.path))
        }
        _ => command.chain.iter().find_map(|stat| {
            if stat.uid != Some(0) {
                Some(format!(
                    "{} is owned by uid {}, not root: sshd refuses it as unsafe",
                    stat.path,
                    stat.uid.unwrap_or(u32::MAX)
                ))
            } else if stat.group_or_other_writable() {
                Some(format!(
                    "{} is writable by group or others (mode {:04o}): sshd refuses it as unsafe",
                    stat.path,
                    stat.mode.unwrap_or(0)
                ))
            } else {
                None
            }
        }),
    };
    let user_problem = match (&command.user, command.user_exists) {
        (None, _) => {
            Some("AuthorizedKeysCommandUser is not set: sshd skips the command".to_string())
        }
        (Some(user), Some(false)) => {
            Some(format!("AuthorizedKeysCommandUser {user} does not exist"))
        }
        _ => None,
    };
    let program_path = program.map_or(String::new(), |stat| stat.path.clone());
    for problem in problem.into_iter().chain(user_problem) {
        let mut finding = Draft::new(RuleId::KeysCommandUnusable)
            .var("command", command.command.clone())
            .var("problem", problem.clone())
            .var("service", provider_name(command.provider))
            .var("fix", keys_command_step(&problem, &program_path))
            .evidence(
                format!("AuthorizedKeysCommand {}", command.command),
                Some(command.source.clone()),
            );
        // The program itself only: a directory above it (/tmp, a home) is not
        // sshdoctor's to change; the program belongs in one only root can change.
        if problem.starts_with(&format!("{program_path} is owned by")) {
            finding = finding
                .var("program", program_path.clone())
                .var("unsafe_owner", "yes");
        } else if problem.starts_with(&format!("{program_path} is writable")) {
            finding = finding.var("program", program_path.clone());
        }
        if let Some(stat) = program {
            finding = finding.evidence(stat.describe(), None);
        }
        findings.push(finding.evidence(problem, None));
    }
    if command.provider == KeysCommandProvider::EntraId {
        findings.push(Draft::new(RuleId::EntraLoginRole).evidence(
            format!("AuthorizedKeysCommand {}", command.command),
            Some(command.source.clone()),
        ));
    }
}

/// The step for a person where no repair is made: reinstall what ships the program, or
/// move it out of a directory others can change, or name the user sshd runs it as.
fn keys_command_step(problem: &str, program: &str) -> String {
    if problem.starts_with("AuthorizedKeysCommandUser") {
        "sshd -T | grep -i authorizedkeyscommand   # set AuthorizedKeysCommandUser to an existing user (nobody, or the one the package documents)".into()
    } else if problem.starts_with(&format!("{program} ")) {
        format!("dpkg -S {program} || rpm -qf {program}   # reinstall the package that ships it")
    } else {
        format!("install -o root -g root -m 755 {program} /usr/local/libexec/   # then point AuthorizedKeysCommand there")
    }
}

/// Entra ID login installed and in nsswitch, but no AuthorizedKeysCommand, global or in
/// a Match block, runs its handler: Azure's "Reset SSH configuration" (VMAccess)
/// rewrites sshd_config and drops the lines aadsshlogin added. Entra users are then
/// looked up (NSS) but offered no key, and their logins end in "Connection closed".
pub(super) fn check_entra_login(facts: &Facts, findings: &mut Vec<Draft>) {
    let Some(entra) = facts
        .auth
        .entra_login
        .as_ref()
        .filter(|entra| entra.in_nsswitch)
    else {
        return;
    };
    if entra_handler_runs(facts) {
        return;
    }
    let mut finding = Draft::new(RuleId::EntraLoginUnconfigured)
        .var("handler", entra.handler.clone())
        .evidence(format!("{} is installed", entra.handler), None)
        .evidence(
            "nsswitch.conf looks users up in Entra ID (aad)",
            Some("/etc/nsswitch.conf".into()),
        );
    finding = match &facts.auth.keys_command {
        Some(command) => finding.evidence(
            format!("AuthorizedKeysCommand {}", command.command),
            Some(command.source.clone()),
        ),
        None => finding.evidence(
            "no AuthorizedKeysCommand is set",
            Some(facts.config.path.clone()),
        ),
    };
    if let Some(backup) = &facts.config.vmaccess_backup {
        finding = finding.evidence(
            format!(
                "Azure's Reset SSH configuration replaced sshd_config; the old one is {backup}"
            ),
            Some(backup.clone()),
        );
    }
    findings.push(finding);
}

/// Whether an AuthorizedKeysCommand, global or in a Match block, runs Entra ID login's
/// handler.
fn entra_handler_runs(facts: &Facts) -> bool {
    let runs_handler =
        |command: &str| command.contains("aad_certhandler") || command.contains("aadsshlogin");
    let global = facts
        .auth
        .keys_command
        .as_ref()
        .is_some_and(|command| runs_handler(&command.command));
    global
        || facts.config.match_blocks.iter().any(|block| {
            block
                .settings
                .get("authorizedkeyscommand")
                .is_some_and(|values| values.iter().any(|value| runs_handler(&value.value)))
        })
}

/// Who Entra ID login's users are to sshd's Match User: user@domain names, and service
/// principals' object IDs.
const ENTRA_USER_PATTERNS: &[&str] = &["*@*", "????????-????-????-????-????????????"];

/// A config line and its words.
type LineWords<'a> = (&'a Located<String>, Vec<&'a str>);

/// Entra ID login in use with a global AllowGroups or DenyGroups: an Entra user's groups
/// exist only once the user has logged in, so sshd refuses each one's first login. The
/// lists move into a Match block that leaves Entra's users out.
pub(super) fn check_entra_group_lists(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    let in_use = facts
        .auth
        .entra_login
        .as_ref()
        .is_some_and(|entra| entra.in_nsswitch);
    if !in_use || !entra_handler_runs(facts) {
        return;
    }
    // Each keyword's lines, each line's words; sshd adds up the lines of a keyword.
    let mut lists: Vec<(&str, Vec<LineWords>)> = Vec::new();
    for keyword in ["AllowGroups", "DenyGroups"] {
        let Some(values) = facts.config.global.get(&keyword.to_ascii_lowercase()) else {
            continue;
        };
        let mut lines: Vec<LineWords> = Vec::new();
        for value in values.iter().filter(|value| value.line > 0) {
            match lines
                .iter_mut()
                .find(|(at, _)| at.file == value.file && at.line == value.line)
            {
                Some((_, words)) => words.push(&value.value),
                None => lines.push((value, vec![&value.value])),
            }
        }
        if !lines.is_empty() {
            lists.push((keyword, lines));
        }
    }
    let Some(first) = lists.first().map(|(_, lines)| lines[0].0) else {
        return;
    };
    let mut block = format!("\\nMatch User *,!{}\\n", ENTRA_USER_PATTERNS.join(",!"));
    let mut finding = Draft::new(RuleId::EntraFirstLoginGroups);
    for (keyword, lines) in &lists {
        for (at, words) in lines {
            block.push_str(&format!("\\t{keyword} {}\\n", words.join(" ")));
            finding = finding.evidence(
                format!("{keyword} {}", words.join(" ")),
                Some(at.location()),
            );
        }
    }
    let all_lines = lists
        .iter()
        .flat_map(|(_, lines)| lines.iter().map(|(at, _)| *at));
    let Some(comment_out) = crate::rules::comment_out_all(all_lines) else {
        return;
    };
    let keywords: Vec<&str> = lists.iter().map(|(keyword, _)| *keyword).collect();
    let fix = format!(
        "{comment_out} && printf '{block}' >> {} && {} && {}",
        facts.config.path,
        crate::rules::sshd_test(facts),
        crate::rules::reload_sshd(facts, view)
    );
    let handler = facts
        .auth
        .entra_login
        .as_ref()
        .map(|entra| entra.handler.clone());
    finding = finding
        .var("keywords", keywords.join(" and "))
        .var("place", first.location())
        .var("fix", fix);
    if let Some(handler) = handler {
        finding = finding.evidence(
            format!("sshd runs {handler}, Entra ID login's key handler"),
            None,
        );
    }
    findings.push(finding);
}

pub(super) fn provider_name(provider: KeysCommandProvider) -> &'static str {
    match provider {
        KeysCommandProvider::EntraId => "Microsoft Entra ID login",
        KeysCommandProvider::Ec2InstanceConnect => "EC2 Instance Connect",
        KeysCommandProvider::GoogleOsLogin => "Google OS Login",
        KeysCommandProvider::Other => "a custom key source",
    }
}
