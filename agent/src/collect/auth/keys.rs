//! AuthorizedKeysFile for one user: where it is, what StrictModes sees on the way to it,
//! whether the user can read it, and each line as sshd reads it (`key_line`).

use super::super::prereqs::stat_path;
use super::accounts::{passwd_entries, read_text};
use super::key_line::{parse_key_line, KeyLine};
use crate::facts::{Account, BadKeyLine, FileKind, FileStat, KeysFile, StrictModesEntry};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bound on one keys file; sshd has none, but a diagnosis must stay small.
const MAX_KEYS_FILE_BYTES: u64 = 1 << 20;
/// Bound on the lines reported per file.
const MAX_LINES_REPORTED: usize = 200;

/// auth2-pubkeyfile.c expand_authorized_keys: %% %h %u %U, then relative to home.
pub fn expand_keys_path(pattern: &str, account: &Account, user: &str) -> Result<String, String> {
    let expanded = percent_expand(pattern, account, user)?;
    if expanded.starts_with('/') {
        Ok(expanded)
    } else {
        Ok(format!("{}/{expanded}", account.home))
    }
}

/// sshd's tokens for per-user paths (AuthorizedKeysFile, ChrootDirectory): %% %h %u %U.
pub fn percent_expand(pattern: &str, account: &Account, user: &str) -> Result<String, String> {
    let mut expanded = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            expanded.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => expanded.push('%'),
            Some('h') => expanded.push_str(&account.home),
            Some('u') => expanded.push_str(user),
            Some('U') => expanded.push_str(&account.uid.to_string()),
            Some(other) => return Err(format!("unknown token %{other} in {pattern:?}")),
            None => return Err(format!("{pattern:?} ends with a lone %")),
        }
    }
    Ok(expanded)
}

/// Everything about one keys file for `account`.
pub fn examine(pattern: &str, path: &str, account: &Account) -> KeysFile {
    let stat = stat_path(Path::new(path));
    let mut file = KeysFile {
        pattern: pattern.to_string(),
        path: path.to_string(),
        chain: Vec::new(),
        unreadable_by_user: None,
        keys: Vec::new(),
        bad_lines: Vec::new(),
        truncated: false,
        stat,
    };
    if !file.stat.exists {
        return file;
    }
    file.chain = secure_path_chain(Path::new(path), account);
    file.unreadable_by_user = user_access_problem(Path::new(path), account);
    match read_bounded(Path::new(path)) {
        Ok((text, truncated)) => {
            file.truncated = truncated;
            for (index, line) in text.lines().enumerate() {
                if file.keys.len() + file.bad_lines.len() >= MAX_LINES_REPORTED {
                    file.truncated = true;
                    break;
                }
                let number = index as u32 + 1;
                match parse_key_line(line) {
                    KeyLine::Blank => {}
                    KeyLine::Key(key) => {
                        let mut key = *key;
                        key.line = number;
                        if let Some(program) = key.command_program.take() {
                            key.command_program = Some(stat_path(Path::new(&program.path)));
                        }
                        file.keys.push(key);
                    }
                    KeyLine::Bad(problem) => file.bad_lines.push(BadKeyLine {
                        line: number,
                        problem,
                    }),
                }
            }
        }
        Err(err) if file.stat.kind == FileKind::File => {
            file.bad_lines.push(BadKeyLine {
                line: 0,
                problem: format!("cannot read: {err}"),
            });
        }
        Err(_) => {}
    }
    file
}

fn read_bounded(path: &Path) -> std::io::Result<(String, bool)> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_KEYS_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    let truncated = bytes.len() as u64 > MAX_KEYS_FILE_BYTES;
    bytes.truncate(MAX_KEYS_FILE_BYTES as usize);
    Ok((String::from_utf8_lossy(&bytes).into_owned(), truncated))
}

/// What auth.c auth_secure_path examines: the canonical file, then each directory
/// upwards, stopping after the (canonical) home directory or at /.
pub fn secure_path_chain(file: &Path, account: &Account) -> Vec<StrictModesEntry> {
    let entry = |path: &Path| {
        let stat = stat_path(path);
        let group_writable = stat.mode.is_some_and(|mode| mode & 0o020 != 0);
        StrictModesEntry {
            private_group: group_writable && group_is_users_alone(&stat, account.uid),
            stat,
        }
    };
    let Ok(real) = std::fs::canonicalize(file) else {
        return vec![entry(file)];
    };
    let real_home = std::fs::canonicalize(&account.home).ok();
    let mut chain = vec![entry(&real)];
    let mut current = real.parent();
    while let Some(dir) = current {
        chain.push(entry(dir));
        if real_home.as_deref() == Some(dir) {
            break;
        }
        current = dir.parent();
    }
    chain
}

