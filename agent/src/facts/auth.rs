//! The authentication path of each examined user: account, settings, keys files,
//! and the machine-wide gates (nologin, TCP wrappers, AuthorizedKeysCommand).

use super::{FileStat, Located, SessionFacts};
use serde::{Deserialize, Serialize};

/// The authentication path, per user: the account, the keys sshd would read, and the
/// settings that let the user in or keep them out.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct AuthFacts {
    pub users: Vec<UserAuth>,
    /// Accounts left out because of the bound on how many are examined.
    pub users_omitted: Vec<String>,
    /// The admin user the VM was provisioned with, when the provisioning agent left it.
    pub provisioned_admin: Option<ProvisionedAdmin>,
    /// Days since the epoch when collected, for shadow(5) dates.
    pub today_days: i64,
    /// /etc/nologin and /run/nologin, when present.
    pub nologin_files: Vec<NologinFile>,
    pub tcp_wrappers: TcpWrappersFacts,
    /// AuthorizedKeysCommand as the global configuration sets it.
    pub keys_command: Option<KeysCommand>,
    /// Microsoft Entra ID login installed (the AADSSHLoginForLinux extension's
    /// aadsshlogin package), whatever sshd_config says of it.
    #[serde(default)]
    pub entra_login: Option<EntraLogin>,
    /// The key files the global configuration names for sshd itself to read:
    /// RevokedKeys and TrustedUserCAKeys.
    #[serde(default)]
    pub server_key_files: Vec<ServerKeyFile>,
    /// This sshd carries Debian's user-group-modes patch (Debian, Ubuntu): StrictModes
    /// accepts group write when the group has the user as its only member.
    pub strict_modes_allows_private_group: bool,
    /// A shell to give a user whose own is unusable: the first of bash and sh that
    /// /etc/shells lists and that can be run.
    #[serde(default)]
    pub login_shell: Option<String>,
}

/// A file of keys sshd reads as root while it checks a user's key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerKeyFile {
    /// "revokedkeys" or "trustedusercakeys".
    pub keyword: String,
    pub stat: FileStat,
    /// Where the setting is: "file:line", or "sshd -T".
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvisionedAdmin {
    pub name: String,
    /// The file it was read from, e.g. /var/lib/waagent/ovf-env.xml.
    pub source: String,
}

/// Why a user is examined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// Named with `--user`.
    Requested,
    /// The admin user the VM was provisioned with.
    Provisioned,
    Root,
    /// An account with a login shell and a home directory.
    Discovered,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserAuth {
    pub name: String,
    pub role: UserRole,
    /// None when getpwnam finds no such user.
    pub account: Option<Account>,
    /// The sshd settings in effect for this user.
    pub settings: UserSettings,
    /// Each AuthorizedKeysFile, expanded for this user.
    pub keys_files: Vec<KeysFile>,
    /// Keys in the default place (~/.ssh/authorized_keys, ~/.ssh/authorized_keys2) that
    /// sshd does not read, because AuthorizedKeysFile names other files.
    #[serde(default)]
    pub unread_keys_files: Vec<UnreadKeysFile>,
    /// What sshd needs once it has let the user in: the chroot and the forced command.
    #[serde(default)]
    pub session: SessionFacts,
    /// The account or its files did not answer in time (a hung mount, a directory
    /// service that does not reply): then nothing else of the user is known.
    #[serde(default)]
    pub unanswered: Option<super::Unanswered>,
}

impl UserAuth {
    /// A user of whom nothing past the account and settings is known: no such account,
    /// or one whose files were not looked at.
    pub fn without_files(
        name: String,
        role: UserRole,
        account: Option<Account>,
        settings: UserSettings,
    ) -> UserAuth {
        UserAuth {
            name,
            role,
            account,
            settings,
            keys_files: Vec::new(),
            unread_keys_files: Vec::new(),
            session: Default::default(),
            unanswered: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnreadKeysFile {
    pub path: String,
    /// The key lines sshd could parse there.
    pub keys: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    /// As in /etc/passwd; empty means /bin/sh.
    pub shell: String,
    /// Primary and supplementary group names (what AllowGroups/DenyGroups see).
    pub groups: Vec<String>,
    /// None when /etc/shadow has no entry for the user or could not be read.
    pub shadow: Option<ShadowEntry>,
    pub shell_stat: FileStat,
    /// The shell is listed in /etc/shells (None when that file could not be read).
    pub shell_listed: Option<bool>,
    pub home_stat: FileStat,
}

/// What the shadow(5) password field allows: never the field itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordState {
    /// A password hash.
    Usable,
    /// Empty: a login without password (sshd needs PermitEmptyPasswords).
    Empty,
    /// Starts with "!": locked (usermod -L, passwd -l), sshd's LOCKED_PASSWD_PREFIX on Linux.
    Locked,
    /// "*" or anything else that is not a hash: no password login, keys still work.
    NoPassword,
}

/// The classification of one /etc/shadow entry; dates are days since the epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShadowEntry {
    pub password: PasswordState,
    /// Field 3; 0 means "must change at next login".
    pub last_change: Option<i64>,
    /// Field 5.
    pub max_days: Option<i64>,
    /// Field 7.
    pub inactive_days: Option<i64>,
    /// Field 8: the account expires after this day.
    pub expire: Option<i64>,
    /// Locked with a password hash behind the "!": `usermod -U` gives that password
    /// back. Without one ("!", "!!", "!*"), unlocking takes "*" (no password).
    #[serde(default)]
    pub hash_behind_lock: bool,
}

/// Where a user's sshd settings came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingsSource {
    /// `sshd -T -C user=...`: Match blocks evaluated by sshd itself.
    SshdT,
    /// The parser's global values with sshd's defaults; Match blocks not evaluated.
    Parser,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserSettings {
    pub source: SettingsSource,
    /// The command line when `sshd -T` was used.
    pub command: Option<String>,
    /// The keywords the authentication path depends on (lower-case), as words.
    pub values: std::collections::BTreeMap<String, Vec<String>>,
    /// Where the parser saw each keyword set ("file:line"), for evidence.
    pub locations: std::collections::BTreeMap<String, String>,
}

impl UserSettings {
    /// The first word of a setting.
    pub fn first(&self, keyword: &str) -> Option<&str> {
        self.values.get(keyword)?.first().map(String::as_str)
    }

