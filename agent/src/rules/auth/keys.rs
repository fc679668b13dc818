//! The keys a user logs in with: the files sshd reads and StrictModes, the key lines
//! and their options, the accepted algorithms, and whether any way in is left (SSH-AKF).

use super::is_yes;
use crate::facts::{
    Account, AuthFacts, AuthorizedKey, Facts, FileKind, FileStat, KeysFile, PasswordState,
    UserAuth, UserSettings,
};
use crate::openssh::{algorithms, patterns};
use crate::rules::{Draft, RuleId, Severity, SshView};
use std::net::IpAddr;

/// Keys left in ~/.ssh/authorized_keys after AuthorizedKeysFile was pointed elsewhere:
/// when sshd has no other key for the user, these are the keys the user still logs in
/// with, and sshd never reads them.
pub(super) fn check_unread_keys(auth: &AuthFacts, user: &UserAuth, findings: &mut Vec<Draft>) {
    let Some(unread) = user.unread_keys_files.first() else {
        return;
    };
    let keys_command = user
        .settings
        .first("authorizedkeyscommand")
        .is_some_and(|command| command != "none");
    if keys_command || usable_keys(auth, user) > 0 {
        return;
    }
    let Some(read) = user.keys_files.first() else {
        return; // AuthorizedKeysFile none: no file is read at all.
    };
    let read_path = read.path.as_str();
    let directory = read_path.rsplit_once('/').map_or("/", |(dir, _)| dir);
    // In the user's home the user keeps owning it; elsewhere (/etc/ssh/keys/%u) it is
    // root's and world-readable, as sshd opens it with the user's uid.
    let (owner, mode) = match &user.account {
        Some(account) if read_path.starts_with(&format!("{}/", account.home)) => {
            (format!("{}:{}", user.name, account.gid), "600")
        }
        _ => ("root:root".to_string(), "644"),
    };
    let fix = format!(
        "install -d -m 755 {directory} && cat {} >> {read_path} && chown {owner} {read_path} && chmod {mode} {read_path}",
        unread.path
    );
    let read_paths: Vec<&str> = user
        .keys_files
        .iter()
        .map(|file| file.path.as_str())
        .collect();
    findings.push(
        Draft::new(RuleId::KeysNotRead)
            .var("user", user.name.clone())
            .var("unread", unread.path.clone())
            .var("read", read_paths.join(" "))
            .var("fix", fix)
            .evidence(
                format!("{}: {} key(s), not read", unread.path, unread.keys),
                Some(unread.path.clone()),
            )
            .evidence(
                format!("AuthorizedKeysFile {}", read_paths.join(" ")),
                Some(user.settings.origin("authorizedkeysfile")),
            ),
    );
}

/// auth.c auth_secure_path: the first of the file and its directories (up to home or /)
/// owned by neither root nor the user, or writable by group or others (Debian's build
/// lets a group with the user as its only member write).
pub(super) fn strict_modes_problem<'f>(
    auth: &AuthFacts,
    file: &'f KeysFile,
    uid: u32,
) -> Option<(&'f FileStat, String)> {
    file.chain.iter().find_map(|entry| {
        let stat = &entry.stat;
        let mode = stat.mode.unwrap_or(0);
        let owner_ok = matches!(stat.uid, Some(0)) || stat.uid == Some(uid);
        let group_write_ok =
            mode & 0o020 == 0 || (auth.strict_modes_allows_private_group && entry.private_group);
        let problem = if stat.kind == FileKind::Missing {
            "cannot be examined".to_string()
        } else if !owner_ok {
            format!(
                "is owned by uid {}, not by the user or root",
                stat.uid.unwrap_or(u32::MAX)
            )
        } else if mode & 0o002 != 0 || !group_write_ok {
            format!("is writable by group or others (mode {mode:04o})")
        } else {
            return None;
        };
        Some((stat, problem))
    })
}

