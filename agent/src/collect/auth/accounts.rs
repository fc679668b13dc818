//! Accounts: who to examine, what passwd and shadow say about them, and the admin user
//! the VM was provisioned with. Nothing secret leaves this module: the shadow password
//! field becomes a `PasswordState`, and ovf-env.xml gives up its UserName only.

use super::super::prereqs::stat_path;
use super::super::reach::Reach;
use crate::facts::{Account, PasswordState, ProvisionedAdmin, ShadowEntry};
use regex_lite::Regex;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

const PASSWD: &str = "/etc/passwd";
const SHADOW: &str = "/etc/shadow";
const SHELLS: &str = "/etc/shells";
const NSSWITCH: &str = "/etc/nsswitch.conf";
/// Written by the Azure Linux agent (and cloud-init on Azure); root-only, may hold a password.
const OVF_ENV: &str = "/var/lib/waagent/ovf-env.xml";
const CLOUD_CFG: &str = "/etc/cloud/cloud.cfg";
const CLOUD_CFG_DIR: &str = "/etc/cloud/cloud.cfg.d";
/// Bound on any account or provisioning file read here.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// Reads a whole (bounded) text file.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The shell sshd runs for an empty passwd field (_PATH_BSHELL).
pub fn effective_shell(shell: &str) -> &str {
    if shell.is_empty() {
        "/bin/sh"
    } else {
        shell
    }
}

/// Where sshd looks for an account's keys by default (AuthorizedKeysFile's default).
pub const DEFAULT_KEYS_FILES: &[&str] = &[".ssh/authorized_keys", ".ssh/authorized_keys2"];

/// Accounts someone may mean to log in as: those with a shell listed in /etc/shells
/// that is not nologin/false and a home, and those holding keys, whatever their shell (a
/// key behind a nologin shell is still a way someone expects in): in a file one of
/// `keys_patterns` names for them (AuthorizedKeysFile, globally and in Match blocks, with
/// %h %u %U), or where sshd looks by default. Root is examined on its own. A home that
/// does not answer counts as there: its user is examined, and found out.
pub fn login_accounts(
    shells: &[String],
    keys_patterns: &[String],
    reach: &Reach,
) -> std::io::Result<Vec<String>> {
    let passwd = read_text(Path::new(PASSWD))?;
    Ok(passwd_entries(&passwd)
        .filter_map(
            |PasswdEntry {
                 name,
                 uid,
                 home,
                 shell,
                 ..
             }| {
                let shell = effective_shell(shell);
                let login_shell =
                    shells.iter().any(|listed| listed == shell) && !refuses_sessions(shell);
                let has_home = !home.is_empty() && is_there(reach, home, Path::is_dir, true);
                let in_default_place = has_home
                    && DEFAULT_KEYS_FILES.iter().any(|file| {
                        let path = format!("{}/{file}", home.trim_end_matches('/'));
                        is_there(reach, &path, Path::is_file, false)
                    });
                let holds_keys = in_default_place
                    || keys_patterns.iter().any(|pattern| {
                        configured_keys_file(pattern, name, &uid.to_string(), home)
                            .is_some_and(|path| is_there(reach, &path, Path::is_file, false))
                    });
                (uid != 0 && ((login_shell && has_home) || holds_keys)).then(|| name.to_string())
            },
        )
        .collect())
}

/// `test` on a path that may be on a mount that does not answer; `unanswered` then.
fn is_there(reach: &Reach, path: &str, test: fn(&Path) -> bool, unanswered: bool) -> bool {
    let owned = path.to_string();
    reach
        .reach(path, move || test(Path::new(&owned)))
        .unwrap_or(unanswered)
}

/// The account sources nsswitch.conf names beyond the local files (sss, ldap, winbind):
/// their accounts are never listed here, since enumerating a directory of 50,000 users
/// through NSS is itself a wait with no end.
pub fn directory_sources() -> Vec<String> {
    read_text(Path::new(NSSWITCH))
        .map(|text| passwd_directory_sources(&text))
        .unwrap_or_default()
}

