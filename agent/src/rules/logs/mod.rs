//! sshd's own account of refused logins and failed starts, from its recent log lines.
//!
//! Each line is classified by the first pattern that matches its message; a rule fires
//! once per kind of line, with how many were seen, the newest as evidence, and the values
//! it captured (user, host, path, ...) as the finding's placeholders. Lines are history:
//! see rules/logs.toml for why these rules warn, and when a user's refusal is recent
//! enough to be critical.

mod classes;

use classes::classify;

use super::{Draft, RuleId, Severity, SshView};
use crate::facts::{Facts, LogFacts, LogLine};
use std::collections::BTreeMap;

/// Distinct user names shown in a title.
const MAX_USERS_SHOWN: usize = 5;

/// The lines of one rule.
#[derive(Default)]
struct Matches<'a> {
    count: usize,
    newest: Option<&'a LogLine>,
    /// Each placeholder's value in the newest line that has it.
    values: BTreeMap<&'static str, String>,
    /// Distinct user names, newest first.
    users: Vec<String>,
}

/// Failures that stop sshd from starting; once a later sshd has started, they are
/// history, and the live checks say whether the cause is still there.
const STARTUP_FAILURES: &[RuleId] = &[
    RuleId::LogHostKeyUnloadable,
    RuleId::LogNoHostKeys,
    RuleId::LogPrivsepDirMissing,
    RuleId::LogBindFailed,
    RuleId::LogSessionBinaryMissing,
];

/// Index and pid of the newest "Server listening on ..." line: the last successful start.
fn last_start(lines: &[LogLine]) -> Option<(usize, Option<u32>)> {
    lines
        .iter()
        .rposition(|line| line.message.starts_with("Server listening on "))
        .map(|index| (index, lines[index].pid))
}

/// A startup failure logged before the last successful start of another sshd process.
/// (The same pid both failing and listening is one start that bound only some addresses:
/// still a problem.)
fn superseded(index: usize, line: &LogLine, last_start: Option<(usize, Option<u32>)>) -> bool {
    last_start.is_some_and(|(start, pid)| index < start && (pid.is_none() || pid != line.pid))
}

/// Refusals of one user's login: once that user has logged in after them, they are
/// history (the cause was fixed), whatever the log still holds.
const USER_REFUSALS: &[RuleId] = &[
    RuleId::LogBadModes,
    RuleId::LogUserNotAllowed,
    RuleId::LogUserShellUnusable,
    RuleId::LogAccountLocked,
    RuleId::LogPubkeyAlgorithmRefused,
    RuleId::LogAccountExpired,
    RuleId::LogPasswordExpired,
    RuleId::LogPamRefused,
    RuleId::LogKeyNotFromPermittedHost,
    RuleId::LogRefusedByKeyOptions,
    RuleId::LogNoMoreSessions,
    RuleId::LogChrootRefused,
];

/// For each user, the index of the newest "Accepted METHOD for USER from ..." line.
fn last_logins(lines: &[LogLine]) -> BTreeMap<&str, usize> {
    let mut logins = BTreeMap::new();
    for (index, line) in lines.iter().enumerate() {
        let Some(rest) = line.message.strip_prefix("Accepted ") else {
            continue;
        };
        if let Some(user) = rest
            .split(" for ")
            .nth(1)
            .and_then(|after| after.split(' ').next())
        {
            logins.insert(user, index);
        }
    }
    logins
}

/// The client addresses sshd refused `user`'s key for because of its from= option, since
/// the user's last good login, newest first, each with where the log says so.
pub(super) fn key_source_refusals(facts: &Facts, user: &str) -> Vec<(std::net::IpAddr, String)> {
    let lines = &facts.logs.lines;
    let logins = last_logins(lines);
    let mut found: Vec<(std::net::IpAddr, String)> = Vec::new();
    for (index, line) in lines.iter().enumerate().rev() {
        if line.own_probe {
            continue;
        }
        let Some(classified) = classify(&line.message) else {
            continue;
        };
        if classified.rule != RuleId::LogKeyNotFromPermittedHost
            || classified.captures.get("user").map(String::as_str) != Some(user)
            || refusal_outlived(index, &classified.captures, &logins)
        {
            continue;
        }
        let Some(address) = classified
            .captures
            .get("ip")
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
        else {
            continue;
        };
        if !found.iter().any(|(seen, _)| *seen == address) {
            let time = line.time.as_deref().unwrap_or("at an unknown time");
            found.push((address, format!("{time}, {}", line.source)));
        }
    }
    found
}