pub(super) fn check_keys_file(
    facts: &Facts,
    view: &SshView,
    user: &UserAuth,
    account: &Account,
    file: &KeysFile,
    findings: &mut Vec<Draft>,
) {
    let auth = &facts.auth;
    if !file.stat.exists {
        return;
    }
    let source = Some(format!(
        "AuthorizedKeysFile {} ({})",
        file.pattern,
        user.settings.origin("authorizedkeysfile")
    ));
    let unusable = |problem: String| {
        let finding = Draft::new(RuleId::KeysFileUnusable)
            .var("user", user.name.clone())
            .var("path", file.path.clone())
            .var("problem", problem)
            .evidence(file.stat.describe(), source.clone());
        // A file in the user's own ~/.ssh is given back to the user, with the modes
        // sshd wants; one elsewhere is fixed by hand.
        let ssh_dir = format!("{}/.ssh", account.home);
        match file.path.rsplit_once('/') {
            Some((dir, _)) if dir == ssh_dir && file.stat.kind == FileKind::File => finding
                .var("ssh_dir", ssh_dir)
                .var("key_file", file.path.clone()),
            _ => finding.var(
                "fix",
                format!(
                    "chown -R {0}: ~{0}/.ssh && chmod 700 ~{0}/.ssh && chmod 600 {1}",
                    user.name, file.path
                ),
            ),
        }
    };
    if file.stat.kind != FileKind::File {
        findings.push(unusable("is not a regular file".into()));
        return;
    }
    if is_yes(&user.settings, "strictmodes") {
        if let Some((stat, problem)) = strict_modes_problem(auth, file, account.uid) {
            let (owner, mode) = strict_modes_fix(stat, &user.name, &file.path, account);
            let mut finding = Draft::new(RuleId::KeysPathUnsafe);
            if let Some(owner) = owner {
                finding = finding.var("owner", owner);
            }
            findings.push(
                finding
                    .var("user", user.name.clone())
                    .var("path", file.path.clone())
                    .var("bad_path", stat.path.clone())
                    .var("problem", problem.clone())
                    .var("mode", mode)
                    .evidence(stat.describe(), None)
                    .evidence("StrictModes yes", Some(user.settings.origin("strictmodes"))),
            );
            return;
        }
    }
    if let Some(problem) = &file.unreadable_by_user {
        findings.push(unusable(format!(
            "cannot be read with the user's permissions: {problem}"
        )));
        return;
    }
    check_key_lines(facts, view, user, file, findings);
    check_key_options(facts, user, file, findings);
}

/// What repairs what StrictModes refused: the owner to give the path when neither the
/// user nor root owns it, and the mode it needs.
pub(super) fn strict_modes_fix(
    stat: &FileStat,
    user: &str,
    keys_path: &str,
    account: &Account,
) -> (Option<String>, &'static str) {
    let owned_by_other = !matches!(stat.uid, Some(0)) && stat.uid != Some(account.uid);
    let mode = if stat.path == keys_path {
        "600"
    } else if stat.path == account.home {
        "go-w"
    } else {
        "700"
    };
    (owned_by_other.then(|| user.to_string()), mode)
}

pub(super) fn check_key_lines(
    facts: &Facts,
    view: &SshView,
    user: &UserAuth,
    file: &KeysFile,
    findings: &mut Vec<Draft>,
) {
    if !file.bad_lines.is_empty() {
        let mut finding = Draft::new(RuleId::KeyLinesUnparsable)
            .var("user", user.name.clone())
            .var("path", file.path.clone())
            .var("count", file.bad_lines.len().to_string());
        for bad in &file.bad_lines {
            finding = finding.evidence(
                bad.problem.clone(),
                Some(format!("{}:{}", file.path, bad.line)),
            );
        }
        findings.push(finding);
    }
    let accepted = accepted_algorithms(&user.settings);
    let refused: Vec<_> = file
        .keys
        .iter()
        .filter(|key| !algorithms::key_type_accepted(&key.key_type, &accepted))
        .collect();
    let Some(first) = refused.first() else {
        return;
    };
    let origin = crate::rules::setting_origin(facts, &user.settings, "pubkeyacceptedalgorithms");
    let reload = crate::rules::reload_sshd(facts, view);
    let fix = key_type_fix(&first.key_type, &accepted, &origin, &reload);
    let mut finding = Draft::new(RuleId::KeyTypeRefused)
        .var("user", user.name.clone())
        .var("path", file.path.clone())
        .var("key_type", first.key_type.clone())
        .var("fix", fix);
    // A type sshd takes by default: the catalogue's actions comment out the line that
    // narrowed the list.
    let defaults = algorithms::resolve(crate::openssh::DEFAULT_PUBKEY_ALGORITHMS);
    if let (true, Some((config, line))) = (
        algorithms::key_type_accepted(&first.key_type, &defaults),
        crate::rules::located(&origin),
    ) {
        finding = finding.var("file", config).var("line", line.to_string());
    }
    // With no other key sshd would take and no other way in, nobody gets in.
    let keys_command = user
        .settings
        .first("authorizedkeyscommand")
        .is_some_and(|command| command != "none");
    if usable_keys(&facts.auth, user) == 0 && !keys_command {
        finding = finding.severity(Severity::Critical);
    }
    for key in &refused {
        finding = finding.evidence(
            format!(
                "{} key{}",
                key.key_type,
                key.comment
                    .as_ref()
                    .map_or(String::new(), |c| format!(" ({c})"))
            ),
            Some(format!("{}:{}", file.path, key.line)),
        );
    }
    findings.push(finding.evidence(
        format!("PubkeyAcceptedAlgorithms {}", accepted.join(",")),
        Some(origin),
    ));
}

