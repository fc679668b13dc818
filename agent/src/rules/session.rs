//! The session: what sshd does once it has let a user in. The shell it runs, the sessions
//! it allows and the terminal it gives, for each user someone means to log in as.

use super::auth::expects_login;
use super::{Finding, RuleId, SshView};
use crate::facts::{Account, Facts, UserAuth};

pub fn check(facts: &Facts, view: &SshView, findings: &mut Vec<Finding>) {
    if facts.host.sshd_binary.is_none() {
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
    }
}

/// A shell that ends every session (nologin, false), unless sshd never runs it: an
/// sftp-only account (ForceCommand internal-sftp) needs no shell.
fn check_shell(facts: &Facts, user: &UserAuth, account: &Account, findings: &mut Vec<Finding>) {
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
        Finding::new(RuleId::ShellRefusesSession)
            .var("user", user.name.clone())
            .var("shell", shell)
            .var("login_shell", login_shell)
            .evidence(
                format!("{}: shell {shell}", user.name),
                Some("/etc/passwd".into()),
            ),
    );
}

fn check_max_sessions(facts: &Facts, view: &SshView, user: &UserAuth, findings: &mut Vec<Finding>) {
    if user.settings.first("maxsessions") != Some("0") {
        return;
    }
    let unit = view.unit_name(facts);
    let origin = user.settings.origin("maxsessions");
    // The line that sets it, commented out; else a drop-in that sshd reads first.
    let fix = match super::comment_out(&origin) {
        Some(edit) => format!("{edit} && systemctl reload {unit}"),
        None => format!(
            "echo 'MaxSessions 10' > /etc/ssh/sshd_config.d/00-maxsessions.conf && systemctl reload {unit}"
        ),
    };
    findings.push(
        Finding::new(RuleId::MaxSessionsZero)
            .var("user", user.name.clone())
            .var("fix", fix)
            .evidence("MaxSessions 0", Some(origin)),
    );
}

fn check_tty(user: &UserAuth, findings: &mut Vec<Finding>) {
    if user.settings.first("permittty") != Some("no") {
        return;
    }
    findings.push(
        Finding::new(RuleId::PermitTtyNo)
            .var("user", user.name.clone())
            .evidence("PermitTTY no", Some(user.settings.origin("permittty"))),
    );
}