    /// Where a setting comes from: its line, else how the settings were found.
    pub fn origin(&self, keyword: &str) -> String {
        match (self.locations.get(keyword), &self.command) {
            (Some(location), _) => location.clone(),
            (None, Some(command)) => command.clone(),
            (None, None) => "sshd's built-in default".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeysFile {
    /// As configured, e.g. ".ssh/authorized_keys" or "/etc/ssh/keys/%u".
    pub pattern: String,
    pub path: String,
    pub stat: FileStat,
    /// What StrictModes examines (auth.c auth_secure_path): the file, then each directory
    /// up to the home directory or /. Empty when the file does not exist.
    pub chain: Vec<StrictModesEntry>,
    /// Why the user could not read it (sshd opens it with the user's uid).
    pub unreadable_by_user: Option<String>,
    pub keys: Vec<AuthorizedKey>,
    /// Lines sshd skips: unparsable or with bad options.
    pub bad_lines: Vec<BadKeyLine>,
    /// The file was longer than the bound and only its start was read.
    pub truncated: bool,
}

/// One path StrictModes examines.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StrictModesEntry {
    pub stat: FileStat,
    /// Group-writable, and the group has the user as its only member (primary or
    /// supplementary), as Debian's misc.c secure_permissions counts them.
    pub private_group: bool,
}

/// A key line sshd can read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizedKey {
    pub line: u32,
    pub key_type: String,
    /// Option names only (values such as command= may be sensitive).
    pub options: Vec<String>,
    pub comment: Option<String>,
    /// The from="..." patterns: the client addresses this key is limited to.
    #[serde(default)]
    pub from: Option<String>,
    /// expiry-time="..." as written (YYYYMMDD[HHMM[SS]], "Z" for UTC).
    #[serde(default)]
    pub expiry_time: Option<String>,
    /// The text whose removal takes expiry-time= off the key's line.
    #[serde(skip)]
    pub expiry_removal: Option<String>,
    /// The program command="..." runs instead of the session, when its first word is a
    /// path (the rest of the command is not kept: it may hold secrets).
    #[serde(default)]
    pub command_program: Option<FileStat>,
    /// The public key as sshd reads it, "TYPE BASE64", for asking the live sshd about it;
    /// kept out of the JSON (it is long, and the fingerprint names the key there).
    #[serde(skip)]
    pub public_key: String,
}

impl AuthorizedKey {
    /// A cert-authority line: the key of a CA whose certificates the user logs in with,
    /// never accepted as a plain key.
    pub fn is_cert_authority(&self) -> bool {
        self.options.iter().any(|option| option == "cert-authority")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BadKeyLine {
    pub line: u32,
    pub problem: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NologinFile {
    pub path: String,
    /// Its first line, the message users see.
    pub message: String,
}

/// TCP wrappers: /etc/hosts.allow and /etc/hosts.deny lines that name sshd.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct TcpWrappersFacts {
    /// Lines whose daemon list names sshd or ALL, "file:line" located.
    pub deny: Vec<Located<String>>,
    pub allow: Vec<Located<String>>,
}

/// Which service an AuthorizedKeysCommand belongs to.
/// The pieces of Entra ID login found on the machine.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EntraLogin {
    /// The key handler sshd must be told to run (AuthorizedKeysCommand).
    pub handler: String,
    /// /etc/nsswitch.conf looks Entra users up ("aad" on its passwd line).
    pub in_nsswitch: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeysCommandProvider {
    /// Microsoft Entra ID login (AADSSHLoginForLinux: aad_certhandler, aadsshlogin).
    EntraId,
    Ec2InstanceConnect,
    GoogleOsLogin,
    Other,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeysCommand {
    pub command: String,
    pub provider: KeysCommandProvider,
    /// Where it is set ("file:line" or "sshd -T").
    pub source: String,
    /// The program, then each directory up to /: sshd requires all root-owned and not
    /// writable by group or others (misc.c safe_path).
    pub chain: Vec<FileStat>,
    pub user: Option<String>,
    pub user_exists: Option<bool>,
}