/// Debian's misc.c secure_permissions: every account whose primary group this is must be
/// the user, the supplementary member list may hold only the path's owner, and there
/// must be at least one member.
fn group_is_users_alone(stat: &FileStat, uid: u32) -> bool {
    let (Some(gid), Some(owner)) = (stat.gid, stat.uid) else {
        return false;
    };
    let Ok(Some(group)) = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)) else {
        return false;
    };
    let Ok(passwd) = read_text(Path::new("/etc/passwd")) else {
        return false;
    };
    let primary_uids: Vec<u32> = passwd_entries(&passwd)
        .filter(|entry| entry.gid == gid)
        .map(|entry| entry.uid)
        .collect();
    if primary_uids.iter().any(|member| *member != uid) {
        return false;
    }
    let owner_name = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(owner))
        .ok()
        .flatten()
        .map(|user| user.name);
    match group.mem.as_slice() {
        [] => !primary_uids.is_empty(),
        [only] => owner_name.as_deref() == Some(only.as_str()),
        _ => false,
    }
}

/// sshd opens the keys file with the user's uid and groups (temporarily_use_uid): every
/// directory on the way needs search permission and the file read permission.
fn user_access_problem(file: &Path, account: &Account) -> Option<String> {
    if account.uid == 0 {
        return None;
    }
    let gids = group_ids(account);
    let real = std::fs::canonicalize(file).ok()?;
    let mut directories: Vec<PathBuf> = real.ancestors().skip(1).map(Path::to_path_buf).collect();
    directories.reverse();
    for dir in directories {
        let meta = std::fs::metadata(&dir).ok()?;
        if !permits(&meta, account.uid, &gids, 0o1) {
            return Some(format!(
                "{} does not let the user in (mode {:04o}, owner uid {})",
                dir.display(),
                meta.mode() & 0o7777,
                meta.uid()
            ));
        }
    }
    let meta = std::fs::metadata(&real).ok()?;
    (!permits(&meta, account.uid, &gids, 0o4)).then(|| {
        format!(
            "{} is not readable by the user (mode {:04o}, owner uid {})",
            real.display(),
            meta.mode() & 0o7777,
            meta.uid()
        )
    })
}

fn group_ids(account: &Account) -> Vec<u32> {
    let mut gids: Vec<u32> = account
        .groups
        .iter()
        .filter_map(|name| nix::unistd::Group::from_name(name).ok().flatten())
        .map(|group| group.gid.as_raw())
        .collect();
    gids.push(account.gid);
    gids
}

/// Classic Unix permission check for one bit (r=4, x=1) of owner, group, other.
fn permits(meta: &std::fs::Metadata, uid: u32, gids: &[u32], bit: u32) -> bool {
    let mode = meta.mode();
    if meta.uid() == uid {
        mode & (bit << 6) != 0
    } else if gids.contains(&meta.gid()) {
        mode & (bit << 3) != 0
    } else {
        mode & bit != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn account(home: &str) -> Account {
        Account {
            uid: 1001,
            gid: 1001,
            home: home.into(),
            shell: "/bin/bash".into(),
            groups: vec![],
            shadow: None,
            shell_stat: stat_path(Path::new("/bin/sh")),
            shell_listed: None,
            home_stat: stat_path(Path::new(home)),
        }
    }

    #[test]
    fn keys_path_tokens_expand_like_sshd() {
        let alice = account("/home/alice");
        let expand = |pattern| expand_keys_path(pattern, &alice, "alice");
        assert_eq!(
            expand(".ssh/authorized_keys").unwrap(),
            "/home/alice/.ssh/authorized_keys"
        );
        assert_eq!(expand("%h/.ssh/keys").unwrap(), "/home/alice/.ssh/keys");
        assert_eq!(expand("/etc/ssh/keys/%u").unwrap(), "/etc/ssh/keys/alice");
        assert_eq!(expand("/keys/%U-%%").unwrap(), "/keys/1001-%");
        assert!(expand("/keys/%x").unwrap_err().contains("%x"));
        assert!(expand("/keys/%").is_err());
    }
}