/// A key whose expiry-time= has passed: sshd refuses it ("Refused by key options").
/// Compared by day (sshd reads the time as local time unless it ends in Z); a key that
/// expires today is not counted.
pub(super) fn key_expired(key: &AuthorizedKey, today_days: i64) -> bool {
    key.expiry_time
        .as_deref()
        .and_then(expiry_day)
        .is_some_and(|day| day < today_days)
}

/// Days since the epoch of an expiry-time's YYYYMMDD.
pub(super) fn expiry_day(text: &str) -> Option<i64> {
    let digits = text.get(..8)?;
    let year: i64 = digits[..4].parse().ok()?;
    let month: i64 = digits[4..6].parse().ok()?;
    let day: i64 = digits[6..8].parse().ok()?;
    crate::rules::days_from_civil(year, month, day)
}

/// Keys refused by their own options: an expiry-time= that has passed, a command= whose
/// program is not there (the key's sessions end at once). Critical when no other key
/// or way in is left.
pub(super) fn check_key_options(
    facts: &Facts,
    user: &UserAuth,
    file: &KeysFile,
    findings: &mut Vec<Draft>,
) {
    let keys_command = user
        .settings
        .first("authorizedkeyscommand")
        .is_some_and(|command| command != "none");
    let stranded = !keys_command && usable_keys(&facts.auth, user) == 0;
    for key in &file.keys {
        let place = format!("{}:{}", file.path, key.line);
        if key_expired(key, facts.auth.today_days) {
            let expiry = key.expiry_time.clone().unwrap_or_default();
            let fix = format!(
                "sed -i -E '{0}s/expiry-time=\"[^\"]*\",//;{0}s/,?expiry-time=\"[^\"]*\"//' {1}",
                key.line, file.path
            );
            let mut finding = Draft::new(RuleId::KeyExpired)
                .var("user", user.name.clone())
                .var("place", place.clone())
                .var("expiry", expiry.clone())
                .var("fix", fix)
                .var("file", file.path.clone())
                .var("line", key.line.to_string())
                .var(
                    "expiry_removal",
                    key.expiry_removal.clone().unwrap_or_default(),
                )
                .evidence(
                    format!("expiry-time=\"{expiry}\" on {} key", key.key_type),
                    Some(place.clone()),
                );
            if !stranded {
                finding = finding.severity(Severity::Warning);
            }
            findings.push(finding);
        }
        let Some(program) = &key.command_program else {
            continue;
        };
        let Some(problem) = program.program_problem() else {
            continue;
        };
        let fix = format!(
            "sed -i -E '{0}s/command=\"([^\"\\\\]|\\\\.)*\",//;{0}s/,?command=\"([^\"\\\\]|\\\\.)*\"//' {1}   # or restore {2}",
            key.line, file.path, program.path
        );
        let usable_without_command = usable_key_list(&facts.auth, user).iter().any(|(_, other)| {
            other
                .command_program
                .as_ref()
                .is_none_or(|p| p.program_problem().is_none())
        });
        let mut finding = Draft::new(RuleId::KeyCommandMissing)
            .var("user", user.name.clone())
            .var("place", place.clone())
            .var("program", program.path.clone())
            .var("problem", problem)
            .var("fix", fix)
            .evidence(
                format!("command= runs {} ({problem})", program.path),
                Some(place),
            );
        if usable_without_command || keys_command {
            finding = finding.severity(Severity::Warning);
        }
        findings.push(finding);
    }
}

/// What lets a refused key type in: for a type sshd accepts by default, the line that
/// narrowed PubkeyAcceptedAlgorithms commented out (or, with no line to edit, a drop-in
/// that sshd reads before the others: the first value wins); for a type sshd no longer
/// accepts at all (DSA), a new key of a type this server accepts, never the refused one.
pub(super) fn key_type_fix(
    key_type: &str,
    accepted: &[String],
    origin: &str,
    reload: &str,
) -> String {
    let defaults = algorithms::resolve(crate::openssh::DEFAULT_PUBKEY_ALGORITHMS);
    if algorithms::key_type_accepted(key_type, &defaults) {
        return match crate::rules::comment_out(origin) {
            Some(edit) => format!("{edit} && {reload}"),
            None => format!(
                "echo 'PubkeyAcceptedAlgorithms {}' > /etc/ssh/sshd_config.d/00-sshdoctor-accept.conf && {reload}",
                crate::openssh::DEFAULT_PUBKEY_ALGORITHMS
            ),
        };
    }
    let new_type = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"]
        .into_iter()
        .find(|candidate| algorithms::key_type_accepted(candidate, accepted))
        .map_or("ed25519", |name| match name {
            "ssh-ed25519" => "ed25519",
            "ecdsa-sha2-nistp256" => "ecdsa",
            _ => "rsa -b 4096",
        });
    format!(
        "ssh-keygen -t {new_type}   # on the client, then add the new .pub line to the keys file"
    )
}

