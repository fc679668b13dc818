//! What a PAM module returns for one user logging in over SSH from another machine,
//! where the facts tell: the modules that refuse by design (pam_deny, a missing module,
//! a line PAM cannot use), the ones that judge the user from files this collection read
//! (pam_access, pam_listfile, pam_succeed_if, pam_nologin), and the ones that set a
//! session up and succeed. Anything else is unknown, and the stack is judged both ways.

use super::dispatch::{ReturnValue, IGNORE, MODULE_UNKNOWN, PERM_DENIED, SUCCESS};
use crate::facts::{Account, Facts, PamAccessRule, PamLine, UserAuth};

/// A module's result for this user, with the file:line that decided it when that is not
/// the PAM line itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prediction {
    Known {
        value: ReturnValue,
        /// The rule or list entry that decided it ("/etc/security/access.conf:3").
        because: Option<String>,
    },
    Unknown,
}

fn known(value: ReturnValue) -> Prediction {
    Prediction::Known {
        value,
        because: None,
    }
}

/// Modules that set up or record a session and succeed for an ordinary login.
const SUCCEEDS: &[&str] = &[
    "pam_env.so",
    "pam_limits.so",
    "pam_loginuid.so",
    "pam_keyinit.so",
    "pam_motd.so",
    "pam_mail.so",
    "pam_umask.so",
    "pam_lastlog.so",
    "pam_lastlog2.so",
    "pam_systemd.so",
    "pam_selinux.so",
    "pam_mkhomedir.so",
    "pam_xauth.so",
    "pam_tty_audit.so",
    "pam_unix.so",
    "pam_permit.so",
    "pam_faillock.so",
    "pam_warn.so",
    "pam_echo.so",
    "pam_group.so",
    "pam_console.so",
    "pam_namespace.so",
    "pam_systemd_home.so",
    "pam_gnome_keyring.so",
];

pub struct Subject<'a> {
    pub user: &'a UserAuth,
    pub account: &'a Account,
    pub facts: &'a Facts,
    /// The addresses the user's clients came from, as far as this machine saw.
    pub clients: &'a [(std::net::IpAddr, String)],
    /// "account" or "session".
    pub stage: &'a str,
}

pub fn predict(line: &PamLine, subject: &Subject) -> Prediction {
    if line.must_fail.is_some() {
        return known(PERM_DENIED);
    }
    if line.module_exists == Some(false) {
        return known(MODULE_UNKNOWN);
    }
    let name = line.module_name();
    match name {
        "pam_deny.so" => known(match subject.stage {
            "account" => "acct_expired",
            _ => "session_err",
        }),
        "pam_nologin.so" => nologin(line, subject),
        "pam_access.so" => access(line, subject),
        "pam_listfile.so" => listfile(line, subject),
        "pam_succeed_if.so" => succeed_if(line, subject),
        _ if SUCCEEDS.contains(&name) => known(SUCCESS),
        _ => Prediction::Unknown,
    }
}

/// pam_nologin: a nologin file refuses every user but root; without one, PAM_IGNORE.
fn nologin(line: &PamLine, subject: &Subject) -> Prediction {
    if line.argument("file").is_some() {
        return Prediction::Unknown;
    }
    match subject.facts.auth.nologin_files.first() {
        Some(file) if subject.account.uid != 0 => Prediction::Known {
            value: "auth_err",
            because: Some(file.path.clone()),
        },
        Some(_) => known(SUCCESS),
        None if line.args.iter().any(|arg| arg == "successok") => known(SUCCESS),
        None => known(IGNORE),
    }
}

/// Three-valued match: an origin pam_access cannot know ahead of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Yes,
    No,
    Depends,
}

/// access.conf's list syntax: items up to EXCEPT match, unless an item after it does.
fn list_match(list: &str, item_match: impl Fn(&str) -> Match) -> Match {
    let words: Vec<&str> = list
        .split([' ', '\t', ','])
        .filter(|w| !w.is_empty())
        .collect();
    let (head, except) = match words.iter().position(|w| *w == "EXCEPT") {
        Some(at) => (&words[..at], &words[at + 1..]),
        None => (&words[..], &[][..]),
    };
    let any = |items: &[&str]| {
        items
            .iter()
            .fold(Match::No, |found, item| match (found, item_match(item)) {
                (Match::Yes, _) | (_, Match::Yes) => Match::Yes,
                (Match::Depends, _) | (_, Match::Depends) => Match::Depends,
                _ => Match::No,
            })
    };
    match (any(head), any(except)) {
        (Match::No, _) => Match::No,
        (_, Match::Yes) => Match::No,
        (Match::Depends, _) | (_, Match::Depends) => Match::Depends,
        (Match::Yes, Match::No) => Match::Yes,
    }
}