/// The `passwd:` line's sources that are not local files, without [action] items.
fn passwd_directory_sources(nsswitch: &str) -> Vec<String> {
    const LOCAL: &[&str] = &["files", "compat", "systemd", "altfiles", "db", "cache"];
    passwd_sources(nsswitch)
        .into_iter()
        .filter(|source| !LOCAL.contains(&source.as_str()))
        .collect()
}

/// The sources of nsswitch.conf's passwd line ("passwd: files aad systemd"), without
/// [action] items.
pub fn passwd_sources(nsswitch: &str) -> Vec<String> {
    nsswitch
        .lines()
        .filter_map(|line| line.split('#').next()?.trim().strip_prefix("passwd:"))
        .flat_map(str::split_whitespace)
        .filter(|source| !source.starts_with('['))
        .map(String::from)
        .collect()
}

/// Home directories by user name, as /etc/passwd lists them.
pub fn passwd_homes() -> std::io::Result<BTreeMap<String, String>> {
    Ok(passwd_entries(&read_text(Path::new(PASSWD))?)
        .filter(|entry| !entry.home.is_empty())
        .map(|entry| (entry.name.to_string(), entry.home.to_string()))
        .collect())
}

/// One passwd(5) line: name:password:uid:gid:gecos:home:shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswdEntry<'a> {
    pub name: &'a str,
    pub uid: u32,
    pub gid: u32,
    pub home: &'a str,
    pub shell: &'a str,
}

/// The well-formed lines of a passwd file; others (comments, NIS "+" lines, a bad uid)
/// are skipped, as getpwent skips them.
pub fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        let [name, _, uid, gid, _, home, shell] = fields[..] else {
            return None;
        };
        Some(PasswdEntry {
            name,
            uid: uid.parse().ok()?,
            gid: gid.parse().ok()?,
            home,
            shell,
        })
    })
}

/// An AuthorizedKeysFile pattern for a passwd entry (tokens as sshd expands them);
/// relative patterns are under the home.
fn configured_keys_file(pattern: &str, name: &str, uid: &str, home: &str) -> Option<String> {
    if pattern.eq_ignore_ascii_case("none") {
        return None;
    }
    let expanded = pattern
        .replace("%%", "\0")
        .replace("%h", home)
        .replace("%u", name)
        .replace("%U", uid)
        .replace('\0', "%");
    if expanded.starts_with('/') {
        Some(expanded)
    } else if home.is_empty() {
        None
    } else {
        Some(format!("{}/{expanded}", home.trim_end_matches('/')))
    }
}

/// A shell that ends every session at once: nologin prints its message and exits,
/// false exits.
pub fn refuses_sessions(shell: &str) -> bool {
    let name = shell.rsplit('/').next().unwrap_or(shell);
    name == "nologin" || name == "false"
}

/// The shells a user may be given, most wanted first.
const LOGIN_SHELLS: &[&str] = &["/bin/bash", "/usr/bin/bash", "/bin/sh", "/usr/bin/sh"];

/// The first of LOGIN_SHELLS that /etc/shells lists and that is an executable file.
pub fn login_shell(listed: &[String]) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    LOGIN_SHELLS
        .iter()
        .filter(|shell| listed.iter().any(|known| known == *shell))
        .find(|shell| {
            std::fs::metadata(shell)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
        .map(|shell| shell.to_string())
}

/// /etc/shells, one path a line.
pub fn read_shells() -> std::io::Result<Vec<String>> {
    Ok(read_text(Path::new(SHELLS))?
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(String::from)
        .collect())
}

/// Every /etc/shadow entry, classified; the hashes are dropped here.
pub fn read_shadow() -> std::io::Result<BTreeMap<String, ShadowEntry>> {
    Ok(read_text(Path::new(SHADOW))?
        .lines()
        .filter_map(parse_shadow_line)
        .collect())
}

/// One shadow(5) line: name:password:lastchg:min:max:warn:inactive:expire:reserved.
pub fn parse_shadow_line(line: &str) -> Option<(String, ShadowEntry)> {
    let fields: Vec<&str> = line.split(':').collect();
    if fields.len() < 8 {
        return None;
    }
    let day = |index: usize| fields[index].trim().parse::<i64>().ok();
    let entry = ShadowEntry {
        password: classify_password(fields[1]),
        last_change: day(2),
        max_days: day(4),
        inactive_days: day(6),
        expire: day(7),
        hash_behind_lock: hash_behind_lock(fields[1]),
    };
    Some((fields[0].to_string(), entry))
}

/// What the password field allows. Linux builds of sshd define LOCKED_PASSWD_PREFIX "!"
/// only (platform.c platform_locked_account): "!..." is locked, "*" is not.
pub fn classify_password(field: &str) -> PasswordState {
    if field.starts_with('!') {
        PasswordState::Locked
    } else if field.is_empty() {
        PasswordState::Empty
    } else if field.starts_with('$') || is_des_hash(field) {
        PasswordState::Usable
    } else {
        PasswordState::NoPassword
    }
}

/// A "!" lock in front of a password hash, which `usermod -U` would unlock.
pub fn hash_behind_lock(field: &str) -> bool {
    field.starts_with('!')
        && classify_password(field.trim_start_matches('!')) == PasswordState::Usable
}

/// A traditional crypt(3) DES hash: 13 characters of [./0-9A-Za-z].
fn is_des_hash(field: &str) -> bool {
    field.len() == 13
        && field
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'/')
}

