//! Who sshd lets in at all: AllowUsers/DenyUsers and the group lists, PermitRootLogin,
//! AuthenticationMethods, nologin, TCP wrappers, and limits low enough to refuse
//! clients (SSH-ACL).

use super::is_yes;
use super::keys::{key_way_in, PasswordWay};
use crate::facts::{Account, AuthFacts, Facts, UserAuth, UserSettings};
use crate::openssh::patterns;
use crate::openssh::patterns::Decision;
use crate::rules::{Draft, RuleId, Severity, SshView};

/// MaxAuthTries below this cuts off clients whose agent offers a few keys first.
const LOW_MAX_AUTH_TRIES: u32 = 3;

/// MaxStartups "start" below this drops concurrent logins (scanners take the slots).
const LOW_MAX_STARTUPS: u32 = 3;

/// DenyUsers, AllowUsers, DenyGroups, AllowGroups, in allowed_user's order; the first
/// refusal is what sshd logs.
pub(super) fn check_access_lists(
    facts: &Facts,
    view: &SshView,
    user: &UserAuth,
    account: &Account,
    findings: &mut Vec<Draft>,
) {
    let settings = &user.settings;
    let list = |keyword: &str| settings.values.get(keyword).cloned().unwrap_or_default();
    let decisions = [
        (
            "denyusers",
            patterns::deny_users(&user.name, &list("denyusers")),
        ),
        (
            "allowusers",
            patterns::allow_users(&user.name, &list("allowusers")),
        ),
        (
            "denygroups",
            patterns::deny_groups(&account.groups, &list("denygroups")),
        ),
        (
            "allowgroups",
            patterns::allow_groups(&account.groups, &list("allowgroups")),
        ),
    ];
    for (keyword, decision) in decisions {
        let (rule, why) = match decision {
            Decision::Allowed => continue,
            Decision::Refused(why) => (RuleId::UserRefusedByAcl, why),
            Decision::OnlyFrom(why) => (RuleId::UserLimitedByHost, why),
        };
        let refused = rule == RuleId::UserRefusedByAcl;
        let origin = crate::rules::setting_origin(facts, settings, keyword);
        let mut finding = Draft::new(rule)
            .var("user", user.name.clone())
            .var("reason", why.clone())
            .evidence(
                format!("{keyword} {}", list(keyword).join(" ")),
                Some(origin.clone()),
            );
        // At a known line, the catalogue's actions comment a Deny line out or add the
        // user (or the user's group) to an Allow line; elsewhere a drop-in, by hand.
        match (refused, crate::rules::located(&origin)) {
            (true, Some((file, line))) if keyword.starts_with("deny") => {
                finding = finding.var("file", file).var("line", line.to_string());
            }
            (true, Some((file, line))) => {
                let word = match keyword {
                    "allowgroups" => account.groups.first().map_or(&user.name, |group| group),
                    _ => &user.name,
                };
                finding = finding
                    .var("allow_file", file)
                    .var("allow_line", line.to_string())
                    .var("word", word.clone());
            }
            (true, None) => {
                let fix = allow_list_drop_in(keyword, &origin, &user.name, account);
                finding = finding.var(
                    "fix",
                    format!("{fix} && {}", crate::rules::reload_sshd(facts, view)),
                );
            }
            _ => {}
        }
        findings.push(finding);
        if refused {
            return;
        }
    }
}

/// The edit that lets the user past one access list sshd names no line for: an Allow
/// list takes a drop-in (sshd adds every AllowUsers and AllowGroups line to the list);
/// a Deny line is looked for by hand.
fn allow_list_drop_in(keyword: &str, origin: &str, user: &str, account: &Account) -> String {
    let group = account.groups.first().map_or(user, String::as_str);
    match keyword {
        "allowusers" => {
            format!("echo 'AllowUsers {user}' > /etc/ssh/sshd_config.d/00-sshdoctor-allow.conf")
        }
        "allowgroups" => {
            format!("echo 'AllowGroups {group}' > /etc/ssh/sshd_config.d/00-sshdoctor-allow.conf")
        }
        _ => crate::rules::comment_out(origin)
            .unwrap_or_else(|| format!("grep -rni '^ *{keyword}' /etc/ssh   # comment it out")),
    }
}

