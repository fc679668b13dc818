//! The authentication path: would sshd let each examined user in? Per user, the checks
//! follow sshd's own order: auth.c allowed_user (expiry, lock, shell, Allow/Deny), then
//! PermitRootLogin, then the keys files (StrictModes, parsing, accepted algorithms).

mod access;
mod keys;
mod server_keys;
mod users;

use super::{Draft, RuleId, Severity, SshView};
use crate::facts::{Facts, UserAuth, UserRole, UserSettings};
use access::{
    check_access_lists, check_authentication_methods, check_limits, check_nologin, check_root,
    check_tcp_wrappers,
};
use keys::{check_key_sources, check_keys_file, check_unread_keys, check_way_in};
use server_keys::{check_keys_command, check_server_key_files};
use users::{check_account, check_shell, unanswered, user_missing};

pub fn check(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    if facts.sshd.binary.is_none() {
        return; // Not installed: the service rules say so.
    }
    let auth = &facts.auth;
    for user in &auth.users {
        let before = findings.len();
        check_user(facts, view, user, findings);
        // A critical finding already says why this user cannot get in.
        let explained = findings[before..]
            .iter()
            .any(|finding| finding.severity == Severity::Critical);
        if !explained && expects_login(user) {
            check_key_sources(facts, user, findings);
            check_way_in(auth, user, findings);
        }
    }
    check_nologin(auth, findings);
    check_server_key_files(auth, findings);
    check_tcp_wrappers(facts, findings);
    check_keys_command(auth, findings);
    server_keys::check_entra_login(facts, findings);
    server_keys::check_entra_group_lists(facts, view, findings);
    if let Some(first) = auth.users.first() {
        check_limits(&first.settings, findings);
    }
}

/// Someone is meant to log in as this user: named, provisioned, or holding a key (where
/// sshd reads it or in the default place it no longer reads).
pub(crate) fn expects_login(user: &UserAuth) -> bool {
    matches!(user.role, UserRole::Requested | UserRole::Provisioned)
        || user.keys_files.iter().any(|file| !file.keys.is_empty())
        || !user.unread_keys_files.is_empty()
}

pub(super) fn is_yes(settings: &UserSettings, keyword: &str) -> bool {
    settings.first(keyword) == Some("yes")
}

fn check_user(facts: &Facts, view: &SshView, user: &UserAuth, findings: &mut Vec<Draft>) {
    let auth = &facts.auth;
    if let Some(what) = &user.unanswered {
        findings.push(unanswered(user, what));
        return;
    }
    let Some(account) = &user.account else {
        if matches!(user.role, UserRole::Requested | UserRole::Provisioned) {
            findings.push(user_missing(user));
        }
        return;
    };
    if !expects_login(user) {
        return;
    }
    check_account(auth, user, account, findings);
    check_shell(user, account, &auth.login_shell, findings);
    check_access_lists(facts, view, user, account, findings);
    check_root(user, findings);
    check_authentication_methods(facts, view, user, account, findings);
    if !account.home_stat.exists {
        findings.push(
            Draft::new(RuleId::HomeMissing)
                .var("user", user.name.clone())
                .var("home", account.home.clone())
                .evidence(account.home_stat.describe(), Some("/etc/passwd".into())),
        );
    }
    for file in &user.keys_files {
        check_keys_file(facts, view, user, account, file, findings);
    }
    check_unread_keys(auth, user, findings);
}