/// getpwnam, the user's groups (getgrouplist), shadow entry, shell and home.
pub fn account(
    name: &str,
    shadow: Option<&BTreeMap<String, ShadowEntry>>,
    shells: Option<&[String]>,
) -> Result<Option<Account>, String> {
    let user = match nix::unistd::User::from_name(name) {
        Ok(Some(user)) => user,
        Ok(None) => return Ok(None),
        Err(err) => return Err(format!("getpwnam({name}): {err}")),
    };
    let shell = user.shell.display().to_string();
    let home = user.dir.display().to_string();
    let running_shell = effective_shell(&shell).to_string();
    Ok(Some(Account {
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        groups: group_names(&user),
        shadow: shadow.and_then(|entries| entries.get(name).cloned()),
        shell_listed: shells.map(|shells| shells.contains(&running_shell)),
        shell_stat: stat_path(Path::new(&running_shell)),
        home_stat: stat_path(Path::new(&home)),
        home,
        shell,
    }))
}

/// Primary and supplementary group names, as sshd's groupaccess.c ga_init sees them.
fn group_names(user: &nix::unistd::User) -> Vec<String> {
    let Ok(name) = std::ffi::CString::new(user.name.as_bytes()) else {
        return Vec::new();
    };
    let gids = nix::unistd::getgrouplist(&name, user.gid).unwrap_or_else(|_| vec![user.gid]);
    gids.into_iter()
        .filter_map(|gid| nix::unistd::Group::from_gid(gid).ok().flatten())
        .map(|group| group.name)
        .collect()
}

/// The admin user from Azure's ovf-env.xml, else cloud-init's `default_user`.
pub fn provisioned_admin() -> Option<ProvisionedAdmin> {
    let from_ovf = read_text(Path::new(OVF_ENV))
        .ok()
        .and_then(|xml| ovf_user_name(&xml))
        .map(|name| ProvisionedAdmin {
            name,
            source: OVF_ENV.into(),
        });
    from_ovf.or_else(|| {
        cloud_cfg_files().into_iter().find_map(|path| {
            let name = default_user_name(&read_text(&path).ok()?)?;
            Some(ProvisionedAdmin {
                name,
                source: path.display().to_string(),
            })
        })
    })
}

/// The `<UserName>` element (any namespace prefix); nothing else of the file is kept.
pub fn ovf_user_name(xml: &str) -> Option<String> {
    static USER_NAME: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let pattern =
        USER_NAME.get_or_init(|| Regex::new(r"<(?:\w+:)?UserName>\s*([^<\s]+)\s*</").unwrap());
    Some(pattern.captures(xml)?[1].to_string())
}

/// cloud.cfg.d files in the order cloud-init merges them (later wins), then cloud.cfg.
fn cloud_cfg_files() -> Vec<std::path::PathBuf> {
    let mut drop_ins: Vec<_> = std::fs::read_dir(CLOUD_CFG_DIR)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "cfg"))
                .collect()
        })
        .unwrap_or_default();
    drop_ins.sort();
    drop_ins.reverse();
    drop_ins.push(CLOUD_CFG.into());
    drop_ins
}