/// The addresses sshd's log shows `user` connecting from ("Accepted|Failed METHOD for
/// USER from ADDRESS port N"), newest first, each with where the log says so.
pub(super) fn user_client_addresses(facts: &Facts, user: &str) -> Vec<(std::net::IpAddr, String)> {
    let mut found: Vec<(std::net::IpAddr, String)> = Vec::new();
    for (name, address, line, _) in client_lines(facts) {
        if name == user && !found.iter().any(|(seen, _)| *seen == address) {
            let time = line.time.as_deref().unwrap_or("at an unknown time");
            found.push((address, format!("{time}, {}", line.source)));
        }
    }
    found
}

/// A client that logged in here: who, from where, and when the log says so.
pub struct KnownClient {
    pub address: std::net::IpAddr,
    pub user: String,
    /// "2026-12-06T10:00:00Z, journal".
    pub seen: String,
}

/// The addresses clients logged in from ("Accepted METHOD for USER from ADDRESS port
/// N"), newest first, each once.
pub fn logged_in_clients(facts: &Facts) -> Vec<KnownClient> {
    let mut found: Vec<KnownClient> = Vec::new();
    for (name, address, line, accepted) in client_lines(facts) {
        if accepted && !found.iter().any(|known| known.address == address) {
            let time = line.time.as_deref().unwrap_or("at an unknown time");
            found.push(KnownClient {
                address,
                user: name.to_string(),
                seen: format!("{time}, {}", line.source),
            });
        }
    }
    found
}

/// The "Accepted|Failed METHOD for USER from ADDRESS port N" lines of clients (not the
/// live probes), newest first: the user, the address, the line, and whether accepted.
fn client_lines(
    facts: &Facts,
) -> impl Iterator<Item = (&str, std::net::IpAddr, &crate::facts::LogLine, bool)> {
    facts
        .logs
        .lines
        .iter()
        .rev()
        .filter(|line| !line.own_probe)
        .filter_map(|line| {
            let (rest, accepted) = match line.message.strip_prefix("Accepted ") {
                Some(rest) => (rest, true),
                None => (line.message.strip_prefix("Failed ")?, false),
            };
            let (_, after) = rest.split_once(" for ")?;
            let after = after.strip_prefix("invalid user ").unwrap_or(after);
            let (name, from) = after.split_once(" from ")?;
            let address = from.split(' ').next()?.parse().ok()?;
            Some((name, address, line, accepted))
        })
}

/// A connection from `host` that sshd went on with after line `index`: a refusal of
/// that host before it is history.
fn later_connection(lines: &[LogLine], index: usize, host: &str) -> bool {
    let accepted = format!(" from {host} port ");
    let connected = format!("Connection from {host} port ");
    lines[index + 1..].iter().any(|line| {
        line.message.starts_with(&connected)
            || (line.message.starts_with("Accepted ") && line.message.contains(&accepted))
    })
}

/// Lines about one connection's user that do not name the user.
const NAMELESS: &[RuleId] = &[
    RuleId::LogPubkeyAlgorithmRefused,
    RuleId::LogPamRefused,
    RuleId::LogRefusedByKeyOptions,
    RuleId::LogNoMoreSessions,
    RuleId::LogChrootRefused,
];

/// The user a connection's line is about when it names none ("PAM:
/// pam_open_session(): ...", "no more sessions", "Refused by key options"): the nearest
/// "Accepted|Failed METHOD for USER" of the same sshd process, before the line, else
/// after it; else, since the session runs in a child of the process that logged the
/// login, the "Accepted" line just before it.
fn session_user<'a>(lines: &'a [LogLine], index: usize) -> Option<&'a str> {
    let pid = lines[index].pid?;
    let same_process = |line: &'a LogLine| {
        if line.pid != Some(pid) {
            return None;
        }
        named_user(line)
    };
    let before = lines[..index].iter().rev().take(50).find_map(same_process);
    before
        .or_else(|| lines[index + 1..].iter().take(50).find_map(same_process))
        .or_else(|| {
            lines[..index]
                .iter()
                .rev()
                .take(NEARBY_LINES)
                .filter(|line| line.message.starts_with("Accepted "))
                .find_map(named_user)
        })
}

