//! sshd's command line as the unit gives it: ExecStart with its $VARIABLES expanded the
//! way systemd expands them, from Environment= and the EnvironmentFile= files (Debian's
//! /etc/default/ssh with $SSHD_OPTS, RHEL's /etc/sysconfig/sshd with $OPTIONS and
//! $CRYPTO_POLICY). sshd reads the options it finds there before its config file, so
//! for a keyword they set, their value is the one that counts.

use crate::facts::{CommandLineOption, UnitFacts};
use std::collections::BTreeMap;

/// A word of the expanded command line and where it was written.
struct Word {
    text: String,
    origin: String,
}

/// The options of the unit's sshd command line that change its configuration (-o, -p,
/// -4, -6, -h, -c, -g), each with where it was written: "ExecStart of ssh.service", or
/// "$SSHD_OPTS from /etc/default/ssh". `read` returns an EnvironmentFile's text.
pub fn unit_options(
    unit: &UnitFacts,
    read: &dyn Fn(&str) -> Option<String>,
) -> Vec<CommandLineOption> {
    let Some(argv) = unit.exec_start.iter().find(|argv| {
        argv.first()
            .is_some_and(|program| program.ends_with("sshd"))
    }) else {
        return Vec::new();
    };
    let environment = environment(unit, read);
    let words = expand(argv, &environment, &format!("ExecStart of {}", unit.name));
    config_options(&words)
}

/// The options of a plain argv (a running sshd's), all written at `origin`.
pub fn argv_options(argv: &[String], origin: &str) -> Vec<CommandLineOption> {
    let words: Vec<Word> = argv
        .iter()
        .map(|text| Word {
            text: text.clone(),
            origin: origin.to_string(),
        })
        .collect();
    config_options(&words)
}

/// The expanded argv of the unit's sshd (for its -f), the same way.
pub fn expanded_argv(unit: &UnitFacts, read: &dyn Fn(&str) -> Option<String>) -> Vec<Vec<String>> {
    let environment = environment(unit, read);
    unit.exec_start
        .iter()
        .map(|argv| {
            expand(argv, &environment, "")
                .into_iter()
                .map(|word| word.text)
                .collect()
        })
        .collect()
}

/// Each variable's value and where it was set: Environment= first, then the files in
/// order, a later setting replacing an earlier one (systemd.exec(5)).
fn environment(
    unit: &UnitFacts,
    read: &dyn Fn(&str) -> Option<String>,
) -> BTreeMap<String, (String, String)> {
    let mut values = BTreeMap::new();
    for assignment in &unit.environment {
        if let Some((name, value)) = assignment.split_once('=') {
            let origin = format!("Environment= of {}", unit.name);
            values.insert(name.to_string(), (value.to_string(), origin));
        }
    }
    for file in &unit.environment_files {
        let path = file.strip_prefix('-').unwrap_or(file);
        let Some(text) = read(path) else {
            continue;
        };
        for (name, value) in environment_file(&text) {
            values.insert(name, (value, path.to_string()));
        }
    }
    values
}

/// The assignments of an EnvironmentFile: NAME=VALUE lines, # and ; comments, a value
/// in single or double quotes taken as written inside them, a backslash at the end of a
/// line joining the next.
pub fn environment_file(text: &str) -> Vec<(String, String)> {
    let joined = text.replace("\\\n", "");
    joined
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with(['#', ';']) {
                return None;
            }
            let (name, value) = line.split_once('=')?;
            let name = name.trim();
            let name_ok =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !name_ok {
                return None;
            }
            let value = value.trim();
            let unquoted = ['"', '\'']
                .iter()
                .find_map(|quote| value.strip_prefix(*quote)?.strip_suffix(*quote))
                .map(|inner| inner.replace("\\\"", "\""));
            Some((
                name.to_string(),
                unquoted.unwrap_or_else(|| value.to_string()),
            ))
        })
        .collect()
}

