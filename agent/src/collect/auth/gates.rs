//! Machine-wide gates on the authentication path: nologin files, TCP wrappers, and the
//! AuthorizedKeysCommand that cloud logins (Entra ID, EC2 Instance Connect, OS Login) use.

use super::super::prereqs::stat_path;
use super::accounts::read_text;
use crate::facts::{
    FileStat, KeysCommand, KeysCommandProvider, Located, NologinFile, TcpWrappersFacts,
    UserSettings,
};
use crate::openssh::NOLOGIN_FILES;
use std::path::Path;

const HOSTS_ALLOW: &str = "/etc/hosts.allow";
const HOSTS_DENY: &str = "/etc/hosts.deny";
const MAX_MESSAGE_CHARS: usize = 200;

pub fn nologin_files() -> Vec<NologinFile> {
    NOLOGIN_FILES
        .iter()
        .filter(|path| Path::new(path).is_file())
        .map(|path| NologinFile {
            path: path.to_string(),
            message: read_text(Path::new(path))
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(MAX_MESSAGE_CHARS)
                .collect(),
        })
        .collect()
}

/// hosts.allow/hosts.deny lines naming sshd. Whether sshd reads them at all is
/// `SshdFacts::uses_libwrap`.
pub fn tcp_wrappers() -> TcpWrappersFacts {
    TcpWrappersFacts {
        deny: read_text(Path::new(HOSTS_DENY))
            .map(|text| lines_naming_sshd(HOSTS_DENY, &text))
            .unwrap_or_default(),
        allow: read_text(Path::new(HOSTS_ALLOW))
            .map(|text| lines_naming_sshd(HOSTS_ALLOW, &text))
            .unwrap_or_default(),
    }
}

/// hosts_access(5): "daemon_list : client_list [: option...]"; the daemon list names
/// sshd (argv[0]'s basename) or ALL.
pub fn lines_naming_sshd(path: &str, text: &str) -> Vec<Located<String>> {
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let content = line.split('#').next().unwrap_or_default().trim();
            let (daemons, _) = content.split_once(':')?;
            let names_sshd = daemons
                .split([',', ' ', '\t'])
                .map(|daemon| daemon.split('@').next().unwrap_or_default())
                .any(|daemon| daemon == "sshd" || daemon.eq_ignore_ascii_case("ALL"));
            names_sshd.then(|| Located {
                value: content.to_string(),
                file: path.to_string(),
                line: index as u32 + 1,
            })
        })
        .collect()
}

/// Where aadsshlogin installs its key handler.
const ENTRA_HANDLERS: &[&str] = &["/usr/sbin/aad_certhandler", "/usr/bin/aad_certhandler"];

/// Entra ID login's installed pieces, whatever sshd_config says: its key handler, and
/// whether NSS asks it for users.
pub fn entra_login() -> Option<crate::facts::EntraLogin> {
    let handler = ENTRA_HANDLERS
        .iter()
        .find(|path| Path::new(path).exists())?;
    let nsswitch = std::fs::read_to_string("/etc/nsswitch.conf").unwrap_or_default();
    Some(crate::facts::EntraLogin {
        handler: handler.to_string(),
        in_nsswitch: super::accounts::passwd_sources(&nsswitch)
            .iter()
            .any(|source| source == "aad"),
    })
}

/// The AuthorizedKeysCommand in `settings`, when one is set.
pub fn keys_command(settings: &UserSettings) -> Option<KeysCommand> {
    let words = settings.values.get("authorizedkeyscommand")?;
    let program = words.first().filter(|program| *program != "none")?;
    let user = settings
        .first("authorizedkeyscommanduser")
        .filter(|user| *user != "none")
        .map(String::from);
    Some(KeysCommand {
        command: words.join(" "),
        provider: provider(program),
        source: settings.origin("authorizedkeyscommand"),
        chain: safe_path_chain(Path::new(program)),
        user_exists: user
            .as_deref()
            .map(|name| matches!(nix::unistd::User::from_name(name), Ok(Some(_)))),
        user,
    })
}

fn provider(program: &str) -> KeysCommandProvider {
    let name = program.rsplit('/').next().unwrap_or(program);
    match name {
        "aad_certhandler" | "aadsshlogin" => KeysCommandProvider::EntraId,
        "eic_run_authorized_keys" => KeysCommandProvider::Ec2InstanceConnect,
        "google_authorized_keys" => KeysCommandProvider::GoogleOsLogin,
        _ => KeysCommandProvider::Other,
    }
}

/// misc.c safe_path with no home: the canonical program, then every directory up to /.
fn safe_path_chain(program: &Path) -> Vec<FileStat> {
    let Ok(real) = std::fs::canonicalize(program) else {
        return vec![stat_path(program)];
    };
    real.ancestors().map(stat_path).collect()
}

/// RevokedKeys and TrustedUserCAKeys as the global settings name them, each stat'd:
/// sshd opens them as root for every key it checks.
pub fn server_key_files(settings: &UserSettings) -> Vec<crate::facts::ServerKeyFile> {
    ["revokedkeys", "trustedusercakeys"]
        .into_iter()
        .filter_map(|keyword| {
            let path = settings.first(keyword).filter(|path| *path != "none")?;
            Some(crate::facts::ServerKeyFile {
                keyword: keyword.to_string(),
                stat: stat_path(Path::new(path)),
                source: settings.origin(keyword),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_login_commands_are_recognised() {
        assert_eq!(
            provider("/usr/sbin/aad_certhandler"),
            KeysCommandProvider::EntraId
        );
        assert_eq!(
            provider("/usr/bin/aadsshlogin"),
            KeysCommandProvider::EntraId
        );
        assert_eq!(
            provider("/opt/aws/bin/eic_run_authorized_keys"),
            KeysCommandProvider::Ec2InstanceConnect
        );
        assert_eq!(
            provider("/usr/bin/google_authorized_keys"),
            KeysCommandProvider::GoogleOsLogin
        );
        assert_eq!(provider("/usr/local/bin/keys"), KeysCommandProvider::Other);
    }
}