fn both(a: Match, b: Match) -> Match {
    match (a, b) {
        (Match::No, _) | (_, Match::No) => Match::No,
        (Match::Yes, Match::Yes) => Match::Yes,
        _ => Match::Depends,
    }
}

/// pam_access for a client on another machine: the first rule whose users and origins
/// match decides; no match allows.
fn access(line: &PamLine, subject: &Subject) -> Prediction {
    if line.argument("fieldsep").is_some() {
        return Prediction::Unknown;
    }
    let rules = match access_rules(line, subject) {
        Ok(rules) => rules,
        Err(outcome) => return outcome,
    };
    let default_groups = !line.args.iter().any(|arg| arg == "nodefgroup");
    let user = subject.user.name.as_str();
    let groups = &subject.account.groups;
    let user_item = |item: &str| -> Match {
        if item == "ALL" || item == user {
            return Match::Yes;
        }
        if let Some(group) = item
            .strip_prefix('(')
            .and_then(|rest| rest.strip_suffix(')'))
        {
            return if groups.iter().any(|g| g == group) {
                Match::Yes
            } else {
                Match::No
            };
        }
        if item.starts_with('@') || item.contains('@') {
            return Match::Depends;
        }
        if default_groups && groups.iter().any(|g| g == item) {
            return Match::Yes;
        }
        Match::No
    };
    // Judged for each address the user's clients came from, when any is known; the
    // stack refuses only if pam_access refuses every one of them.
    if subject.clients.is_empty() {
        return decide(&rules, &user_item, None);
    }
    let outcomes: Vec<Prediction> = subject
        .clients
        .iter()
        .map(|(address, _)| decide(&rules, &user_item, Some(*address)))
        .collect();
    if outcomes.iter().all(|outcome| outcome == &outcomes[0]) {
        outcomes[0].clone()
    } else {
        Prediction::Unknown
    }
}

/// The rules a pam_access line reads, in order: `accessfile=`, else access.conf and
/// access.d. Err: the outcome when they cannot be had (unreadable: pam_access refuses).
fn access_rules<'a>(
    line: &PamLine,
    subject: &Subject<'a>,
) -> Result<Vec<&'a PamAccessRule>, Prediction> {
    let pam = &subject.facts.pam;
    let files: Vec<&str> = match line.argument("accessfile") {
        Some(path) => vec![path],
        None => pam
            .access_files
            .iter()
            .map(|file| file.path.as_str())
            .filter(|path| is_default_access_file(path))
            .collect(),
    };
    let mut rules: Vec<&PamAccessRule> = Vec::new();
    for path in files {
        let Some(file) = pam.access_files.iter().find(|f| f.path == path) else {
            return Err(Prediction::Unknown);
        };
        match &file.rules {
            Some(found) => rules.extend(found),
            None if path == "/etc/security/access.conf"
                || line.argument("accessfile").is_some() =>
            {
                return Err(Prediction::Known {
                    value: PERM_DENIED,
                    because: Some(path.to_string()),
                })
            }
            None => {}
        }
    }
    Ok(rules)
}

/// The first rule whose users and origins match decides; no match allows. Without an
/// address, origins other than ALL and LOCAL depend on the client.
fn decide(
    rules: &[&PamAccessRule],
    user_item: &dyn Fn(&str) -> Match,
    client: Option<std::net::IpAddr>,
) -> Prediction {
    // A remote client: LOCAL (a name without a dot) never matches its address.
    let origin_item = |item: &str| -> Match {
        match (item, client) {
            ("ALL", _) => Match::Yes,
            ("LOCAL", _) => Match::No,
            (_, Some(address)) => origin_matches(item, address),
            (_, None) => Match::Depends,
        }
    };
    let mut undecided: Option<&PamAccessRule> = None;
    for rule in rules {
        let applies = both(
            list_match(&rule.users, user_item),
            list_match(&rule.origins, origin_item),
        );
        match applies {
            Match::No => {}
            Match::Depends => {
                undecided.get_or_insert(rule);
            }
            Match::Yes => {
                if undecided.is_some_and(|earlier| earlier.allow != rule.allow) {
                    return Prediction::Unknown;
                }
                return Prediction::Known {
                    value: if rule.allow { SUCCESS } else { PERM_DENIED },
                    because: Some(rule.source.clone()),
                };
            }
        }
    }
    match undecided {
        Some(rule) if !rule.allow => Prediction::Unknown,
        _ => known(SUCCESS),
    }
}