/// Lines between a login and its session's own lines, as sshd logs them.
const NEARBY_LINES: usize = 10;

/// The user of an "Accepted|Failed METHOD for [invalid user ]USER from ..." line, or of
/// the "Connection closed by authenticating user USER ..." that ends a refused attempt.
fn named_user(line: &LogLine) -> Option<&str> {
    for closing in [
        "Connection closed by authenticating user ",
        "Disconnected from authenticating user ",
    ] {
        if let Some(rest) = line.message.strip_prefix(closing) {
            return rest.split(' ').next();
        }
    }
    let rest = line
        .message
        .strip_prefix("Accepted ")
        .or_else(|| line.message.strip_prefix("Failed "))?;
    let after = rest.split(" for ").nth(1)?;
    let after = after.strip_prefix("invalid user ").unwrap_or(after);
    after.split(' ').next()
}

/// "Refused by key options" right after the from= line of the same connection says the
/// same thing again.
fn repeats_from_refusal(lines: &[LogLine], index: usize) -> bool {
    let pid = lines[index].pid;
    lines[..index]
        .iter()
        .rev()
        .find(|line| line.pid == pid)
        .is_some_and(|line| line.message.contains("not from a permitted host"))
}

/// A refusal followed by a successful login of the same user. The user is the one the
/// line names, or for a path refusal (bad modes) the user whose name is a component of
/// the path (/home/alice/.ssh).
fn refusal_outlived(
    index: usize,
    captures: &BTreeMap<&'static str, String>,
    logins: &BTreeMap<&str, usize>,
) -> bool {
    let later = |user: &str| logins.get(user).is_some_and(|&login| login > index);
    match (captures.get("user"), captures.get("path")) {
        (Some(user), _) => later(user),
        (None, Some(path)) => path
            .split('/')
            .any(|component| !component.is_empty() && later(component)),
        _ => false,
    }
}

pub fn check(facts: &Facts, _view: &SshView, findings: &mut Vec<Draft>) {
    let mut by_rule: BTreeMap<RuleId, Matches> = BTreeMap::new();
    let last_start = last_start(&facts.logs.lines);
    let logins = last_logins(&facts.logs.lines);
    // Newest first, so the first value seen for a placeholder is the newest.
    for (index, line) in facts.logs.lines.iter().enumerate().rev() {
        // sshdoctor's own probes are not a client's experience.
        if line.own_probe {
            continue;
        }
        let Some(mut classified) = classify(&line.message) else {
            continue;
        };
        if classified.rule == RuleId::LogRefusedByKeyOptions
            && repeats_from_refusal(&facts.logs.lines, index)
        {
            continue;
        }
        if classified.rule == RuleId::LogTcpWrappersRefused
            && classified
                .captures
                .get("host")
                .is_some_and(|host| later_connection(&facts.logs.lines, index, host))
        {
            continue;
        }
        if NAMELESS.contains(&classified.rule) && !classified.captures.contains_key("user") {
            if let Some(user) = session_user(&facts.logs.lines, index) {
                classified.captures.insert("user", user.to_string());
            }
        }
        if STARTUP_FAILURES.contains(&classified.rule) && superseded(index, line, last_start) {
            continue;
        }
        if USER_REFUSALS.contains(&classified.rule)
            && refusal_outlived(index, &classified.captures, &logins)
        {
            continue;
        }
        let matches = by_rule.entry(classified.rule).or_default();
        matches.count += 1;
        matches.newest.get_or_insert(line);
        for (name, value) in classified.captures {
            if name == "user" && !matches.users.contains(&value) {
                matches.users.push(value.clone());
            }
            matches.values.entry(name).or_insert(value);
        }
    }
    for (rule, matches) in by_rule {
        let lately = USER_REFUSALS
            .contains(&rule)
            .then(|| refused_lately(&matches, &facts.logs, last_start.map(|(index, _)| index)))
            .flatten()
            .filter(|_| !explained(&matches.users, findings));
        let users = users_shown(&matches.users);
        let mut finding = finding(rule, matches, &facts.logs);
        if let Some(minutes) = lately {
            finding = finding.severity(Severity::Critical).evidence(
                format!(
                    "no login of {users} has succeeded since, and the last refusal was {minutes} min before this diagnosis"
                ),
                None,
            );
        }
        findings.push(finding);
    }
}

