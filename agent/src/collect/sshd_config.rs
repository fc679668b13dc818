//! sshd_config as sshd reads it. (Being written: see issue 2.)

use super::{CollectOptions, ProbeNotes};
use crate::facts::{HostFacts, ProcessFacts, SshdConfigFacts, SystemdFacts};
use std::path::PathBuf;

pub const DEFAULT_CONFIG: &str = "/etc/ssh/sshd_config";

/// The config file sshd uses and why we believe so.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub path: PathBuf,
    pub why: String,
}

pub fn choose_config_path(
    options: &CollectOptions,
    _systemd: &SystemdFacts,
    _processes: &ProcessFacts,
) -> ConfigSource {
    match &options.config_path {
        Some(path) => ConfigSource {
            path: path.clone(),
            why: "--config".into(),
        },
        None => ConfigSource {
            path: DEFAULT_CONFIG.into(),
            why: "default".into(),
        },
    }
}

pub fn collect(
    _options: &CollectOptions,
    _host: &HostFacts,
    source: ConfigSource,
    notes: &mut ProbeNotes,
) -> SshdConfigFacts {
    notes.unavailable("sshd_config parser not built yet");
    SshdConfigFacts {
        path: source.path.display().to_string(),
        path_source: source.why,
        ..SshdConfigFacts::default()
    }
}
