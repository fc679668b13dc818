//! The session: what sshd does once it has let a user in. The shell it runs, the sessions
//! it allows and the terminal it gives, for each user someone means to log in as.

use super::auth::expects_login;
use super::{Draft, RuleId, SshView};
use crate::facts::{Account, Facts, FileKind, UserAuth};

pub fn check(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    if facts.sshd.binary.is_none() {
        return; // Not installed: the service rules say so.
    }
    for user in &facts.auth.users {
        let Some(account) = &user.account else {
            continue;
        };
        if !expects_login(user) {
            continue;
        }
        check_shell(facts, user, account, findings);
        check_max_sessions(facts, view, user, findings);
        check_tty(user, findings);
        check_chroot(facts, view, user, findings);
        check_force_command(facts, view, user, findings);
    }
}

/// The repair that turns a setting off: the catalogue's actions comment out the line
/// that sets it; without one, a person looks for it.
fn comment_out_setting(
    draft: Draft,
    facts: &Facts,
    view: &SshView,
    user: &UserAuth,
    keyword: &str,
) -> Draft {
    let origin = super::setting_origin(facts, &user.settings, keyword);
    let unit = view.unit_name(facts);
    draft.edits_line(&origin, || {
        format!("grep -rni '^ *{keyword}' /etc/ssh   # then comment it out and reload {unit}")
    })
}

/// ChrootDirectory: each component root-owned, not writable by group or others, a
/// directory (session.c safely_chroot); then the shell inside it.
fn check_chroot(facts: &Facts, view: &SshView, user: &UserAuth, findings: &mut Vec<Draft>) {
    let Some(chroot) = &user.session.chroot else {
        return;
    };
    let origin = super::setting_origin(facts, &user.settings, "chrootdirectory");
    let bad = chroot.components.iter().find_map(|component| {
        let problem = match (component.kind, component.uid) {
            (FileKind::Missing, _) => "does not exist".to_string(),
            (FileKind::Directory, Some(uid)) if uid != 0 => {
                format!("is owned by uid {uid}, not root")
            }
            (FileKind::Directory, _) if component.group_or_other_writable() => format!(
                "is writable by group or others (mode {:04o})",
                component.mode.unwrap_or(0)
            ),
            (FileKind::Directory, _) => return None,
            _ => "is not a directory".to_string(),
        };
        Some((component, problem))
    });
    if let Some((component, problem)) = bad {
        let draft = Draft::new(RuleId::ChrootUnsafe);
        // A directory sshd refuses is given to root and closed to others; anything else
        // in the path makes the chroot go.
        let draft = match component.kind {
            FileKind::Directory => draft.var("directory", component.path.clone()),
            // sshd reads the config again only for this one.
            _ => comment_out_setting(draft, facts, view, user, "chrootdirectory")
                .var("config_check", super::sshd_test(facts)),
        };
        findings.push(
            draft
                .var("user", user.name.clone())
                .var("path", chroot.path.clone())
                .var("component", component.path.clone())
                .var("problem", problem.clone())
                .evidence(
                    format!("{} {problem}", component.path),
                    Some(component.path.clone()),
                )
                .evidence(format!("ChrootDirectory {}", chroot.path), Some(origin)),
        );
        return;
    }
    let Some(shell) = &chroot.shell else {
        return; // internal-sftp: no shell runs.
    };
    if let Some(problem) = shell.program_problem() {
        let draft = Draft::new(RuleId::ChrootWithoutShell);
        findings.push(
            comment_out_setting(draft, facts, view, user, "chrootdirectory")
                .var("user", user.name.clone())
                .var("path", chroot.path.clone())
                .var("shell", shell.path.clone())
                .var("problem", problem)
                .evidence(
                    format!("{} {problem}", shell.path),
                    Some(shell.path.clone()),
                )
                .evidence(format!("ChrootDirectory {}", chroot.path), Some(origin)),
        );
    }
}