pub(super) fn accepted_algorithms(settings: &UserSettings) -> Vec<String> {
    algorithms::resolve(
        settings
            .first("pubkeyacceptedalgorithms")
            .unwrap_or(crate::openssh::DEFAULT_PUBKEY_ALGORITHMS),
    )
}

/// Keys sshd would accept for this user (files that pass, types accepted; for root under
/// forced-commands-only, keys with command=).
pub(super) fn usable_keys(auth: &AuthFacts, user: &UserAuth) -> usize {
    usable_key_list(auth, user).len()
}

/// The keys `usable_keys` counts, with the file each is in.
pub(super) fn usable_key_list<'a>(
    auth: &AuthFacts,
    user: &'a UserAuth,
) -> Vec<(&'a KeysFile, &'a AuthorizedKey)> {
    let Some(account) = &user.account else {
        return Vec::new();
    };
    let strict = is_yes(&user.settings, "strictmodes");
    let accepted = accepted_algorithms(&user.settings);
    let forced_only =
        account.uid == 0 && user.settings.first("permitrootlogin") == Some("forced-commands-only");
    user.keys_files
        .iter()
        .filter(|file| file.stat.kind == FileKind::File && file.unreadable_by_user.is_none())
        .filter(|file| !strict || strict_modes_problem(auth, file, account.uid).is_none())
        .flat_map(|file| file.keys.iter().map(move |key| (file, key)))
        .filter(|(_, key)| algorithms::key_type_accepted(&key.key_type, &accepted))
        .filter(|(_, key)| !key_expired(key, auth.today_days))
        .filter(|(_, key)| !key.is_cert_authority())
        .filter(|(_, key)| !forced_only || key.options.iter().any(|option| option == "command"))
        .collect()
}

/// Every key sshd would accept for the user carries from=, and the clients that reached
/// sshd lately came from addresses none of them allows: the user's logins are refused
/// ("not from a permitted host"). Critical when sshd's log shows the user refused that
/// way since the last good login; a warning when only other connections show where
/// clients come from.
pub(super) fn check_key_sources(facts: &Facts, user: &UserAuth, findings: &mut Vec<Draft>) {
    let keys = usable_key_list(&facts.auth, user);
    let limits: Vec<(&KeysFile, &AuthorizedKey, &str)> = keys
        .iter()
        .filter_map(|(file, key)| Some((*file, *key, key.from.as_deref()?)))
        .collect();
    if limits.is_empty() || limits.len() != keys.len() {
        return;
    }
    let refused = crate::rules::logs::key_source_refusals(facts, &user.name);
    let (clients, severity): (Vec<(IpAddr, String)>, Severity) = if refused.is_empty() {
        (
            crate::rules::clients::recent_clients(facts, &user.name),
            Severity::Warning,
        )
    } else {
        (refused, Severity::Critical)
    };
    let permitted = |address: IpAddr| {
        limits
            .iter()
            .any(|(_, _, from)| patterns::address_permitted(address, from))
    };
    if clients.is_empty() || clients.iter().any(|(address, _)| permitted(*address)) {
        return;
    }
    let (file, key, from) = limits[0];
    let (client, _) = &clients[0];
    let fix = format!(
        "sed -i '{}s|from=\"{from}\"|from=\"{from},{client}\"|' {}",
        key.line, file.path
    );
    let mut finding = Draft::new(RuleId::KeysLimitedToOtherHosts)
        .severity(severity)
        .var("user", user.name.clone())
        .var("client", client.to_string())
        .var("fix", fix)
        .var("file", file.path.clone())
        .var("line", key.line.to_string())
        .var("from_before", format!("from=\"{from}\""))
        .var("from_after", format!("from=\"{from},{client}\""));
    for (file, key, from) in &limits {
        finding = finding.evidence(
            format!("from=\"{from}\" on {} key", key.key_type),
            Some(format!("{}:{}", file.path, key.line)),
        );
    }
    for (address, source) in &clients {
        finding = finding.evidence(format!("a client at {address}"), Some(source.clone()));
    }
    findings.push(finding);
}

