//! OpenSSH's pattern matching (match.c), and what AllowUsers, DenyUsers, AllowGroups and
//! DenyGroups decide for one user (auth.c allowed_user).

/// match.c match_pattern: `*` any run, `?` any one character, case-sensitive.
pub fn match_pattern(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let (mut t, mut p) = (0, 0);
    // Where the last `*` was, and the text position it currently stands for.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// match.c match_pattern_list: comma-separated patterns, `!` negates; a matching
/// negation wins over everything. Some(true) match, Some(false) negated, None no match.
pub fn match_pattern_list(text: &str, list: &str) -> Option<bool> {
    let mut positive = None;
    for pattern in list.split(',') {
        match pattern.strip_prefix('!') {
            Some(negated) if match_pattern(text, negated) => return Some(false),
            Some(_) => {}
            None if match_pattern(text, pattern) => positive = Some(true),
            None => {}
        }
    }
    positive
}

/// match.c match_host_and_ip for a client known only by its address (UseDNS no, or no
/// name for it): a from="..." list or the host part of `user@host`. Each entry is a
/// wildcard pattern matched against the address as text, or an address/prefix (CIDR);
/// `!` negates, and a matching negation wins. True when the address is let in.
pub fn address_permitted(address: std::net::IpAddr, list: &str) -> bool {
    let text = address.to_canonical().to_string();
    let mut permitted = false;
    for entry in list.split(',').map(str::trim) {
        let (negated, pattern) = match entry.strip_prefix('!') {
            Some(pattern) => (true, pattern),
            None => (false, entry),
        };
        let matches = match pattern.split_once('/') {
            Some((network, prefix)) => in_network(address, network, prefix),
            None => match_pattern(&text, &pattern.to_ascii_lowercase()),
        };
        match (matches, negated) {
            (true, true) => return false,
            (true, false) => permitted = true,
            _ => {}
        }
    }
    permitted
}

/// addr_netmatch: whether `address` lies in `network`/`prefix` (same family only).
pub(crate) fn in_network(address: std::net::IpAddr, network: &str, prefix: &str) -> bool {
    use std::net::IpAddr;
    let (Ok(network), Ok(prefix)) = (network.parse::<IpAddr>(), prefix.parse::<u32>()) else {
        return false;
    };
    let bits = |address: IpAddr| -> (u128, u32) {
        match address {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        }
    };
    let ((value, width), (net, net_width)) = (bits(address.to_canonical()), bits(network));
    if width != net_width || prefix > width {
        return false;
    }
    let shift = width - prefix;
    shift == width || value >> shift == net >> shift
}

/// What one access list decides for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused whatever the client: the reason as sshd logs it, and the pattern.
    Refused(String),
    /// Depends on where the client connects from (`user@host` patterns).
    OnlyFrom(String),
}

/// A `user@host` pattern split at the last '@' (match.c match_user).
fn split_user_host(pattern: &str) -> (&str, Option<&str>) {
    match pattern.rsplit_once('@') {
        Some((user, host)) => (user, Some(host)),
        None => (pattern, None),
    }
}

/// The patterns that name `user`: the first plain one (no `@host`), and the hosts of
/// the `user@host` ones seen before it.
fn user_patterns<'a>(user: &str, patterns: &'a [String]) -> (Option<&'a str>, Vec<&'a str>) {
    let mut from_hosts = Vec::new();
    for pattern in patterns {
        let (user_part, host) = split_user_host(pattern);
        if !match_pattern(user, user_part) {
            continue;
        }
        match host {
            None => return (Some(pattern), from_hosts),
            Some(host) => from_hosts.push(host),
        }
    }
    (None, from_hosts)
}

/// DenyUsers: a plain pattern matching the user refuses them; `user@host` refuses them
/// from those hosts. User patterns take no `!` (match_pattern, not a list).
pub fn deny_users(user: &str, patterns: &[String]) -> Decision {
    match user_patterns(user, patterns) {
        (Some(pattern), _) => Decision::Refused(format!("listed in DenyUsers ({pattern})")),
        (None, hosts) if hosts.is_empty() => Decision::Allowed,
        (None, hosts) => Decision::OnlyFrom(format!(
            "DenyUsers refuses {user} from {}",
            hosts.join(", ")
        )),
    }
}

/// AllowUsers: when set, the user must match a pattern; `user@host` only from there.
pub fn allow_users(user: &str, patterns: &[String]) -> Decision {
    if patterns.is_empty() {
        return Decision::Allowed;
    }
    match user_patterns(user, patterns) {
        (Some(_), _) => Decision::Allowed,
        (None, hosts) if hosts.is_empty() => {
            Decision::Refused(format!("not listed in AllowUsers ({})", patterns.join(" ")))
        }
        (None, hosts) => Decision::OnlyFrom(format!(
            "AllowUsers lets {user} in only from {}",
            hosts.join(", ")
        )),
    }
}

