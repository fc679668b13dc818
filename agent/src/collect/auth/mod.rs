//! The authentication path: for each user who should be able to log in, the account as
//! passwd and shadow describe it, the sshd settings in effect for that user, and the
//! authorized_keys files sshd would read; plus the machine-wide gates (nologin, TCP
//! wrappers, AuthorizedKeysCommand). Read-only; secrets are classified, never kept.

pub mod accounts;
pub mod gates;
pub(crate) mod key_line;
pub(super) mod keys;
mod settings;

pub use accounts::read_text;
pub use key_line::{parse_key_line, KeyLine};

use super::reach::Reach;
use super::{CollectOptions, ProbeNotes};
use crate::facts::{
    Account, AuthFacts, HostFacts, KeysFile, ShadowEntry, SshdConfigFacts, SshdFacts, UserAuth,
    UserRole, UserSettings,
};
use settings::SettingsFinder;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Bound on the users examined.
pub const MAX_USERS: usize = 50;

pub fn collect(
    options: &CollectOptions,
    config: &SshdConfigFacts,
    host: &HostFacts,
    sshd: &SshdFacts,
    reach: &Reach,
    notes: &mut ProbeNotes,
) -> AuthFacts {
    let shells = accounts::read_shells()
        .map_err(|err| notes.partial(format!("cannot read /etc/shells: {err}")))
        .ok();
    let shadow = accounts::read_shadow()
        .map_err(|err| notes.partial(format!("cannot read /etc/shadow: {err}")))
        .ok()
        .map(Arc::new);
    let login_shell = accounts::login_shell(shells.as_deref().unwrap_or_default());
    let provisioned_admin = accounts::provisioned_admin();
    let keys_patterns = keys_file_patterns(config);
    let mut chosen = choose_users(
        options,
        provisioned_admin.as_ref(),
        shells.as_deref(),
        &keys_patterns,
        reach,
        notes,
    );
    let users_omitted = chosen
        .split_off(chosen.len().min(MAX_USERS))
        .into_iter()
        .map(|(name, _)| name)
        .collect::<Vec<_>>();
    if !users_omitted.is_empty() {
        notes.partial(format!(
            "examined the first {MAX_USERS} users; {} more left out",
            users_omitted.len()
        ));
    }
    let sshd = sshd.binary.as_deref().map(Path::new);
    let finder = SettingsFinder::new(config, sshd, options, notes);
    let account_files = AccountFiles {
        shadow,
        shells: shells.map(Arc::new),
        homes: accounts::passwd_homes().unwrap_or_default(),
    };
    let users: Vec<UserAuth> = chosen
        .into_iter()
        .map(|(name, role)| {
            let settings = finder.settings_for(&name, config, notes);
            examine_user(name, role, settings, &account_files, reach, notes)
        })
        .collect();
    AuthFacts {
        login_shell,
        keys_command: gates::keys_command(&settings::global(config)),
        entra_login: gates::entra_login(),
        server_key_files: gates::server_key_files(&settings::global(config)),
        users,
        users_omitted,
        provisioned_admin,
        today_days: today_days(),
        nologin_files: gates::nologin_files(),
        tcp_wrappers: gates::tcp_wrappers(),
        strict_modes_allows_private_group: host.is_debian_like(),
    }
}

/// AuthorizedKeysFile as the global section and every Match block set it: an account
/// holding keys in any of them is one someone means to log in as.
fn keys_file_patterns(config: &SshdConfigFacts) -> Vec<String> {
    let global = settings::global(config);
    let in_blocks = config
        .match_blocks
        .iter()
        .filter_map(|block| block.settings.get("authorizedkeysfile"))
        .flatten()
        .flat_map(|line| line.value.split_whitespace().map(String::from));
    global
        .values
        .get("authorizedkeysfile")
        .into_iter()
        .flatten()
        .cloned()
        .chain(in_blocks)
        .collect()
}

/// What the account files say, read once for every user.
struct AccountFiles {
    shadow: Option<Arc<BTreeMap<String, ShadowEntry>>>,
    shells: Option<Arc<Vec<String>>>,
    /// Home directories by user name, from /etc/passwd (not NSS, which may wait).
    homes: BTreeMap<String, String>,
}