/// access.conf(5) origins for a client known by its address: an address, a prefix
/// ending in "." ("192.0.2."), or network/prefix-length or network/netmask. Host and
/// domain names and netgroups depend on name lookups sshdoctor does not make.
fn origin_matches(item: &str, address: std::net::IpAddr) -> Match {
    let text = address.to_string();
    if let Some((network, mask)) = item.split_once('/') {
        let prefix = match mask.parse::<std::net::Ipv4Addr>() {
            Ok(netmask) => u32::from(netmask).count_ones().to_string(),
            Err(_) => mask.to_string(),
        };
        let cidr = format!("{network}/{prefix}");
        return if crate::openssh::patterns::address_permitted(address, &cidr) {
            Match::Yes
        } else {
            Match::No
        };
    }
    if item.ends_with('.') && item.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return if text.starts_with(item) {
            Match::Yes
        } else {
            Match::No
        };
    }
    match item.parse::<std::net::IpAddr>() {
        Ok(listed) => {
            if listed.to_canonical() == address {
                Match::Yes
            } else {
                Match::No
            }
        }
        Err(_) => Match::Depends,
    }
}

fn is_default_access_file(path: &str) -> bool {
    path == "/etc/security/access.conf" || path.starts_with("/etc/security/access.d/")
}

/// pam_listfile with item=user, group or shell.
fn listfile(line: &PamLine, subject: &Subject) -> Prediction {
    let (Some(item), Some(sense), Some(path)) = (
        line.argument("item"),
        line.argument("sense"),
        line.argument("file"),
    ) else {
        return known(PERM_DENIED); // Incomplete arguments: the module refuses.
    };
    if let Some(apply) = line.argument("apply") {
        let applies = match apply.strip_prefix('@') {
            Some(group) => subject.account.groups.iter().any(|g| g == group),
            None => apply == subject.user.name,
        };
        if !applies {
            return known(IGNORE);
        }
    }
    let Some(list) = subject.facts.pam.list_files.iter().find(|f| f.path == path) else {
        return Prediction::Unknown;
    };
    let Some(entries) = &list.entries else {
        return Prediction::Known {
            value: if line.argument("onerr") == Some("succeed") {
                SUCCESS
            } else {
                "service_err"
            },
            because: Some(path.to_string()),
        };
    };
    let found = match item {
        "user" => entries.contains(&subject.user.name),
        "group" => entries
            .iter()
            .any(|entry| subject.account.groups.contains(entry)),
        "shell" => entries.contains(&subject.account.shell),
        _ => return Prediction::Unknown,
    };
    let granted = found == (sense == "allow");
    Prediction::Known {
        value: if granted { SUCCESS } else { "auth_err" },
        because: Some(path.to_string()),
    }
}

/// pam_succeed_if's conditions on the account (all must hold).
fn succeed_if(line: &PamLine, subject: &Subject) -> Prediction {
    const OPTIONS: &[&str] = &[
        "quiet",
        "quiet_fail",
        "quiet_success",
        "use_uid",
        "debug",
        "audit",
    ];
    let words: Vec<&str> = line
        .args
        .iter()
        .map(String::as_str)
        .filter(|word| !OPTIONS.contains(word))
        .collect();
    if words.is_empty() || !words.len().is_multiple_of(3) {
        return Prediction::Unknown;
    }
    let account = subject.account;
    for condition in words.chunks(3) {
        let (field, op, value) = (condition[0], condition[1], condition[2]);
        let text = match field {
            "user" | "login" => subject.user.name.clone(),
            "uid" => account.uid.to_string(),
            "gid" => account.gid.to_string(),
            "shell" => account.shell.clone(),
            "home" => account.home.clone(),
            "service" => "sshd".to_string(),
            _ => return Prediction::Unknown,
        };
        let number = |s: &str| s.parse::<i64>().ok();
        let holds = match (op, number(&text), number(value)) {
            ("<", Some(a), Some(b)) => a < b,
            ("<=", Some(a), Some(b)) => a <= b,
            (">", Some(a), Some(b)) => a > b,
            (">=", Some(a), Some(b)) => a >= b,
            ("eq", Some(a), Some(b)) => a == b,
            ("ne", Some(a), Some(b)) => a != b,
            ("=", _, _) => text == value,
            ("!=", _, _) => text != value,
            ("in", _, _) => value.split(':').any(|v| v == text),
            ("notin", _, _) => !value.split(':').any(|v| v == text),
            ("ingroup", _, _) if field == "user" => account.groups.iter().any(|g| g == value),
            ("notingroup", _, _) if field == "user" => !account.groups.iter().any(|g| g == value),
            _ => return Prediction::Unknown,
        };
        if !holds {
            return known("auth_err");
        }
    }
    known(SUCCESS)
}
