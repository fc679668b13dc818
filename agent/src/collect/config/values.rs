//! Checking a directive's arguments the way its servconf.c handler does, with sshd's
//! own error wording so a problem reads like what `sshd -t` prints.

use super::keywords::Value;
use crate::facts::ListenAddress;

/// Looks up a TCP service name (getservbyname(3)), for ports written as "ssh".
pub type ServiceLookup<'a> = &'a dyn Fn(&str) -> Option<u16>;

/// The values a directive contributes, or sshd's complaint about it.
pub fn check_arguments(
    value: Value,
    keyword: &str,
    arguments: &[String],
    services: ServiceLookup,
) -> Result<Vec<String>, String> {
    let missing = || format!("{keyword} missing argument.");
    match value {
        Value::Flag => one_of(&["yes", "no"], keyword, arguments, false),
        Value::Choice(words) => one_of(words, keyword, arguments, false),
        Value::ExactChoice(words) => one_of(words, keyword, arguments, true),
        Value::ChoiceList(words) => {
            match arguments
                .iter()
                .find(|argument| !words.iter().any(|word| word.eq_ignore_ascii_case(argument)))
            {
                Some(bad) => Err(format!("unsupported {keyword} option {bad}")),
                None => Ok(arguments.to_vec()),
            }
        }
        Value::Integer => {
            let argument = single(arguments, missing)?;
            match argument.parse::<i32>() {
                Ok(_) => only_one(keyword, argument, arguments),
                Err(_) => Err(format!("{keyword} integer value invalid.")),
            }
        }
        Value::Time => {
            let argument = single(arguments, || "missing time value.".into())?;
            match parse_time(argument) {
                Some(_) => only_one(keyword, argument, arguments),
                None => Err("invalid time value.".into()),
            }
        }
        Value::Port => {
            let argument = single(arguments, || "missing port number.".into())?;
            match parse_port(argument, services) {
                Some(port) if port > 0 => only_one(keyword, &port.to_string(), arguments),
                _ => Err("Badly formatted port number.".into()),
            }
        }
        Value::Arguments { min, max } => {
            if arguments.len() < min || arguments[..min].iter().any(String::is_empty) {
                Err(missing())
            } else if arguments.len() > max {
                Err(extra_arguments(keyword))
            } else {
                Ok(arguments.to_vec())
            }
        }
        Value::List => match arguments.iter().any(String::is_empty) {
            true => Err(format!("keyword {keyword} empty argument")),
            false if arguments.is_empty() => Err(missing()),
            false => Ok(arguments.to_vec()),
        },
        // Handled by the parser itself: they need more than the arguments.
        Value::RestOfLine
        | Value::Subsystem
        | Value::Include
        | Value::Match
        | Value::ListenAddress => Ok(arguments.to_vec()),
    }
}

/// servconf.c's end-of-line check, shared by every handler.
pub fn extra_arguments(keyword: &str) -> String {
    format!("keyword {keyword} extra arguments at end of line")
}

/// The one argument a handler reads. Like sshd, the caller validates it before
/// `only_one` complains about extra arguments.
fn single(arguments: &[String], missing: impl FnOnce() -> String) -> Result<&String, String> {
    match arguments.first() {
        Some(argument) if !argument.is_empty() => Ok(argument),
        _ => Err(missing()),
    }
}

fn only_one(keyword: &str, argument: &str, arguments: &[String]) -> Result<Vec<String>, String> {
    match arguments.len() {
        1 => Ok(vec![argument.to_string()]),
        _ => Err(extra_arguments(keyword)),
    }
}

fn one_of(
    words: &[&str],
    keyword: &str,
    arguments: &[String],
    case_sensitive: bool,
) -> Result<Vec<String>, String> {
    let argument = single(arguments, || "missing argument.".into())?;
    let matches = |word: &&str| match case_sensitive {
        true => *word == argument,
        false => word.eq_ignore_ascii_case(argument),
    };
    match words.iter().any(matches) {
        true => only_one(keyword, argument, arguments),
        false => Err(format!("unsupported option \"{argument}\".")),
    }
}

/// misc.c `a2port`: a number 0-65535 (strtonum accepts a sign and leading zeros), else
/// a TCP service name.
pub fn parse_port(text: &str, services: ServiceLookup) -> Option<u16> {
    match text.parse::<i64>() {
        Ok(number) => u16::try_from(number).ok(),
        Err(_) => services(text),
    }
}

/// misc.c `convtime`: digits with an optional unit (s m h d w), repeated; a number
/// without a unit may only come last. Returns seconds.
pub fn parse_time(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let unsigned = rest.strip_prefix('+').unwrap_or(rest);
        let digits = unsigned.len()
            - unsigned
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        if digits == 0 {
            return None;
        }
        let number: u64 = unsigned[..digits].parse().ok()?;
        let after = &unsigned[digits..];
        let (multiplier, next) = match after.chars().next() {
            None => (1, after),
            Some(unit) => (unit_seconds(unit)?, &after[1..]),
        };
        total = total.checked_add(number.checked_mul(multiplier)?)?;
        rest = next;
    }
    (total <= i32::MAX as u64).then_some(total)
}

fn unit_seconds(unit: char) -> Option<u64> {
    match unit.to_ascii_lowercase() {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86400),
        'w' => Some(604800),
        _ => None,
    }
}