pub(super) fn check_root(user: &UserAuth, findings: &mut Vec<Draft>) {
    if user.account.as_ref().is_none_or(|account| account.uid != 0) {
        return;
    }
    let value = user
        .settings
        .first("permitrootlogin")
        .unwrap_or("prohibit-password");
    let refused = match value {
        "no" => "refuses every root login",
        "forced-commands-only"
            if !user
                .keys_files
                .iter()
                .flat_map(|file| &file.keys)
                .any(|key| key.options.iter().any(|option| option == "command")) =>
        {
            "accepts root only with keys that carry command=\"...\", and none does"
        }
        _ => return,
    };
    findings.push(
        Draft::new(RuleId::RootLoginRefused)
            .var("user", user.name.clone())
            .var("value", value)
            .var("reason", refused)
            .evidence(
                format!("PermitRootLogin {value}"),
                Some(user.settings.origin("permitrootlogin")),
            ),
    );
}

/// /etc/nologin blocks every non-root login (PAM's pam_nologin or session.c do_nologin);
/// /run/nologin only through pam_nologin.
pub(super) fn check_nologin(auth: &AuthFacts, findings: &mut Vec<Draft>) {
    let use_pam = auth
        .users
        .first()
        .is_some_and(|user| is_yes(&user.settings, "usepam"));
    for file in &auth.nologin_files {
        if file.path != "/etc/nologin" && !use_pam {
            continue;
        }
        let blocked: Vec<&str> = auth
            .users
            .iter()
            .filter(|user| {
                user.account
                    .as_ref()
                    .is_some_and(|account| account.uid != 0)
            })
            .map(|user| user.name.as_str())
            .collect();
        let mut finding = Draft::new(RuleId::NologinBlocksLogins)
            .var("path", file.path.clone())
            .evidence(
                format!("{} exists: \"{}\"", file.path, file.message),
                Some(file.path.clone()),
            );
        if !blocked.is_empty() {
            finding = finding.evidence(format!("users refused: {}", blocked.join(", ")), None);
        }
        findings.push(finding);
    }
}

/// hosts_access(5): the first matching hosts.allow line grants, else the first matching
/// hosts.deny line refuses. Only sshd built with libwrap reads them.
pub(super) fn check_tcp_wrappers(facts: &Facts, findings: &mut Vec<Draft>) {
    let wrappers = &facts.auth.tcp_wrappers;
    if wrappers.deny.is_empty() {
        return;
    }
    let rule = match facts.sshd.uses_libwrap {
        Some(true) => RuleId::TcpWrappersDeny,
        Some(false) => RuleId::TcpWrappersIgnored,
        None => return,
    };
    let denies_everyone = wrappers.deny.iter().any(|line| {
        line.value.split_once(':').is_some_and(|(_, clients)| {
            clients
                .split(':')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("ALL")
        })
    });
    // Every deny line naming sshd or ALL, commented out: sshd reads the files again for
    // each connection, so nothing restarts.
    let mut finding = Draft::new(rule).edits_lines(&wrappers.deny, || {
        crate::rules::comment_out_all(&wrappers.deny).unwrap_or_default()
    });
    for line in wrappers.deny.iter().chain(&wrappers.allow) {
        finding = finding.evidence(line.value.clone(), Some(line.location()));
    }
    if rule == RuleId::TcpWrappersDeny && !(denies_everyone && wrappers.allow.is_empty()) {
        finding = finding.severity(Severity::Warning);
    }
    findings.push(finding);
}

/// MaxAuthTries and MaxStartups low enough to refuse ordinary clients.
pub(super) fn check_limits(settings: &UserSettings, findings: &mut Vec<Draft>) {
    if let Some(tries) = settings
        .first("maxauthtries")
        .and_then(|value| value.parse::<u32>().ok())
    {
        if tries < LOW_MAX_AUTH_TRIES {
            findings.push(
                Draft::new(RuleId::MaxAuthTriesLow)
                    .var("value", tries.to_string())
                    .evidence(
                        format!("MaxAuthTries {tries}"),
                        Some(settings.origin("maxauthtries")),
                    ),
            );
        }
    }
    if let Some(value) = settings.first("maxstartups") {
        let start = value
            .split(':')
            .next()
            .and_then(|start| start.parse::<u32>().ok());
        if start.is_some_and(|start| start < LOW_MAX_STARTUPS) {
            findings.push(
                Draft::new(RuleId::MaxStartupsLow)
                    .var("value", value)
                    .evidence(
                        format!("MaxStartups {value}"),
                        Some(settings.origin("maxstartups")),
                    ),
            );
        }
    }
}