/// ForceCommand naming a program that is not there: every session runs `shell -c` on
/// it, which fails with "not found" and ends the session.
fn check_force_command(facts: &Facts, view: &SshView, user: &UserAuth, findings: &mut Vec<Draft>) {
    let Some(program) = &user.session.force_command_program else {
        return;
    };
    let Some(problem) = program.program_problem() else {
        return;
    };
    let origin = super::setting_origin(facts, &user.settings, "forcecommand");
    let command = user
        .settings
        .values
        .get("forcecommand")
        .map(|words| words.join(" "))
        .unwrap_or_default();
    let draft = Draft::new(RuleId::ForceCommandMissing);
    findings.push(
        comment_out_setting(draft, facts, view, user, "forcecommand")
            .var("user", user.name.clone())
            .var("program", program.path.clone())
            .var("problem", problem)
            .evidence(
                format!("{} {problem}", program.path),
                Some(program.path.clone()),
            )
            .evidence(format!("ForceCommand {command}"), Some(origin)),
    );
}

/// A shell that ends every session (nologin, false), unless sshd never runs it: an
/// sftp-only account (ForceCommand internal-sftp) needs no shell.
fn check_shell(facts: &Facts, user: &UserAuth, account: &Account, findings: &mut Vec<Draft>) {
    let shell = if account.shell.is_empty() {
        "/bin/sh"
    } else {
        &account.shell
    };
    let name = shell.rsplit('/').next().unwrap_or(shell);
    if name != "nologin" && name != "false" {
        return;
    }
    if user.settings.first("forcecommand") == Some("internal-sftp") {
        return;
    }
    let login_shell = match facts.host.os_id.as_deref() {
        Some("alpine") => "/bin/sh",
        _ => "/bin/bash",
    };
    findings.push(
        Draft::new(RuleId::ShellRefusesSession)
            .var("user", user.name.clone())
            .var("shell", shell)
            .var("login_shell", login_shell)
            .evidence(
                format!("{}: shell {shell}", user.name),
                Some("/etc/passwd".into()),
            ),
    );
}

fn check_max_sessions(facts: &Facts, view: &SshView, user: &UserAuth, findings: &mut Vec<Draft>) {
    if user.settings.first("maxsessions") != Some("0") {
        return;
    }
    let reload = super::reload_sshd(facts, view);
    let origin = super::setting_origin(facts, &user.settings, "maxsessions");
    // The line that sets it, commented out; else a drop-in that sshd reads first.
    let draft = Draft::new(RuleId::MaxSessionsZero).edits_line(&origin, || {
        format!("echo 'MaxSessions 10' > /etc/ssh/sshd_config.d/00-maxsessions.conf && {reload}")
    });
    findings.push(
        draft
            .var("user", user.name.clone())
            .evidence("MaxSessions 0", Some(origin)),
    );
}

fn check_tty(user: &UserAuth, findings: &mut Vec<Draft>) {
    if user.settings.first("permittty") == Some("no") {
        findings.push(
            Draft::new(RuleId::PermitTtyNo)
                .var("user", user.name.clone())
                .evidence("PermitTTY no", Some(user.settings.origin("permittty"))),
        );
        return;
    }
    // Every key's own options refuse a terminal: no-pty, or restrict without pty.
    let keys: Vec<(&str, &crate::facts::AuthorizedKey)> = user
        .keys_files
        .iter()
        .flat_map(|file| file.keys.iter().map(move |key| (file.path.as_str(), key)))
        .collect();
    let no_terminal = |key: &crate::facts::AuthorizedKey| {
        let has = |name: &str| key.options.iter().any(|option| option == name);
        has("no-pty") || (has("restrict") && !has("pty"))
    };
    if keys.is_empty() || !keys.iter().all(|(_, key)| no_terminal(key)) {
        return;
    }
    let mut finding = Draft::new(RuleId::KeysRefuseTty).var("user", user.name.clone());
    for (path, key) in keys {
        finding = finding.evidence(
            format!("{} key with {}", key.key_type, key.options.join(",")),
            Some(format!("{path}:{}", key.line)),
        );
    }
    findings.push(finding);
}