/// No key sshd would accept, no AuthorizedKeysCommand, and no password login.
/// The user holds something sshd's publickey method would accept: a usable key, a
/// certificate a cert-authority line trusts, or an AuthorizedKeysCommand to ask.
pub(super) fn key_way_in(auth: &AuthFacts, user: &UserAuth) -> bool {
    let keys_command = user
        .settings
        .first("authorizedkeyscommand")
        .is_some_and(|command| command != "none");
    // A cert-authority line lets in whoever holds a certificate its CA signed.
    let certificates = user
        .keys_files
        .iter()
        .flat_map(|file| &file.keys)
        .any(|key| key.is_cert_authority());
    keys_command || certificates || usable_keys(auth, user) > 0
}

/// Whether the account has a password sshd would take: a usable hash (an empty one only
/// with PermitEmptyPasswords), and for root, PermitRootLogin yes.
pub(super) struct PasswordWay {
    pub state: Option<PasswordState>,
    pub has_password: bool,
    pub root_allowed: bool,
}

impl PasswordWay {
    pub fn of(user: &UserAuth, account: &Account) -> PasswordWay {
        let settings = &user.settings;
        let state = account.shadow.as_ref().map(|shadow| shadow.password);
        PasswordWay {
            state,
            has_password: match state {
                Some(PasswordState::Usable) => true,
                Some(PasswordState::Empty) => is_yes(settings, "permitemptypasswords"),
                Some(PasswordState::Locked | PasswordState::NoPassword) => false,
                None => true, // Unknown (shadow unreadable or NSS user): do not guess.
            },
            root_allowed: account.uid != 0 || settings.first("permitrootlogin") == Some("yes"),
        }
    }

    pub fn works(&self) -> bool {
        self.has_password && self.root_allowed
    }
}

pub(super) fn check_way_in(auth: &AuthFacts, user: &UserAuth, findings: &mut Vec<Draft>) {
    let Some(account) = &user.account else { return };
    let settings = &user.settings;
    let pubkey = is_yes(settings, "pubkeyauthentication");
    if pubkey && key_way_in(auth, user) {
        return;
    }
    let use_pam = is_yes(settings, "usepam");
    let password_methods = is_yes(settings, "passwordauthentication")
        || (use_pam && is_yes(settings, "kbdinteractiveauthentication"));
    let password_way = PasswordWay::of(user, account);
    let (password, has_password, root_password) = (
        password_way.state,
        password_way.has_password,
        password_way.root_allowed,
    );
    if password_methods && password_way.works() {
        return;
    }
    let mut finding = Draft::new(RuleId::NoWayIn).var("user", user.name.clone());
    finding = if !pubkey {
        finding.evidence(
            "PubkeyAuthentication no",
            Some(settings.origin("pubkeyauthentication")),
        )
    } else {
        let looked: Vec<&str> = user
            .keys_files
            .iter()
            .map(|file| file.path.as_str())
            .collect();
        finding.evidence(
            format!("no usable key in {}", looked.join(", ")),
            Some(settings.origin("authorizedkeysfile")),
        )
    };
    finding = match (password_methods, has_password, root_password) {
        (false, _, _) => finding.evidence(
            format!(
                "PasswordAuthentication {}, KbdInteractiveAuthentication {} (UsePAM {})",
                settings.first("passwordauthentication").unwrap_or("?"),
                settings
                    .first("kbdinteractiveauthentication")
                    .unwrap_or("?"),
                settings.first("usepam").unwrap_or("?")
            ),
            Some(settings.origin("passwordauthentication")),
        ),
        (true, false, _) => finding.evidence(
            format!(
                "the account has no usable password ({})",
                password.map_or("?".into(), password_word)
            ),
            Some("/etc/shadow".into()),
        ),
        (true, true, _) => finding.evidence(
            format!(
                "PermitRootLogin {}: no password for root",
                settings.first("permitrootlogin").unwrap_or("?")
            ),
            Some(settings.origin("permitrootlogin")),
        ),
    };
    findings.push(finding);
}

pub(super) fn password_word(state: PasswordState) -> String {
    match state {
        PasswordState::Usable => "set",
        PasswordState::Empty => "empty",
        PasswordState::Locked => "locked",
        PasswordState::NoPassword => "none",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_times_become_days() {
        assert_eq!(expiry_day("19700101"), Some(0));
        assert_eq!(expiry_day("20240101"), Some(19_723));
        assert_eq!(expiry_day("202410041200Z"), Some(20_000));
        assert_eq!(expiry_day("2024"), None);
        assert_eq!(expiry_day("20241301"), None);
    }
}
