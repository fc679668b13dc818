//! What sshd itself needs before it will accept anyone: host keys it can use, its
//! privilege-separation directory and user, and an /etc/ssh that only root can change.

use super::ProbeNotes;
use crate::facts::{
    FileKind, FileStat, HostFacts, HostKey, HostKeyLoad, PrereqFacts, SshdConfigFacts, SshdHelper,
};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// The keys sshd loads when sshd_config names none (OpenSSH's _PATH_HOST_*_KEY_FILE).
const DEFAULT_HOST_KEYS: &[&str] = &[
    "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssh/ssh_host_ecdsa_key",
    "/etc/ssh/ssh_host_ed25519_key",
];
/// _PATH_PRIVSEP_CHROOT_DIR differs per distribution build; sshd's binary holds its own.
const PRIVSEP_DIR_CANDIDATES: &[&str] = &[
    "/run/sshd",
    "/var/empty/sshd",
    "/var/lib/empty",
    "/var/empty",
];
/// The programs OpenSSH 9.8+ sshd runs for each connection.
const HELPERS: &[&str] = &["sshd-session", "sshd-auth"];
/// Where distributions install them (Debian, RHEL and SUSE, others, Arch).
const HELPER_DIRS: &[&str] = &[
    "/usr/lib/openssh",
    "/usr/libexec/openssh",
    "/usr/libexec",
    "/usr/lib/ssh",
];
/// SSH_PRIVSEP_USER in every mainstream build.
pub const PRIVSEP_USER: &str = "sshd";
/// How much of the sshd binary to search for its compiled-in privsep directory.
const MAX_BINARY_BYTES: u64 = 16 << 20;
/// Bound on one `ssh-keygen -y` (an RSA key takes milliseconds).
const KEYGEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Bound on the /etc/ssh walk.
const MAX_ETC_SSH_ENTRIES: usize = 500;

pub fn collect(config: &SshdConfigFacts, host: &HostFacts, notes: &mut ProbeNotes) -> PrereqFacts {
    // Read once: the privsep directory and the helpers' paths are compiled into it.
    let binary = host.sshd_binary.as_deref().and_then(|binary| {
        read_prefix(Path::new(binary), MAX_BINARY_BYTES)
            .map_err(|err| notes.partial(format!("cannot read {binary}: {err}")))
            .ok()
            .map(|bytes| (binary, bytes))
    });
    let binary = binary
        .as_ref()
        .map(|(path, bytes)| (*path, bytes.as_slice()));
    let (privsep_dir, privsep_dir_source) = privsep_dir(binary);
    PrereqFacts {
        host_keys: host_keys(config, notes),
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
        helpers: helpers(config, binary),
    }
}

/// The helpers sshd runs: the paths `sshd -T` prints (SshdSessionPath, SshdAuthPath),
/// else the ones compiled into the binary. An sshd older than 9.8 has neither.
fn helpers(config: &SshdConfigFacts, binary: Option<(&str, &[u8])>) -> Vec<SshdHelper> {
    HELPERS
        .iter()
        .filter_map(|name| {
            let keyword = format!("{}path", name.replace('-', ""));
            let configured = config
                .effective
                .as_ref()
                .and_then(|effective| effective.settings.get(&keyword))
                .and_then(|values| values.first());
            let (path, source) = match configured {
                Some(path) => (path.clone(), "sshd -T".to_string()),
                None => {
                    let (binary, bytes) = binary?;
                    let path = HELPER_DIRS
                        .iter()
                        .map(|dir| format!("{dir}/{name}"))
                        .find(|path| compiled_in(bytes, path))?;
                    (path, format!("compiled into {binary}"))
                }
            };
            Some(SshdHelper {
                name: name.to_string(),
                stat: stat_path(Path::new(&path)),
                source,
            })
        })
        .collect()
}

/// The exact C string is in the binary (a NUL on both sides: not a longer path).
fn compiled_in(bytes: &[u8], text: &str) -> bool {
    let needle = [b"\0", text.as_bytes(), b"\0"].concat();
    memchr::memmem::find(bytes, &needle).is_some()
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
            path: display,
            exists: err.kind() != std::io::ErrorKind::NotFound,
            kind: FileKind::Missing,
            mode: None,
            uid: None,
            gid: None,
            group: None,
            error: Some(err.to_string()),
        },
    }
}

/// HostKey paths in effect: `sshd -T` knows them best (defaults included), then the
/// parsed config, then OpenSSH's defaults.
fn host_keys(config: &SshdConfigFacts, notes: &mut ProbeNotes) -> Vec<HostKey> {
    let configured: Vec<(String, Option<String>)> = match config
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
    };
    configured
        .into_iter()
        .map(|(path, source)| {
            let private = stat_path(Path::new(&path));
            let public = stat_path(Path::new(&format!("{path}.pub")));
            let load = match private.kind {
                FileKind::File => load_key(&path, notes),
                _ => None,
            };
            HostKey {
                source,
                private,
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
fn privsep_dir(binary: Option<(&str, &[u8])>) -> (Option<String>, String) {
    if let Some((binary, bytes)) = binary {
        // The exact C string: "/run/sshd", not "/run/sshd.pid".
        if let Some(candidate) = PRIVSEP_DIR_CANDIDATES
            .iter()
            .find(|candidate| compiled_in(bytes, candidate))
        {
            return (
                Some(candidate.to_string()),
                format!("compiled into {binary}"),
            );
        }
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

pub fn read_prefix(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
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
    fn helpers_compiled_into_sshd_are_found_by_their_exact_path() {
        let bytes = b"x\0/usr/lib/openssh/sshd-session\0/usr/lib/openssh/sshd-auth-x\0";
        let found = helpers(&SshdConfigFacts::default(), Some(("/usr/sbin/sshd", bytes)));
        let names: Vec<(&str, &str)> = found
            .iter()
            .map(|helper| (helper.name.as_str(), helper.stat.path.as_str()))
            .collect();
        assert_eq!(names, [("sshd-session", "/usr/lib/openssh/sshd-session")]);
        assert_eq!(found[0].source, "compiled into /usr/sbin/sshd");
    }
}