/// systemd's expansion of an ExecStart argv: a word that is `$NAME` alone becomes the
/// value's whitespace-separated words (none when it is empty or unset); `${NAME}`
/// inside a word is replaced by the value as it is.
fn expand(
    argv: &[String],
    environment: &BTreeMap<String, (String, String)>,
    literal_origin: &str,
) -> Vec<Word> {
    let mut words = Vec::new();
    for word in argv {
        if let Some(name) = word.strip_prefix('$').filter(|name| is_name(name)) {
            if let Some((value, origin)) = environment.get(name) {
                words.extend(value.split_whitespace().map(|text| Word {
                    text: text.to_string(),
                    origin: format!("${name} from {origin}"),
                }));
            }
            continue;
        }
        let mut text = String::new();
        let mut origin = literal_origin.to_string();
        let mut rest = word.as_str();
        while let Some(start) = rest.find("${") {
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            let name = &rest[start + 2..start + end];
            text.push_str(&rest[..start]);
            if let Some((value, from)) = environment.get(name) {
                text.push_str(value);
                origin = format!("${{{name}}} from {from}");
            }
            rest = &rest[start + end + 1..];
        }
        text.push_str(rest);
        words.push(Word { text, origin });
    }
    words
}

fn is_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The options among sshd's arguments that change its configuration: -o, -p, -h, -c,
/// -g with their values, -4 and -6.
fn config_options(words: &[Word]) -> Vec<CommandLineOption> {
    let argv: Vec<String> = words.iter().map(|word| word.text.clone()).collect();
    crate::openssh::sshd_options(&argv)
        .into_iter()
        .filter_map(|option| {
            let args = match (option.letter, option.value) {
                ('4' | '6', _) => vec![format!("-{}", option.letter)],
                ('o' | 'p' | 'h' | 'c' | 'g', Some(value)) => {
                    vec![format!("-{}", option.letter), value]
                }
                _ => return None,
            };
            Some(CommandLineOption {
                args,
                origin: words[option.word].origin.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::UnitKind;

    fn unit(argv: &str, environment: &[&str], files: &[&str]) -> UnitFacts {
        let mut unit = UnitFacts::new("ssh.service", UnitKind::Service);
        unit.exec_start = vec![argv.split_whitespace().map(String::from).collect()];
        unit.environment = environment.iter().map(|text| text.to_string()).collect();
        unit.environment_files = files.iter().map(|text| text.to_string()).collect();
        unit
    }

    fn shown(options: &[CommandLineOption]) -> Vec<String> {
        options
            .iter()
            .map(|option| format!("{} @ {}", option.args.join(" "), option.origin))
            .collect()
    }

    #[test]
    fn options_come_from_the_argv_and_the_files_it_names() {
        let read = |path: &str| match path {
            "/etc/default/ssh" => Some(
                "# Options to pass to sshd\nSSHD_OPTS=\"-o PasswordAuthentication=no -4\"\n"
                    .to_string(),
            ),
            _ => None,
        };
        let debian = unit(
            "/usr/sbin/sshd -D -oPort=2222 $SSHD_OPTS",
            &[],
            &["-/etc/default/ssh"],
        );
        assert_eq!(
            shown(&unit_options(&debian, &read)),
            [
                "-o Port=2222 @ ExecStart of ssh.service",
                "-o PasswordAuthentication=no @ $SSHD_OPTS from /etc/default/ssh",
                "-4 @ $SSHD_OPTS from /etc/default/ssh",
            ]
        );
        // Unset, or a file that is not there: the variable is dropped, as systemd does.
        let nothing = |_: &str| None;
        assert!(unit_options(&debian, &nothing).len() == 1);
    }

    #[test]
    fn a_file_overrides_environment_and_braces_keep_one_word() {
        let read = |_: &str| Some("CRYPTO_POLICY='-oCiphers=aes256-ctr'\n".to_string());
        let rhel = unit(
            "/usr/sbin/sshd -D -p ${PORT} $OPTIONS $CRYPTO_POLICY",
            &["PORT=2200", "CRYPTO_POLICY=-oCiphers=none", "OPTIONS="],
            &["/etc/sysconfig/sshd"],
        );
        assert_eq!(
            shown(&unit_options(&rhel, &read)),
            [
                "-p 2200 @ ${PORT} from Environment= of ssh.service",
                "-o Ciphers=aes256-ctr @ $CRYPTO_POLICY from /etc/sysconfig/sshd",
            ]
        );
    }

    #[test]
    fn environment_files_read_as_systemd_reads_them() {
        let text =
            "# comment\n; another\nA=1\nB = \"two words\"\nC='x\\\"y'\nD=long\\\nline\n-bad=1\nE\n";
        assert_eq!(
            environment_file(text),
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "two words".to_string()),
                ("C".to_string(), "x\"y".to_string()),
                ("D".to_string(), "longline".to_string()),
            ]
        );
    }
}