/// `name:` under `default_user:` in cloud-init YAML, read by indentation alone.
pub fn default_user_name(yaml: &str) -> Option<String> {
    let mut lines = yaml.lines();
    let header = lines.find(|line| line.trim_start().starts_with("default_user:"))?;
    let header_indent = indentation(header);
    for line in lines {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if indentation(line) <= header_indent {
            return None;
        }
        if let Some(value) = trimmed.strip_prefix("name:") {
            let value = value.trim().trim_matches(['"', '\'']);
            return (!value.is_empty()).then(|| value.to_string());
        }
    }
    None
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsswitch_passwd_sources_are_read() {
        let text = "# comment\npasswd:         files aad [NOTFOUND=return] systemd # x\ngroup: files aad\n";
        assert_eq!(passwd_sources(text), ["files", "aad", "systemd"]);
        assert!(passwd_sources("group: files\n").is_empty());
    }

    #[test]
    fn directory_sources_are_the_passwd_line_beyond_local_files() {
        let sssd = "# comment\npasswd:  files sss [NOTFOUND=return] ldap # old\ngroup: files sss\n";
        assert_eq!(passwd_directory_sources(sssd), ["sss", "ldap"]);
        let local = "passwd:         files systemd\n";
        assert!(passwd_directory_sources(local).is_empty());
    }

    #[test]
    fn password_field_is_classified_like_linux_sshd() {
        assert_eq!(classify_password("!"), PasswordState::Locked);
        assert_eq!(classify_password("!$6$salt$hash"), PasswordState::Locked);
        assert_eq!(classify_password("!*"), PasswordState::Locked);
        assert_eq!(classify_password("*"), PasswordState::NoPassword);
        assert_eq!(classify_password("*LK*"), PasswordState::NoPassword);
        assert_eq!(classify_password(""), PasswordState::Empty);
        assert_eq!(classify_password("$y$j9T$abc$def"), PasswordState::Usable);
        assert_eq!(classify_password("abJnggxhB/yWI"), PasswordState::Usable);
        assert!(hash_behind_lock("!$6$salt$hash"));
        assert!(!hash_behind_lock("!"));
        assert!(!hash_behind_lock("!*"));
        assert!(!hash_behind_lock("$6$salt$hash"));
    }

    #[test]
    fn shadow_line_keeps_dates_and_drops_the_hash() {
        let (name, entry) = parse_shadow_line("alice:$6$s$h:19000:0:90:7:14:19500:").unwrap();
        assert_eq!(name, "alice");
        assert_eq!(entry.password, PasswordState::Usable);
        assert_eq!(entry.last_change, Some(19000));
        assert_eq!(entry.max_days, Some(90));
        assert_eq!(entry.inactive_days, Some(14));
        assert_eq!(entry.expire, Some(19500));
        assert!(!format!("{entry:?}").contains("$6$"));
        let (_, open) = parse_shadow_line("bob:*:19000:0:99999:7:::").unwrap();
        assert_eq!((open.inactive_days, open.expire), (None, None));
    }

    #[test]
    fn ovf_env_gives_only_the_user_name() {
        let xml = r#"<ns1:LinuxProvisioningConfigurationSet><ns1:UserName>azureuser</ns1:UserName><ns1:UserPassword>secret</ns1:UserPassword>"#;
        assert_eq!(ovf_user_name(xml).as_deref(), Some("azureuser"));
        assert_eq!(
            ovf_user_name("<UserName>ops</UserName>").as_deref(),
            Some("ops")
        );
        assert_eq!(ovf_user_name("<HostName>vm</HostName>"), None);
    }

    #[test]
    fn cloud_init_default_user_is_read_by_indentation() {
        let yaml = "system_info:\n  default_user:\n    # the admin\n    name: ubuntu\n    lock_passwd: True\n  distro: ubuntu\n";
        assert_eq!(default_user_name(yaml).as_deref(), Some("ubuntu"));
        let other = "system_info:\n  default_user:\n    lock_passwd: True\n  name: distro\n";
        assert_eq!(default_user_name(other), None);
    }
}