/// A refusal this recent, with no good login of the user since, describes today's
/// machine, not its history.
const RECENT_MINUTES: i64 = 60;

/// How many minutes before the log was read its newest refusal came, when that is
/// within `RECENT_MINUTES` (refusals a later login outlived are already left out).
fn refused_lately(matches: &Matches, logs: &LogFacts, last_start: Option<usize>) -> Option<i64> {
    if matches.users.is_empty() {
        return None;
    }
    let newest = matches.newest?;
    let when = rfc3339_seconds(newest.time.as_deref()?)?;
    // sshd started again since, or a file that decides a login changed: it may be fixed.
    let position = logs
        .lines
        .iter()
        .position(|line| std::ptr::eq(line, newest));
    let restarted = matches!((last_start, position), (Some(start), Some(at)) if start > at);
    let changed = logs
        .login_files_changed_at
        .is_some_and(|changed| changed >= when);
    if restarted || changed {
        return None;
    }
    let minutes = (logs.read_at? - when) / 60;
    (0..=RECENT_MINUTES).contains(&minutes).then_some(minutes)
}

/// A current finding already says why these users are refused.
fn explained(users: &[String], findings: &[Draft]) -> bool {
    findings.iter().any(|finding| {
        finding.severity == Severity::Critical
            && !finding.id().starts_with("SSH-LOG")
            && finding
                .var_value("user")
                .is_none_or(|user| users.iter().any(|refused| refused == user))
    })
}

