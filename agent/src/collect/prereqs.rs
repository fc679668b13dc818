//! What sshd itself needs before it will accept anyone: host keys it can use, its
//! privilege-separation directory and user, and an /etc/ssh that only root can change.

use super::ProbeNotes;
use crate::facts::{
    FileKind, FileStat, HostKey, HostKeyLoad, PrereqFacts, SshdConfigFacts, SshdFacts, SshdHelper,
};
use crate::openssh::{DEFAULT_HOST_KEYS, HELPERS, PRIVSEP_DIR_CANDIDATES, PRIVSEP_USER};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Bound on one `ssh-keygen -y` (an RSA key takes milliseconds).
const KEYGEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Bound on the /etc/ssh walk.
const MAX_ETC_SSH_ENTRIES: usize = 500;

/// `loaded`: the host keys already loaded (`load_keys`).
pub fn collect(
    config: &SshdConfigFacts,
    sshd: &SshdFacts,
    loaded: LoadedKeys,
    notes: &mut ProbeNotes,
) -> PrereqFacts {
    let (privsep_dir, privsep_dir_source) = privsep_dir(sshd);
    PrereqFacts {
        host_keys: host_keys(config, loaded, notes),
        privsep_dir: privsep_dir.map(|dir| stat_path(Path::new(&dir))),
        privsep_dir_source,
        privsep_user: PRIVSEP_USER.to_string(),
        privsep_user_exists: match nix::unistd::User::from_name(PRIVSEP_USER) {
            Ok(user) => Some(user.is_some()),
            Err(err) => {
                notes.partial(format!("cannot look up user {PRIVSEP_USER}: {err}"));
                None
            }
        },
        etc_ssh: walk_etc_ssh(Path::new("/etc/ssh"), notes),
        helpers: helpers(config, sshd),
    }
}

/// The helpers sshd runs: the paths `sshd -T` prints (SshdSessionPath, SshdAuthPath),
/// else the ones compiled into the binary. An sshd older than 9.8 has neither.
fn helpers(config: &SshdConfigFacts, sshd: &SshdFacts) -> Vec<SshdHelper> {
    HELPERS
        .iter()
        .filter_map(|name| {
            let keyword = format!("{}path", name.replace('-', ""));
            let configured = config
                .effective
                .as_ref()
                .and_then(|effective| effective.settings.get(&keyword))
                .and_then(|values| values.first());
            let compiled = match *name {
                "sshd-session" => sshd.session.as_ref(),
                _ => sshd.auth.as_ref(),
            };
            let (path, source) = match (configured, compiled) {
                (Some(path), _) => (path.clone(), "sshd -T".to_string()),
                (None, Some(path)) => (
                    path.clone(),
                    format!("compiled into {}", sshd.binary.as_deref().unwrap_or("sshd")),
                ),
                (None, None) => return None,
            };
            Some(SshdHelper {
                name: name.to_string(),
                stat: stat_path(Path::new(&path)),
                source,
            })
        })
        .collect()
}

/// Owner, mode and kind of a path, following symlinks as sshd does when it opens it.
pub fn stat_path(path: &Path) -> FileStat {
    let display = path.display().to_string();
    match std::fs::metadata(path) {
        Ok(meta) => FileStat {
            path: display,
            exists: true,
            kind: if meta.is_dir() {
                FileKind::Directory
            } else if meta.is_file() {
                FileKind::File
            } else {
                FileKind::Other
            },
            mode: Some(meta.permissions().mode() & 0o7777),
            uid: Some(meta.uid()),
            gid: Some(meta.gid()),
            group: nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(meta.gid()))
                .ok()
                .flatten()
                .map(|group| group.name),
            error: None,
        },
        Err(err) => FileStat {
            exists: err.kind() != std::io::ErrorKind::NotFound,
            error: Some(err.to_string()),
            ..FileStat::missing(display)
        },
    }
}

/// HostKey paths in effect: `sshd -T` knows them best (defaults included), then the
/// parsed config, then OpenSSH's defaults.
/// Host keys loaded ahead of `collect`: path, outcome and notes.
pub type LoadedKeys = Vec<(String, Option<HostKeyLoad>, ProbeNotes)>;