/// servconf.c's ListenAddress handler: a bare IPv6 address (no '[' and two or more ':')
/// has no port; otherwise `hpdelim` splits `host[:port]` or `[v6][:port]`, and the
/// brackets are removed. Optional `rdomain NAME` follows.
pub fn parse_listen_address(
    arguments: &[String],
    services: ServiceLookup,
) -> Result<ListenAddress, String> {
    let Some(first) = arguments.first().filter(|first| !first.is_empty()) else {
        return Err("missing address".into());
    };
    let (host, port) = if !first.contains('[') && first.matches(':').count() >= 2 {
        (first.clone(), None)
    } else {
        let (host, port) = split_host_port(first).ok_or("bad address:port usage")?;
        let port = match port {
            None => None,
            Some(port) => match parse_port(port, services) {
                Some(number) if number > 0 => Some(number),
                _ => return Err("bad port number".into()),
            },
        };
        (host, port)
    };
    let rdomain = match &arguments[1..] {
        [] => None,
        [word, name, ..] if word == "rdomain" => Some(name.clone()),
        _ => return Err("bad ListenAddress syntax".into()),
    };
    if arguments.len() > 3 {
        return Err(extra_arguments("ListenAddress"));
    }
    Ok(ListenAddress {
        host,
        port,
        rdomain,
    })
}

/// misc.c `hpdelim` then `cleanhostname`. None for "bad address:port usage".
fn split_host_port(text: &str) -> Option<(String, Option<&str>)> {
    let host_end = match text.strip_prefix('[') {
        Some(inner) => inner.find(']')? + 2,
        None => text.find([':', '/']).unwrap_or(text.len()),
    };
    let (host, tail) = text.split_at(host_end);
    let port = match tail.chars().next() {
        None => None,
        Some(':') => Some(&tail[1..]),
        Some(_) => return None,
    };
    let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) => inner,
        None => host,
    };
    Some((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_services(_: &str) -> Option<u16> {
        None
    }

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    fn listen(text: &str) -> Result<ListenAddress, String> {
        parse_listen_address(&args(text), &no_services)
    }

    #[test]
    fn listen_address_forms() {
        let address = |host: &str, port: Option<u16>| ListenAddress {
            host: host.into(),
            port,
            rdomain: None,
        };
        assert_eq!(listen("10.0.0.1"), Ok(address("10.0.0.1", None)));
        assert_eq!(listen("10.0.0.1:2222"), Ok(address("10.0.0.1", Some(2222))));
        assert_eq!(listen("[::1]:99"), Ok(address("::1", Some(99))));
        assert_eq!(listen("[::1]"), Ok(address("::1", None)));
        assert_eq!(listen("fe80::1:2"), Ok(address("fe80::1:2", None)));
        assert_eq!(listen("host.example"), Ok(address("host.example", None)));
        assert_eq!(
            listen("1.2.3.4 rdomain vrf1").map(|a| a.rdomain),
            Ok(Some("vrf1".into()))
        );
    }

    #[test]
    fn listen_address_errors_match_sshd() {
        assert_eq!(
            listen("127.0.0.1/2222").unwrap_err(),
            "bad address:port usage"
        );
        assert_eq!(listen("[::1]x").unwrap_err(), "bad address:port usage");
        assert_eq!(listen("1.2.3.4:0").unwrap_err(), "bad port number");
        assert_eq!(listen("1.2.3.4:").unwrap_err(), "bad port number");
        assert_eq!(
            listen("1.2.3.4 foo").unwrap_err(),
            "bad ListenAddress syntax"
        );
        assert_eq!(
            listen("1.2.3.4 rdomain").unwrap_err(),
            "bad ListenAddress syntax"
        );
    }

    #[test]
    fn ports_accept_what_strtonum_and_getservbyname_accept() {
        let services = |name: &str| (name == "ssh").then_some(22);
        assert_eq!(parse_port("0022", &services), Some(22));
        assert_eq!(parse_port("+23", &services), Some(23));
        assert_eq!(parse_port("ssh", &services), Some(22));
        assert_eq!(parse_port("65536", &services), None);
        assert_eq!(parse_port("-1", &services), None);
        assert_eq!(parse_port("22#x", &services), None);
    }

    #[test]
    fn times_follow_convtime() {
        assert_eq!(parse_time("30"), Some(30));
        assert_eq!(parse_time("1h30m"), Some(5400));
        assert_eq!(parse_time("1h30"), Some(3630));
        assert_eq!(parse_time("2W"), Some(1_209_600));
        assert_eq!(parse_time("x"), None);
        assert_eq!(parse_time("5q"), None);
        assert_eq!(parse_time(""), None);
    }

    #[test]
    fn values_are_checked_with_sshd_wording() {
        let check = |value, text: &str| check_arguments(value, "Key", &args(text), &no_services);
        assert!(check(Value::Flag, "YES").is_ok());
        assert_eq!(
            check(Value::Flag, "x").unwrap_err(),
            "unsupported option \"x\"."
        );
        assert_eq!(
            check(Value::Flag, "yes no").unwrap_err(),
            "keyword Key extra arguments at end of line"
        );
        assert_eq!(
            check(Value::Integer, "x").unwrap_err(),
            "Key integer value invalid."
        );
        assert_eq!(
            check(Value::Port, "0").unwrap_err(),
            "Badly formatted port number."
        );
        assert!(check(Value::ExactChoice(&["yes"]), "YES").is_err());
    }
}