/// Seconds since the epoch of an RFC 3339 time ("2026-12-01T09:00:00.1+00:00",
/// "...Z"); None for anything else (a classic syslog stamp has no year).
fn rfc3339_seconds(text: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    if text.get(4..5)? != "-" || !matches!(text.get(10..11)?, "T" | " ") {
        return None;
    }
    let days = super::days_from_civil(number(0..4)?, number(5..7)?, number(8..10)?)?;
    let seconds = number(11..13)? * 3600 + number(14..16)? * 60 + number(17..19)?;
    let zone = text[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match zone {
        "Z" | "" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let hours: i64 = zone.get(1..3)?.parse().ok()?;
            let minutes: i64 = zone.get(4..6)?.parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    Some(days * 86_400 + seconds - offset)
}

fn finding(rule: RuleId, matches: Matches, logs: &LogFacts) -> Draft {
    let newest = matches
        .newest
        .expect("a rule is recorded with its first line");
    let time = newest
        .time
        .clone()
        .unwrap_or_else(|| "at an unknown time".into());
    let mut finding = Draft::new(rule)
        .var("count", matches.count.to_string())
        .var("time", time.clone())
        .var("users", users_shown(&matches.users));
    for (name, value) in matches.values {
        finding = finding.var(name, value);
    }
    let place = match newest.pid {
        Some(pid) => format!("{time}, {}, pid {pid}", newest.source),
        None => format!("{time}, {}", newest.source),
    };
    finding
        .evidence(newest.message.clone(), Some(place))
        .evidence(window(matches.count, logs), None)
}

/// "alice, bob and 3 more" (newest first).
fn users_shown(users: &[String]) -> String {
    if users.is_empty() {
        return "unknown users".into();
    }
    let shown: Vec<&str> = users
        .iter()
        .take(MAX_USERS_SHOWN)
        .map(|user| {
            if user.is_empty() {
                "\"\""
            } else {
                user.as_str()
            }
        })
        .collect();
    match users.len().saturating_sub(MAX_USERS_SHOWN) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// How many matched among what was read, and over which span.
fn window(count: usize, logs: &LogFacts) -> String {
    let first = logs.lines.first().and_then(|line| line.time.as_deref());
    let last = logs.lines.last().and_then(|line| line.time.as_deref());
    let span = match (first, last) {
        (Some(first), Some(last)) => format!(" ({first} to {last})"),
        _ => String::new(),
    };
    let kept = if logs.lines_found > logs.lines.len() {
        format!(
            "the newest {} of the {}",
            logs.lines.len(),
            logs.lines_found
        )
    } else {
        logs.lines.len().to_string()
    };
    format!(
        "{count} of {kept} sshd lines read from {}{span}",
        logs.sources.join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule and captures of a message, as comparable values.
    fn classified(message: &str) -> Option<(&'static str, Vec<(&'static str, String)>)> {
        classify(message).map(|found| {
            let captures = found.captures.into_iter().collect();
            (found.rule.def().id, captures)
        })
    }

    fn captures(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs
            .iter()
            .map(|(name, value)| (*name, value.to_string()))
            .collect()
    }

    /// A message, the rule it belongs to, and the values it captures.
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    );

    /// Wordings the fixtures do not show: other reasons, older OpenSSH releases.
    #[test]
    fn every_wording_of_a_refusal() {
        let cases: &[Case] = &[
            (
                "User bob from 192.0.2.7 not allowed because listed in DenyUsers",
                "SSH-LOG-004",
                &[("host", "192.0.2.7"), ("reason", "listed in DenyUsers"), ("user", "bob")],
            ),
            (
                "User bob from 192.0.2.7 not allowed because a group is listed in DenyGroups",
                "SSH-LOG-004",
                &[("host", "192.0.2.7"), ("reason", "a group is listed in DenyGroups"), ("user", "bob")],
            ),
            (
                "User bob from 192.0.2.7 not allowed because not in any group",
                "SSH-LOG-004",
                &[("host", "192.0.2.7"), ("reason", "not in any group"), ("user", "bob")],
            ),
            (
                "User bob not allowed because shell /bin/fish is not executable",
                "SSH-LOG-005",
                &[("path", "/bin/fish"), ("reason", "is not executable"), ("user", "bob")],
            ),
            (
                "userauth_pubkey: key type ssh-rsa not in PubkeyAcceptedKeyTypes [preauth]",
                "SSH-LOG-007",
                &[("algorithm", "ssh-rsa")],
            ),
            (
                "error: Could not load host key: /etc/ssh/ssh_host_dsa_key",
                "SSH-LOG-002",
                &[("path", "/etc/ssh/ssh_host_dsa_key")],
            ),
            (
                "error: maximum authentication attempts exceeded for invalid user oracle from 192.0.2.7 port 4711 ssh2 [preauth]",
                "SSH-LOG-011",
                &[("host", "192.0.2.7"), ("user", "oracle")],
            ),
            (
                "error: PAM: Authentication failure for illegal user guest from 192.0.2.7",
                "SSH-LOG-015",
                &[("host", "192.0.2.7"), ("user", "guest")],
            ),
            (
                "Invalid user  from 192.0.2.7 port 4711",
                "SSH-LOG-010",
                &[("host", "192.0.2.7"), ("user", "")],
            ),
        ];
        for (message, id, expected) in cases {
            assert_eq!(
                classified(message),
                Some((*id, captures(expected))),
                "{message}"
            );
        }
    }

    /// Lines that name a refusal inside another message are not that refusal.
    #[test]
    fn a_refusal_quoted_inside_another_message_is_not_one() {
        for message in [
            "Connection closed by invalid user admin 192.0.2.7 port 4711 [preauth]",
            "Failed password for invalid user admin from 192.0.2.7 port 4711 ssh2",
            "debug1: userauth_pubkey: key type ssh-rsa not in PubkeyAcceptedAlgorithms",
            "warning: User bob not allowed because account is locked",
        ] {
            assert_eq!(classified(message), None, "{message}");
        }
    }

    #[test]
    fn many_users_are_cut_short() {
        let users: Vec<String> = (1..=7).map(|n| format!("u{n}")).collect();
        assert_eq!(users_shown(&users), "u1, u2, u3, u4, u5 and 2 more");
        assert_eq!(users_shown(&[]), "unknown users");
    }
}