/// The host keys sshd_config names (or sshd's defaults): loading them (`load_keys`, an
/// ssh-keygen each) can start while `sshd -T` runs; `collect` then loads only the keys
/// `sshd -T` adds.
pub fn named_host_keys(parsed: &SshdConfigFacts) -> Vec<String> {
    configured_host_keys(parsed)
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

fn configured_host_keys(config: &SshdConfigFacts) -> Vec<(String, Option<String>)> {
    match config
        .effective
        .as_ref()
        .and_then(|effective| effective.settings.get("hostkey"))
    {
        Some(paths) if !paths.is_empty() => paths
            .iter()
            .map(|path| (path.clone(), Some("sshd -T".into())))
            .collect(),
        _ => match config.global.get("hostkey") {
            Some(lines) if !lines.is_empty() => lines
                .iter()
                .map(|line| (line.value.clone(), Some(line.location())))
                .collect(),
            _ => DEFAULT_HOST_KEYS
                .iter()
                .map(|path| (path.to_string(), None))
                .collect(),
        },
    }
}

/// Each key is loaded by its own ssh-keygen; they run at once.
pub fn load_keys(paths: Vec<String>) -> LoadedKeys {
    std::thread::scope(|scope| {
        let loading: Vec<_> = paths
            .into_iter()
            .map(|path| {
                super::worker::beside(scope, move || {
                    let mut key_notes = ProbeNotes::default();
                    let load = Path::new(&path)
                        .is_file()
                        .then(|| load_key(&path, &mut key_notes))
                        .flatten();
                    (path, load, key_notes)
                })
            })
            .collect();
        loading.into_iter().map(|loaded| loaded.join()).collect()
    })
}

fn host_keys(
    config: &SshdConfigFacts,
    mut loaded: LoadedKeys,
    notes: &mut ProbeNotes,
) -> Vec<HostKey> {
    let configured = configured_host_keys(config);
    let not_loaded: Vec<String> = configured
        .iter()
        .map(|(path, _)| path.clone())
        .filter(|path| !loaded.iter().any(|(done, ..)| done == path))
        .collect();
    loaded.extend(load_keys(not_loaded));
    configured
        .into_iter()
        .map(|(path, source)| {
            let load = match loaded.iter().position(|(done, ..)| *done == path) {
                Some(at) => {
                    let (_, load, key_notes) = loaded.swap_remove(at);
                    notes.absorb(key_notes);
                    load
                }
                None => None,
            };
            let public = stat_path(Path::new(&format!("{path}.pub")));
            HostKey {
                source,
                private: stat_path(Path::new(&path)),
                public_exists: public.kind == FileKind::File,
                load,
                path,
            }
        })
        .collect()
}

/// Loads a private key as sshd does (no passphrase), with OpenSSH's own loader:
/// `ssh-keygen -y` parses the key and derives its public half. None when it cannot be
/// asked: not readable by us (not root), or no ssh-keygen.
fn load_key(path: &str, notes: &mut ProbeNotes) -> Option<HostKeyLoad> {
    std::fs::File::open(path).ok()?;
    let mut command = std::process::Command::new("ssh-keygen");
    command.args(["-y", "-P", "", "-f", path]);
    match super::command::capture(command, KEYGEN_TIMEOUT, 64 << 10) {
        Ok(output) if output.success() => Some(HostKeyLoad {
            loaded: true,
            key_type: output.stdout.split_whitespace().next().map(String::from),
            error: None,
        }),
        Ok(output) if output.timed_out => {
            notes.partial(format!("ssh-keygen -y {path} did not finish"));
            None
        }
        Ok(output) => Some(HostKeyLoad {
            loaded: false,
            key_type: None,
            error: Some(output.error_line()),
        }),
        Err(err) => {
            notes.partial(format!(
                "host keys not loaded: cannot run ssh-keygen: {err}"
            ));
            None
        }
    }
}

/// The privsep directory compiled into sshd (found by searching the binary for the
/// candidates), else the first candidate that exists.
fn privsep_dir(sshd: &SshdFacts) -> (Option<String>, String) {
    if let (Some(dir), Some(binary)) = (&sshd.privsep_dir, &sshd.binary) {
        return (Some(dir.clone()), format!("compiled into {binary}"));
    }
    match PRIVSEP_DIR_CANDIDATES
        .iter()
        .find(|candidate| Path::new(candidate).is_dir())
    {
        Some(found) => (
            Some(found.to_string()),
            "the first usual location that exists".into(),
        ),
        None => (
            None,
            "unknown: not found in sshd and none of the usual locations exists".into(),
        ),
    }
}

/// /etc/ssh and everything below it (not following symlinks out of it), bounded.
fn walk_etc_ssh(root: &Path, notes: &mut ProbeNotes) -> Vec<FileStat> {
    let mut found = vec![stat_path(root)];
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) => {
                notes.partial(format!("cannot list {}: {err}", dir.display()));
                continue;
            }
        };
        for entry in entries.flatten() {
            if found.len() >= MAX_ETC_SSH_ENTRIES {
                notes.partial(format!(
                    "stopped listing /etc/ssh after {MAX_ETC_SSH_ENTRIES} entries"
                ));
                return found;
            }
            let path = entry.path();
            let is_real_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
            found.push(stat_path(&path));
            if is_real_dir {
                pending.push(path);
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_come_from_sshd_t_else_from_the_binary() {
        let sshd = SshdFacts {
            binary: Some("/usr/sbin/sshd".into()),
            session: Some("/usr/lib/openssh/sshd-session".into()),
            ..SshdFacts::default()
        };
        let found = helpers(&SshdConfigFacts::default(), &sshd);
        let names: Vec<(&str, &str)> = found
            .iter()
            .map(|helper| (helper.name.as_str(), helper.stat.path.as_str()))
            .collect();
        assert_eq!(names, [("sshd-session", "/usr/lib/openssh/sshd-session")]);
        assert_eq!(found[0].source, "compiled into /usr/sbin/sshd");
        let mut config = SshdConfigFacts::default();
        let mut effective = crate::facts::EffectiveConfig::default();
        effective
            .settings
            .insert("sshdsessionpath".into(), vec!["/opt/sshd-session".into()]);
        config.effective = Some(effective);
        let found = helpers(&config, &sshd);
        assert_eq!(found[0].stat.path, "/opt/sshd-session");
        assert_eq!(found[0].source, "sshd -T");
    }
}
