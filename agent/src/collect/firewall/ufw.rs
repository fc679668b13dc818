//! ufw: `ufw status verbose`, or its files when that cannot run (ufw needs root and runs
//! iptables itself, so it can fail where reading its files still works).

use super::{ProbeNotes, Tools};
use crate::collect::command::run;
use crate::facts::{UfwFacts, UfwRule};

pub fn collect(tools: &Tools, notes: &mut ProbeNotes) -> Option<UfwFacts> {
    let Some(ufw) = tools.find("ufw") else {
        notes.note("ufw is not installed");
        return None;
    };
    let files = tools.etc.join("ufw");
    // Installed and disabled, as on Ubuntu's cloud images: ufw.conf says so, and `ufw
    // status` (a Python program, about 100 ms) would say no more.
    if let Ok(conf) = std::fs::read_to_string(files.join("ufw.conf")) {
        let disabled = from_files(&conf, "", "");
        if !disabled.active {
            notes.note(format!("ufw is disabled ({}/ufw.conf)", files.display()));
            return Some(UfwFacts {
                source: format!("{}/ufw.conf", files.display()),
                ..disabled
            });
        }
    }
    let failure = match run(&ufw, &["status", "verbose"], tools.ufw_timeout) {
        Ok(output) if output.success() => return Some(parse_status(&output.stdout)),
        Ok(output) => format!("ufw status verbose failed: {}", output.error_line()),
        Err(err) => err,
    };
    match std::fs::read_to_string(files.join("ufw.conf")) {
        Ok(conf) => {
            notes.note(format!("{failure}; read {} instead", files.display()));
            let user_rules = std::fs::read_to_string(files.join("user.rules")).unwrap_or_default();
            let defaults =
                std::fs::read_to_string(tools.etc.join("default/ufw")).unwrap_or_default();
            Some(from_files(&conf, &user_rules, &defaults))
        }
        Err(err) => {
            notes.partial(format!("{failure}; {}/ufw.conf: {err}", files.display()));
            None
        }
    }
}

/// Parses `ufw status verbose`. Rows are split at the columns of the "To Action From"
/// header, since "To" and "From" may contain spaces ("Anywhere on eth0", "22/tcp (v6)").
pub fn parse_status(text: &str) -> UfwFacts {
    let mut facts = UfwFacts {
        source: "ufw status verbose".into(),
        ..UfwFacts::default()
    };
    let mut columns: Option<(usize, usize)> = None;
    for line in text.lines() {
        if let Some(status) = line.strip_prefix("Status:") {
            facts.active = status.trim() == "active";
        } else if let Some(defaults) = line.strip_prefix("Default:") {
            // "deny (incoming), allow (outgoing), disabled (routed)"
            facts.default_incoming = defaults
                .split(',')
                .find(|part| part.contains("(incoming)"))
                .and_then(|part| part.split_whitespace().next())
                .map(str::to_string);
        } else if line.starts_with("To ") && line.contains("Action") {
            columns = line.find("Action").zip(line.find("From"));
        } else if let Some((action_at, from_at)) = columns {
            if line.starts_with("--") || line.len() <= from_at {
                continue;
            }
            let (Some(to), Some(action), Some(from)) = (
                line.get(..action_at),
                line.get(action_at..from_at),
                line.get(from_at..),
            ) else {
                continue;
            };
            facts.rules.push(UfwRule {
                to: to.trim().to_string(),
                action: action.trim().to_string(),
                from: from.trim().to_string(),
            });
        }
    }
    facts
}

/// The same facts from ufw.conf (ENABLED=), user.rules ("### tuple ###" comments, one per
/// rule, in order) and /etc/default/ufw (DEFAULT_INPUT_POLICY=).
pub fn from_files(conf: &str, user_rules: &str, defaults: &str) -> UfwFacts {
    let setting = |text: &str, key: &str| {
        text.lines()
            .filter_map(|line| line.trim().strip_prefix(key)?.strip_prefix('='))
            .map(|value| value.trim().trim_matches('"').to_ascii_lowercase())
            .next_back()
    };
    UfwFacts {
        source: "/etc/ufw".into(),
        active: setting(conf, "ENABLED").as_deref() == Some("yes"),
        default_incoming: setting(defaults, "DEFAULT_INPUT_POLICY").map(|policy| {
            match policy.as_str() {
                "drop" => "deny".to_string(),
                other => other.to_string(),
            }
        }),
        rules: user_rules.lines().filter_map(tuple_rule).collect(),
    }
}

/// "### tuple ### allow tcp 22 0.0.0.0/0 any 10.0.0.0/8 in" → 22/tcp ALLOW IN 10.0.0.0/8.
/// Fields: action, protocol, destination port, destination, source port, source, direction.
fn tuple_rule(line: &str) -> Option<UfwRule> {
    let fields: Vec<&str> = line
        .strip_prefix("### tuple ###")?
        .split_whitespace()
        .collect();
    let [action, protocol, port, _destination, _source_port, source, direction, ..] =
        fields.as_slice()
    else {
        return None;
    };
    let to = match (*port, *protocol) {
        ("any", _) => "Anywhere".to_string(),
        (port, "any") => port.to_string(),
        (port, protocol) => format!("{port}/{protocol}"),
    };
    let from = match *source {
        "0.0.0.0/0" | "::/0" => "Anywhere".to_string(),
        other => other.to_string(),
    };
    Some(UfwRule {
        to,
        action: format!(
            "{} {}",
            action.to_ascii_uppercase(),
            direction.to_ascii_uppercase()
        ),
        from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_give_state_default_and_tuples() {
        let facts = from_files(
            "# /etc/ufw/ufw.conf\nENABLED=yes\nLOGLEVEL=low\n",
            "### tuple ### allow tcp 22 0.0.0.0/0 any 10.0.0.0/8 in\n-A ufw-user-input -p tcp --dport 22 -s 10.0.0.0/8 -j ACCEPT\n\
### tuple ### deny any 80 0.0.0.0/0 any 0.0.0.0/0 in\n",
            "DEFAULT_INPUT_POLICY=\"DROP\"\n",
        );
        assert!(facts.active);
        assert_eq!(facts.default_incoming.as_deref(), Some("deny"));
        assert_eq!(facts.rules.len(), 2);
        assert_eq!(
            (
                facts.rules[0].to.as_str(),
                facts.rules[0].action.as_str(),
                facts.rules[0].from.as_str()
            ),
            ("22/tcp", "ALLOW IN", "10.0.0.0/8")
        );
        assert_eq!(
            (facts.rules[1].to.as_str(), facts.rules[1].from.as_str()),
            ("80", "Anywhere")
        );
    }
}