/// One user, on a worker within the bound: getpwnam may wait on a directory service,
/// and the user's files are under a home that may be on a mount that does not answer.
fn examine_user(
    name: String,
    role: UserRole,
    settings: UserSettings,
    files: &AccountFiles,
    reach: &Reach,
    notes: &mut ProbeNotes,
) -> UserAuth {
    let blame = files
        .homes
        .get(&name)
        .cloned()
        .unwrap_or_else(|| format!("getpwnam({name})"));
    let work = {
        let (name, settings) = (name.clone(), settings.clone());
        let (shadow, shells) = (files.shadow.clone(), files.shells.clone());
        move || {
            let mut notes = ProbeNotes::default();
            let account = accounts::account(
                &name,
                shadow.as_deref(),
                shells.as_deref().map(Vec::as_slice),
            )
            .unwrap_or_else(|err| {
                notes.partial(err);
                None
            });
            (user_auth(name, role, account, settings, &mut notes), notes)
        }
    };
    match reach.bounded(&blame, work) {
        Ok((user, part)) => {
            notes.absorb(part);
            user
        }
        Err(unanswered) => {
            notes.partial(format!("{name}: {}", unanswered.describe()));
            UserAuth {
                unanswered: Some(unanswered),
                ..UserAuth::without_files(name, role, None, settings)
            }
        }
    }
}

/// One user's way in: the keys files sshd reads with this user's settings, the keys it
/// no longer reads, and what the session runs through.
fn user_auth(
    name: String,
    role: UserRole,
    account: Option<Account>,
    settings: UserSettings,
    notes: &mut ProbeNotes,
) -> UserAuth {
    let Some(found) = &account else {
        return UserAuth::without_files(name, role, account, settings);
    };
    let keys_files = keys_files(&name, found, &settings, notes);
    let unread_keys_files = unread_keys_files(found, &keys_files);
    let session = super::session::session(&name, found, &settings);
    if let Some(error) = &session.error {
        notes.partial(error.clone());
    }
    UserAuth {
        name,
        role,
        account,
        settings,
        keys_files,
        unread_keys_files,
        session,
        unanswered: None,
    }
}

/// `--user` names; otherwise the provisioned admin, root, and every login account.
fn choose_users(
    options: &CollectOptions,
    provisioned: Option<&crate::facts::ProvisionedAdmin>,
    shells: Option<&[String]>,
    keys_patterns: &[String],
    reach: &Reach,
    notes: &mut ProbeNotes,
) -> Vec<(String, UserRole)> {
    if !options.users.is_empty() {
        let mut requested: Vec<(String, UserRole)> = Vec::new();
        for name in &options.users {
            if !requested.iter().any(|(seen, _)| seen == name) {
                requested.push((name.clone(), UserRole::Requested));
            }
        }
        return requested;
    }
    let mut chosen: Vec<(String, UserRole)> = Vec::new();
    if let Some(admin) = provisioned {
        chosen.push((admin.name.clone(), UserRole::Provisioned));
    }
    chosen.push(("root".into(), UserRole::Root));
    let directories = accounts::directory_sources();
    if !directories.is_empty() {
        notes.note(format!(
            "accounts from {} (nsswitch.conf) are not listed, only looked up: name them with --user",
            directories.join(", ")
        ));
    }
    match accounts::login_accounts(shells.unwrap_or_default(), keys_patterns, reach) {
        Ok(names) => chosen.extend(names.into_iter().map(|name| (name, UserRole::Discovered))),
        Err(err) => notes.partial(format!("cannot list accounts from /etc/passwd: {err}")),
    }
    let mut seen = std::collections::BTreeSet::new();
    chosen.retain(|(name, _)| seen.insert(name.clone()));
    chosen
}

/// Each AuthorizedKeysFile pattern ("none" disables one), expanded and examined.
fn keys_files(
    user: &str,
    account: &crate::facts::Account,
    settings: &crate::facts::UserSettings,
    notes: &mut ProbeNotes,
) -> Vec<KeysFile> {
    let patterns = settings
        .values
        .get("authorizedkeysfile")
        .cloned()
        .unwrap_or_default();
    patterns
        .iter()
        .filter(|pattern| !pattern.eq_ignore_ascii_case("none"))
        .filter_map(
            |pattern| match keys::expand_keys_path(pattern, account, user) {
                Ok(path) => Some(keys::examine(pattern, &path, account)),
                Err(err) => {
                    notes.partial(format!("AuthorizedKeysFile for {user}: {err}"));
                    None
                }
            },
        )
        .collect()
}

/// Key files in the default place that AuthorizedKeysFile no longer names.
fn unread_keys_files(
    account: &crate::facts::Account,
    read: &[KeysFile],
) -> Vec<crate::facts::UnreadKeysFile> {
    accounts::DEFAULT_KEYS_FILES
        .iter()
        .map(|relative| {
            (
                relative,
                format!("{}/{relative}", account.home.trim_end_matches('/')),
            )
        })
        .filter(|(_, path)| !read.iter().any(|file| file.path == *path))
        .filter(|(_, path)| std::path::Path::new(path).is_file())
        .map(|(relative, path)| {
            let keys = keys::examine(relative, &path, account).keys.len();
            crate::facts::UnreadKeysFile { path, keys }
        })
        .filter(|file| file.keys > 0)
        .collect()
}

fn today_days() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| (elapsed.as_secs() / 86_400) as i64)
}