/// groupaccess.c ga_match: any of the user's groups against any pattern.
fn any_group_matches(groups: &[String], patterns: &[String]) -> Option<String> {
    groups.iter().find_map(|group| {
        patterns
            .iter()
            .find(|pattern| match_pattern(group, pattern))
            .map(|pattern| format!("group {group} matches {pattern}"))
    })
}

pub fn deny_groups(groups: &[String], patterns: &[String]) -> Decision {
    match any_group_matches(groups, patterns) {
        Some(why) => Decision::Refused(format!("a group is listed in DenyGroups ({why})")),
        None => Decision::Allowed,
    }
}

pub fn allow_groups(groups: &[String], patterns: &[String]) -> Decision {
    if patterns.is_empty() || any_group_matches(groups, patterns).is_some() {
        return Decision::Allowed;
    }
    Decision::Refused(format!(
        "none of the user's groups ({}) is listed in AllowGroups ({})",
        groups.join(", "),
        patterns.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lists_match_addresses_by_wildcard_and_prefix() {
        let probe: std::net::IpAddr = "127.115.3.4".parse().unwrap();
        assert!(address_permitted(probe, "127.0.0.0/8"));
        assert!(address_permitted(probe, "10.0.0.0/8,127.*"));
        assert!(!address_permitted(probe, "203.0.113.0/24"));
        assert!(!address_permitted(probe, "127.0.0.1"));
        assert!(!address_permitted(probe, "*,!127.115.0.0/16"));
        assert!(!address_permitted(probe, "*.example.com"));
        assert!(address_permitted(probe, "0.0.0.0/0"));
        assert!(!address_permitted(probe, "::/0"));
        assert!(address_permitted("::1".parse().unwrap(), "::1"));
        assert!(address_permitted(
            "2001:db8::5".parse().unwrap(),
            "2001:db8::/32"
        ));
    }

    fn list(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    #[test]
    fn glob_patterns_like_match_c() {
        assert!(match_pattern("alice", "alice"));
        assert!(match_pattern("alice", "a*"));
        assert!(match_pattern("alice", "*"));
        assert!(match_pattern("alice", "al?ce"));
        assert!(match_pattern("alice", "*i*e"));
        assert!(match_pattern("", "*"));
        assert!(!match_pattern("alice", "Alice"));
        assert!(!match_pattern("alice", "al?"));
        assert!(!match_pattern("alice", "*x*"));
        assert!(!match_pattern("alice", ""));
        assert!(match_pattern("a*b", "a*b"));
        assert!(match_pattern("aaab", "*a*ab"));
    }

    #[test]
    fn pattern_lists_honour_negation() {
        assert_eq!(match_pattern_list("ssh-rsa", "ssh-*,!ssh-rsa"), Some(false));
        assert_eq!(
            match_pattern_list("ssh-ed25519", "ssh-*,!ssh-rsa"),
            Some(true)
        );
        assert_eq!(match_pattern_list("ecdsa", "ssh-*,!ssh-rsa"), None);
        assert_eq!(match_pattern_list("x", "!y"), None);
    }

    #[test]
    fn allow_and_deny_users_mirror_allowed_user() {
        let allow = list(&["ops", "adm*", "bob@10.0.0.0/8"]);
        assert_eq!(allow_users("admin", &allow), Decision::Allowed);
        assert!(
            matches!(allow_users("alice", &allow), Decision::Refused(why) if why.contains("not listed in AllowUsers"))
        );
        assert!(
            matches!(allow_users("bob", &allow), Decision::OnlyFrom(why) if why.contains("10.0.0.0/8"))
        );
        assert_eq!(allow_users("anyone", &[]), Decision::Allowed);
        // A user pattern is a single glob: "!" is a literal character there.
        assert!(matches!(
            allow_users("alice", &list(&["!bob"])),
            Decision::Refused(_)
        ));
        assert!(
            matches!(deny_users("alice", &list(&["al*"])), Decision::Refused(why) if why.contains("al*"))
        );
        assert!(matches!(
            deny_users("alice", &list(&["alice@*.example.com"])),
            Decision::OnlyFrom(_)
        ));
        assert_eq!(
            deny_users("alice", &list(&["bob", "!alice"])),
            Decision::Allowed
        );
    }

    #[test]
    fn groups_match_any_of_the_users_groups() {
        let groups = list(&["alice", "sudo"]);
        assert!(
            matches!(deny_groups(&groups, &list(&["su*"])), Decision::Refused(why) if why.contains("sudo"))
        );
        assert_eq!(deny_groups(&groups, &list(&["wheel"])), Decision::Allowed);
        assert_eq!(
            allow_groups(&groups, &list(&["ssh-users", "sudo"])),
            Decision::Allowed
        );
        assert!(matches!(
            allow_groups(&groups, &list(&["ssh-users"])),
            Decision::Refused(_)
        ));
    }
}