/// AuthenticationMethods: sshd skips every list that names a method it has disabled
/// (auth2.c auth2_setup_methods_lists), then lets a user in only once every method of
/// one remaining list has succeeded. Judged only for a user who could log in with one
/// method alone, so that the setting is what locks the user out.
pub(super) fn check_authentication_methods(
    facts: &Facts,
    view: &SshView,
    user: &UserAuth,
    account: &Account,
    findings: &mut Vec<Draft>,
) {
    let settings = &user.settings;
    let Some(lists) = settings.values.get("authenticationmethods") else {
        return;
    };
    if lists.is_empty() || lists.iter().any(|list| list == "any") {
        return;
    }
    let key = is_yes(settings, "pubkeyauthentication") && key_way_in(&facts.auth, user);
    let password_way = PasswordWay::of(user, account);
    let password = is_yes(settings, "passwordauthentication") && password_way.works();
    if !key && !password {
        return; // No way in at all: SSH-AKF-005 says so.
    }
    let mut blocked = Vec::new();
    for list in lists {
        let missing = list
            .split(',')
            .find_map(|method| method_missing(user, &password_way, key, method));
        match missing {
            None => return, // The user can complete this list.
            Some(why) => blocked.push(format!("{list}: {why}")),
        }
    }
    let origin = crate::rules::setting_origin(facts, settings, "authenticationmethods");
    let reload = crate::rules::reload_sshd(facts, view);
    let mut finding = Draft::new(RuleId::AuthenticationMethodsUnmet)
        .edits_line(&origin, || {
            format!(
                "echo 'AuthenticationMethods any' > /etc/ssh/sshd_config.d/00-authentication-methods.conf && {reload}"
            )
        })
        .var("user", user.name.clone())
        .var("methods", lists.join(" "))
        .evidence(
            format!("AuthenticationMethods {}", lists.join(" ")),
            Some(origin),
        );
    for why in blocked {
        finding = finding.evidence(why, None);
    }
    findings.push(finding);
}

/// Why `user` cannot complete `method` (a disabled method makes sshd skip its list);
/// None when the user can, or when sshd's answer is not in the facts (PAM's other
/// modules behind keyboard-interactive, host keys behind hostbased, Kerberos).
fn method_missing(
    user: &UserAuth,
    password_way: &PasswordWay,
    key: bool,
    method: &str,
) -> Option<String> {
    let settings = &user.settings;
    let disabled = |keyword: &str, name: &str| {
        (settings.first(keyword) == Some("no"))
            .then(|| format!("{name} no, so sshd skips this list"))
    };
    match method.split(':').next().unwrap_or(method) {
        "publickey" => disabled("pubkeyauthentication", "PubkeyAuthentication")
            .or_else(|| (!key).then(|| format!("sshd accepts no key of {}", user.name))),
        "password" => disabled("passwordauthentication", "PasswordAuthentication").or_else(|| {
            match password_way.state {
                _ if password_way.works() => None,
                Some(state) if !password_way.has_password => Some(format!(
                    "{} has no usable password ({})",
                    user.name,
                    super::keys::password_word(state)
                )),
                _ => Some("PermitRootLogin allows root no password".into()),
            }
        }),
        "keyboard-interactive" => disabled(
            "kbdinteractiveauthentication",
            "KbdInteractiveAuthentication",
        )
        .or_else(|| {
            (settings.first("usepam") == Some("no"))
                .then(|| "keyboard-interactive needs UsePAM yes, so sshd skips this list".into())
        }),
        "hostbased" => disabled("hostbasedauthentication", "HostbasedAuthentication"),
        "gssapi-with-mic" => disabled("gssapiauthentication", "GSSAPIAuthentication"),
        _ => None,
    }
}
