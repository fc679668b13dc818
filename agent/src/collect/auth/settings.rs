//! The sshd settings in effect for one user: `sshd -T -C user=...` evaluates Match blocks
//! exactly; without sshd, the parser's global values stand in, over sshd's defaults.

use super::super::{CollectOptions, ProbeNotes};
use crate::collect::config::{connection_spec, parse_effective, run_sshd};
use crate::facts::{EffectiveConfig, SettingsSource, SshdConfigFacts, UserSettings};
use crate::openssh::AUTH_KEYWORD_DEFAULTS;
use std::collections::BTreeMap;
use std::path::Path;

/// How a collection gets each user's settings, decided once.
pub enum SettingsFinder<'a> {
    /// No Match block: the one global `sshd -T` already run applies to everyone.
    Global(&'a EffectiveConfig),
    /// Match blocks exist: ask sshd per user.
    PerUser {
        sshd: &'a Path,
        options: &'a CollectOptions,
        /// The missing privsep directory the global run needed a stand-in for.
        privsep_stand_in: Option<&'a Path>,
    },
    Parser,
}

impl<'a> SettingsFinder<'a> {
    pub fn new(
        config: &'a SshdConfigFacts,
        sshd: Option<&'a Path>,
        options: &'a CollectOptions,
        notes: &mut ProbeNotes,
    ) -> SettingsFinder<'a> {
        match (&config.effective, sshd) {
            (Some(effective), _) if config.match_blocks.is_empty() => {
                SettingsFinder::Global(effective)
            }
            (Some(_), Some(sshd)) => SettingsFinder::PerUser {
                sshd,
                options,
                privsep_stand_in: config
                    .syntax_check
                    .as_ref()
                    .and_then(|run| run.privsep_stand_in.as_deref())
                    .map(Path::new),
            },
            _ => {
                let why = if options.run_sshd {
                    "sshd -T did not run"
                } else {
                    "sshd runs are disabled"
                };
                let unevaluated = if config.match_blocks.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} Match block(s) not evaluated per user",
                        config.match_blocks.len()
                    )
                };
                notes.partial(format!(
                    "{why}: user settings are the parser's global values{unevaluated}"
                ));
                SettingsFinder::Parser
            }
        }
    }

    pub fn settings_for(
        &self,
        user: &str,
        config: &SshdConfigFacts,
        notes: &mut ProbeNotes,
    ) -> UserSettings {
        match self {
            SettingsFinder::Global(effective) => {
                from_effective(effective, "sshd -T".into(), config)
            }
            SettingsFinder::PerUser {
                sshd,
                options,
                privsep_stand_in,
            } => {
                let port = config.ports.first().map_or(22, |port| port.value);
                let spec = connection_spec(user, port);
                // getopt reads "-TCspec" as -T then -C spec: the runner takes one flag.
                let run = run_sshd(
                    sshd,
                    &format!("-TC{spec}"),
                    Path::new(&config.path),
                    &config.command_line_args(),
                    options.sshd_timeout,
                    *privsep_stand_in,
                );
                if run.run.exit_code == Some(0) {
                    let command = format!("sshd -T -C {spec}");
                    return from_effective(&parse_effective(&run.stdout), command, config);
                }
                notes.partial(format!(
                    "sshd -T -C user={user} failed ({}): the parser's global values stand in",
                    run.run.error.as_deref().unwrap_or("no output")
                ));
                from_parser(config)
            }
            SettingsFinder::Parser => from_parser(config),
        }
    }
}

fn words(values: impl IntoIterator<Item = impl AsRef<str>>) -> Vec<String> {
    values
        .into_iter()
        .flat_map(|value| {
            value
                .as_ref()
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The settings without any user: the global `sshd -T`, else the parser.
pub fn global(config: &SshdConfigFacts) -> UserSettings {
    match &config.effective {
        Some(effective) => from_effective(effective, "sshd -T".into(), config),
        None => from_parser(config),
    }
}

/// sshd -T's values; a line is named as evidence where the parser's global value agrees.
fn from_effective(
    effective: &EffectiveConfig,
    command: String,
    config: &SshdConfigFacts,
) -> UserSettings {
    let parsed = from_parser(config);
    let mut settings = UserSettings {
        source: SettingsSource::SshdT,
        command: Some(command),
        values: BTreeMap::new(),
        locations: BTreeMap::new(),
    };
    for (keyword, default) in AUTH_KEYWORD_DEFAULTS {
        let value = match effective.settings.get(*keyword) {
            Some(values) => words(values),
            None => words([default]),
        };
        let agrees = parsed.values.get(*keyword).is_some_and(|parsed| {
            parsed.len() == value.len()
                && parsed
                    .iter()
                    .zip(&value)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        });
        if let (true, Some(location)) = (agrees, parsed.locations.get(*keyword)) {
            settings
                .locations
                .insert(keyword.to_string(), location.clone());
        }
        settings.values.insert(keyword.to_string(), value);
    }
    settings
}

/// The parser's global values over sshd's defaults.
pub fn from_parser(config: &SshdConfigFacts) -> UserSettings {
    let mut settings = UserSettings {
        source: SettingsSource::Parser,
        command: None,
        values: BTreeMap::new(),
        locations: BTreeMap::new(),
    };
    for (keyword, default) in AUTH_KEYWORD_DEFAULTS {
        let value = match config.global.get(*keyword) {
            Some(lines) if !lines.is_empty() => {
                settings
                    .locations
                    .insert(keyword.to_string(), lines[0].location());
                words(lines.iter().map(|line| &line.value))
            }
            _ => words([default]),
        };
        settings.values.insert(keyword.to_string(), value);
    }
    settings
}
