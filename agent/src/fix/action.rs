//! What a repair does, as data: each finding's catalogue entry lists its actions, filled
//! with this machine's values. The same action prints as the guest command of the
//! verdict and is what `sshdoctor fix --apply` performs, so the two cannot disagree.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// One change to the system. It reads back (from a transaction's manifest) through
/// `from_template`, so what a manifest may hold is checked as the catalogue is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    /// chmod: an octal mode, or "go-w" (group and others lose write, the rest stays).
    SetMode { path: String, mode: String },
    /// chown: without a group, to the owner's login group (`chown user: path`).
    SetOwner {
        path: String,
        owner: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
    },
    /// A directory with this mode and owner, where none is.
    MakeDir {
        path: String,
        mode: String,
        owner: String,
        group: String,
    },
    /// The file goes (kept in the transaction for undo).
    RemoveFile { path: String },
    /// A public key line appended to a keys file, unless the file has it already; a new
    /// file is made 0600 and given to `owner` (and the owner's login group).
    AddKey {
        path: String,
        owner: String,
        key: String,
    },
    /// An empty file, root's, 0644, where none is (its directories made as needed).
    CreateEmpty { path: String },
    /// The file's content replaced whole (owner, mode and attributes kept).
    WriteFile { path: String, content: String },
    /// "# " put before lines of a config file sshd, PAM, access.conf or TCP wrappers
    /// read.
    CommentOut { file: String, lines: Vec<u32> },
    /// A word added at the end of one line: a user to an AllowUsers list.
    AddWord {
        file: String,
        line: u32,
        word: String,
    },
    /// A line put in before line `line`: a lost `Include` back at the top.
    InsertLine {
        file: String,
        line: u32,
        text: String,
    },
    /// The first `old` in line `line` becomes `new`, both taken literally: a client's
    /// address added to a key's from= list.
    ReplaceText {
        file: String,
        line: u32,
        old: String,
        new: String,
    },
    /// sysctl -w KEY=VALUE: a kernel setting changed until the next boot.
    Sysctl { key: String, value: String },
    /// A host key OpenSSH cannot load moved aside to PATH.broken, and a new key of
    /// `key_type` (rsa, ecdsa, ed25519) made in its place, with its .pub.
    NewHostKey { path: String, key_type: String },
    /// `ssh-keygen -A`: every default host key type missing in /etc/ssh is made.
    MakeHostKeys,
    /// useradd --system: the privilege-separation user sshd needs, with no home made
    /// and no login.
    AddSystemUser {
        user: String,
        home: String,
        shell: String,
    },
    /// usermod -s.
    SetShell { user: String, shell: String },
    /// chage -E -1: the account never expires.
    NoExpiry { user: String },
    /// chage -d DAY: the password counts as changed on `day` (YYYY-MM-DD), so its aging
    /// starts again; the maximum age and the rest of the policy stay.
    PasswordChanged { user: String, day: String },
    /// usermod -U: the "!" goes from before the password hash.
    Unlock { user: String },
    /// usermod -p '*': a locked account without a password is unlocked to "*", which
    /// allows key logins and no password.
    NoPassword { user: String },
    /// systemctl VERB UNIT.
    Systemctl { verb: UnitVerb, unit: String },
    /// rc-service SERVICE VERB, where OpenRC manages services: start, or zap (OpenRC
    /// forgets a start whose daemon is gone, so that start runs again).
    RcService { verb: RcVerb, service: String },
    /// rc-update add SERVICE RUNLEVEL: OpenRC starts the service at boot.
    RcUpdateAdd { service: String, runlevel: String },
    /// SCRIPT start: a SysV init script (/etc/init.d/NAME) starts sshd.
    InitScriptStart { script: String },
    /// The runlevel links that start a SysV init script at boot: `update-rc.d SERVICE
    /// defaults` (none yet) or `enable` (stop links turned back), or `chkconfig --add
    /// SERVICE` or `chkconfig SERVICE on` likewise.
    SysvEnable {
        tool: String,
        service: String,
        verb: String,
    },
    /// New connections to TCP `port` accepted first in an nftables chain, by a rule
    /// with the comment "sshdoctor" by which undo finds it again.
    NftAccept {
        family: String,
        table: String,
        chain: String,
        port: u16,
    },
    /// New connections to TCP `port` accepted first in `chain` of `table` (filter INPUT,
    /// or raw or mangle PREROUTING, mangle INPUT), by `iptables` (or iptables-legacy,
    /// iptables-nft): the backend and chain whose rule drops them.
    IptablesAccept {
        iptables: String,
        table: String,
        chain: String,
        port: u16,
    },
    /// firewalld lets new connections to TCP `port` into `zone`, now and after its next
    /// reload (the ssh service for 22, the port otherwise); nothing else is reloaded.
    FirewalldAllow { zone: String, port: u16 },
    /// ufw allows TCP `port` from anywhere: inserted at `position` (before the rule
    /// that denies it), or appended when `position` is 0 (only the default denies).
    UfwAllow { port: u16, position: u32 },
    /// SELinux labels TCP `port` ssh_port_t, so sshd may bind it: added, or modified
    /// where the base policy gives the port another type.
    LabelSshPort { port: u16 },
    /// ip link set INTERFACE up: a link that was set down by hand or left down.
    LinkUp { interface: String },
    /// SIGCONT to the sshd listener that was stopped (SIGSTOP, a debugger).
    Resume { pid: u32 },
    /// sshd started by hand where systemd does not run it (it daemonizes and writes
    /// `pid_file`), after `check`, the `sshd -t` that must pass first.
    StartSshd {
        check: String,
        sshd: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<String>,
        pid_file: String,
    },
    /// sshd reads its config again: `systemctl restart` of its unit, or, without
    /// systemd, SIGHUP to the listener (sshd re-executes itself in place). Printed
    /// after `check`, the `sshd -t` that must pass first (fix runs its own).
    RestartSshd {
        check: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnitVerb {
    Unmask,
    ResetFailed,
    Thaw,
    Enable,
    Start,
    Restart,
    Reload,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RcVerb {
    Zap,
    Start,
}

impl RcVerb {
    pub fn as_str(self) -> &'static str {
        match self {
            RcVerb::Zap => "zap",
            RcVerb::Start => "start",
        }
    }
}

impl UnitVerb {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitVerb::Unmask => "unmask",
            UnitVerb::ResetFailed => "reset-failed",
            UnitVerb::Thaw => "thaw",
            UnitVerb::Enable => "enable",
            UnitVerb::Start => "start",
            UnitVerb::Restart => "restart",
            UnitVerb::Reload => "reload",
        }
    }

    fn parse(verb: &str) -> Option<UnitVerb> {
        [
            UnitVerb::Unmask,
            UnitVerb::ResetFailed,
            UnitVerb::Thaw,
            UnitVerb::Enable,
            UnitVerb::Start,
            UnitVerb::Restart,
            UnitVerb::Reload,
        ]
        .into_iter()
        .find(|known| known.as_str() == verb)
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Action, D::Error> {
        let fields = BTreeMap::<String, serde_json::Value>::deserialize(deserializer)?;
        fn text(value: &serde_json::Value) -> String {
            match value {
                serde_json::Value::String(text) => text.clone(),
                // A list (comment_out's lines) as the catalogue writes it: space-separated.
                serde_json::Value::Array(items) => {
                    items.iter().map(text).collect::<Vec<_>>().join(" ")
                }
                other => other.to_string(),
            }
        }
        let kind = fields.get("do").map(text).unwrap_or_default();
        let args: Vec<(&str, String)> = fields
            .iter()
            .filter(|(name, _)| *name != "do")
            .map(|(name, value)| (name.as_str(), text(value)))
            .collect();
        Action::from_template(&kind, &args).map_err(serde::de::Error::custom)
    }
}

/// An action as the catalogue writes it: its kind and its arguments, with {placeholders}.
#[derive(Debug)]
pub struct ActionTemplate {
    pub kind: &'static str,
    pub args: &'static [(&'static str, &'static str)],
}

impl Action {
    /// The action a template names, with its arguments filled in; an error names what
    /// does not fit (an unknown kind or argument, a bad mode or line).
    pub fn from_template(kind: &str, args: &[(&str, String)]) -> Result<Action, String> {
        let arg = |name: &str| -> Result<String, String> {
            args.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
                .ok_or_else(|| format!("{kind}: no {name}"))
        };
        let optional = |name: &str| args.iter().find(|(key, _)| *key == name).map(|(_, v)| v);
        let expected: &[&str] = match kind {
            "set_mode" => &["path", "mode"],
            "set_owner" => &["path", "owner", "group"],
            "make_dir" => &["path", "mode", "owner", "group"],
            "remove_file" => &["path"],
            "add_key" => &["path", "owner", "key"],
            "write_file" => &["path", "content"],
            "create_empty" => &["path"],
            "comment_out" => &["file", "lines"],
            "add_word" => &["file", "line", "word"],
            "insert_line" => &["file", "line", "text"],
            "replace_text" => &["file", "line", "old", "new"],
            "new_host_key" => &["path", "key_type"],
            "sysctl" => &["key", "value"],
            "make_host_keys" => &[],
            "set_shell" => &["user", "shell"],
            "add_system_user" => &["user", "home", "shell"],
            "no_expiry" => &["user"],
            "password_changed" => &["user", "day"],
            "unlock" | "no_password" => &["user"],
            "systemctl" => &["verb", "unit"],
            "rc_service" => &["verb", "service"],
            "rc_update_add" => &["service", "runlevel"],
            "init_script_start" => &["script"],
            "sysv_enable" => &["tool", "service", "verb"],
            "restart_sshd" => &["check", "unit", "pid"],
            "start_sshd" => &["check", "sshd", "config", "pid_file"],
            "resume" => &["pid"],
            "nft_accept" => &["family", "table", "chain", "port"],
            "iptables_accept" => &["iptables", "table", "chain", "port"],
            "firewalld_allow" => &["zone", "port"],
            "ufw_allow" => &["port", "position"],
            "label_ssh_port" => &["port"],
            "link_up" => &["interface"],
            other => return Err(format!("no action {other}")),
        };
        if let Some((unknown, _)) = args.iter().find(|(key, _)| !expected.contains(key)) {
            return Err(format!("{kind}: no argument {unknown}"));
        }
        let action = match kind {
            "set_mode" => Action::SetMode {
                path: arg("path")?,
                mode: arg("mode")?,
            },
            "set_owner" => Action::SetOwner {
                path: arg("path")?,
                owner: arg("owner")?,
                group: optional("group").filter(|group| !group.is_empty()).cloned(),
            },
            "make_dir" => Action::MakeDir {
                path: arg("path")?,
                mode: arg("mode")?,
                owner: arg("owner")?,
                group: arg("group")?,
            },
            "remove_file" => Action::RemoveFile { path: arg("path")? },
            "create_empty" => Action::CreateEmpty { path: arg("path")? },
            "write_file" => Action::WriteFile {
                path: arg("path")?,
                content: arg("content")?,
            },
            "add_key" => Action::AddKey {
                path: arg("path")?,
                owner: arg("owner")?,
                key: arg("key")?,
            },
            "comment_out" => Action::CommentOut {
                file: arg("file")?,
                lines: arg("lines")?
                    .split_whitespace()
                    .map(|line| line_number(kind, line))
                    .collect::<Result<_, _>>()?,
            },
            "add_word" => Action::AddWord {
                file: arg("file")?,
                line: line_number(kind, &arg("line")?)?,
                word: arg("word")?,
            },
            "replace_text" => Action::ReplaceText {
                file: arg("file")?,
                line: line_number(kind, &arg("line")?)?,
                old: arg("old")?,
                new: arg("new")?,
            },
            "insert_line" => Action::InsertLine {
                file: arg("file")?,
                line: line_number(kind, &arg("line")?)?,
                text: arg("text")?,
            },
            "new_host_key" => Action::NewHostKey {
                path: arg("path")?,
                key_type: arg("key_type")?,
            },
            "make_host_keys" => Action::MakeHostKeys,
            "sysctl" => Action::Sysctl {
                key: arg("key")?,
                value: arg("value")?,
            },
            "add_system_user" => Action::AddSystemUser {
                user: arg("user")?,
                home: arg("home")?,
                shell: arg("shell")?,
            },
            "set_shell" => Action::SetShell {
                user: arg("user")?,
                shell: arg("shell")?,
            },
            "no_expiry" => Action::NoExpiry { user: arg("user")? },
            "password_changed" => Action::PasswordChanged {
                user: arg("user")?,
                day: arg("day")?,
            },
            "unlock" => Action::Unlock { user: arg("user")? },
            "no_password" => Action::NoPassword { user: arg("user")? },
            "nft_accept" => Action::NftAccept {
                family: arg("family")?,
                table: arg("table")?,
                chain: arg("chain")?,
                port: port(kind, &arg("port")?)?,
            },
            // A manifest written before tables other than filter were judged has none.
            "iptables_accept" => Action::IptablesAccept {
                iptables: arg("iptables")?,
                table: optional("table")
                    .map_or("filter", |table| table)
                    .to_string(),
                chain: optional("chain").map_or("INPUT", |chain| chain).to_string(),
                port: port(kind, &arg("port")?)?,
            },
            "firewalld_allow" => Action::FirewalldAllow {
                zone: arg("zone")?,
                port: port(kind, &arg("port")?)?,
            },
            "ufw_allow" => Action::UfwAllow {
                port: port(kind, &arg("port")?)?,
                position: arg("position")?
                    .parse()
                    .map_err(|_| format!("{kind}: not a rule position"))?,
            },
            "label_ssh_port" => Action::LabelSshPort {
                port: port(kind, &arg("port")?)?,
            },
            "link_up" => Action::LinkUp {
                interface: arg("interface")?,
            },
            "resume" => Action::Resume {
                pid: arg("pid")?
                    .parse()
                    .map_err(|_| format!("{kind}: a bad pid"))?,
            },
            "start_sshd" => Action::StartSshd {
                check: arg("check")?,
                sshd: arg("sshd")?,
                config: optional("config")
                    .filter(|config| !config.is_empty())
                    .cloned(),
                pid_file: arg("pid_file")?,
            },
            "restart_sshd" => Action::RestartSshd {
                check: arg("check")?,
                unit: optional("unit").filter(|unit| !unit.is_empty()).cloned(),
                pid: optional("pid")
                    .filter(|pid| !pid.is_empty())
                    .map(|pid| pid.parse().map_err(|_| format!("{kind}: a bad pid")))
                    .transpose()?,
            },
            "rc_service" => Action::RcService {
                verb: match arg("verb")?.as_str() {
                    "zap" => RcVerb::Zap,
                    "start" => RcVerb::Start,
                    _ => return Err(format!("{kind}: unknown verb")),
                },
                service: arg("service")?,
            },
            "rc_update_add" => Action::RcUpdateAdd {
                service: arg("service")?,
                runlevel: arg("runlevel")?,
            },
            "init_script_start" => Action::InitScriptStart {
                script: arg("script")?,
            },
            "sysv_enable" => Action::SysvEnable {
                tool: arg("tool")?,
                service: arg("service")?,
                verb: arg("verb")?,
            },
            _ => Action::Systemctl {
                verb: UnitVerb::parse(&arg("verb")?)
                    .ok_or_else(|| format!("{kind}: unknown verb"))?,
                unit: arg("unit")?,
            },
        };
        action.check()?;
        Ok(action)
    }

    /// The checks every action passes before it is printed or performed: absolute
    /// paths, modes that chmod and this code read alike, names without shell syntax.
    fn check(&self) -> Result<(), String> {
        let absolute = |path: &str| match path.starts_with('/') && !path.contains("/../") {
            true => Ok(()),
            false => Err(format!("{path:?} is not an absolute path")),
        };
        let name = |name: &str| match !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        {
            true => Ok(()),
            false => Err(format!("{name:?} is not a user, group or unit name")),
        };
        match self {
            Action::SetMode { path, mode } => {
                absolute(path)?;
                parse_mode(mode).map(|_| ())
            }
            Action::SetOwner { path, owner, group } => {
                absolute(path)?;
                name(owner)?;
                group.as_deref().map_or(Ok(()), name)
            }
            Action::MakeDir {
                path,
                mode,
                owner,
                group,
            } => {
                absolute(path)?;
                parse_mode(mode)?;
                name(owner)?;
                name(group)
            }
            Action::RemoveFile { path }
            | Action::CreateEmpty { path }
            | Action::WriteFile { path, .. } => absolute(path),
            Action::AddKey { path, owner, key } => {
                absolute(path)?;
                name(owner)?;
                use crate::collect::auth::key_line::{parse_key_line, KeyLine};
                match (key.contains(['\n', '\r']), parse_key_line(key)) {
                    (false, KeyLine::Key(_)) => Ok(()),
                    (_, KeyLine::Bad(why)) => Err(format!("not a public key line: {why}")),
                    _ => Err("not one public key line".into()),
                }
            }
            Action::CommentOut { file, lines } => match lines.is_empty() {
                true => Err("comment_out: no line".into()),
                false => absolute(file),
            },
            Action::AddWord { file, word, .. } => {
                absolute(file)?;
                name(word)
            }
            Action::ReplaceText { file, old, new, .. } => {
                absolute(file)?;
                match old.is_empty() || format!("{old}{new}").contains(['\n', '\r', '\'']) {
                    true => Err(format!("{old:?} to {new:?} is not a one-line replacement")),
                    false => Ok(()),
                }
            }
            // sed's one-line `i` command prints the text as it is, but for a leading blank.
            Action::InsertLine { file, text, .. } => {
                absolute(file)?;
                match text.is_empty()
                    || text.starts_with(char::is_whitespace)
                    || text.contains(['\n', '\r', '\'', '\\'])
                {
                    true => Err(format!("{text:?} is not one plain line")),
                    false => Ok(()),
                }
            }
            Action::NewHostKey { path, key_type } => {
                absolute(path)?;
                match HOST_KEY_TYPES.contains(&key_type.as_str()) {
                    true => Ok(()),
                    false => Err(format!("{key_type:?} is not a host key type")),
                }
            }
            Action::MakeHostKeys => Ok(()),
            // A dotted name under /proc/sys and a plain number: nothing to quote.
            Action::Sysctl { key, value } => {
                let dotted = !key.is_empty()
                    && key.split('.').all(|part| {
                        !part.is_empty()
                            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    });
                match (dotted, value.parse::<u64>().is_ok()) {
                    (true, true) => Ok(()),
                    (false, _) => Err(format!("{key:?} is not a sysctl name")),
                    (true, false) => Err(format!("{value:?} is not a number")),
                }
            }
            Action::AddSystemUser { user, home, shell } => {
                name(user)?;
                absolute(home)?;
                absolute(shell)
            }
            Action::SetShell { user, shell } => {
                name(user)?;
                absolute(shell)
            }
            Action::NoExpiry { user } | Action::Unlock { user } | Action::NoPassword { user } => {
                name(user)
            }
            Action::PasswordChanged { user, day } => {
                name(user)?;
                let digits: Vec<&str> = day.split('-').collect();
                match digits.len() == 3 && digits.iter().all(|part| part.parse::<u16>().is_ok()) {
                    true => Ok(()),
                    false => Err(format!("{day:?} is not a YYYY-MM-DD day")),
                }
            }
            Action::Systemctl { unit, .. } => name(unit),
            Action::RcService { service, .. } => name(service),
            Action::RcUpdateAdd { service, runlevel } => {
                name(service)?;
                name(runlevel)
            }
            Action::InitScriptStart { script } => match script.strip_prefix("/etc/init.d/") {
                Some(service) => name(service),
                None => Err(format!("{script:?} is not an init script")),
            },
            Action::SysvEnable {
                tool,
                service,
                verb,
            } => {
                name(service)?;
                match (tool.as_str(), verb.as_str()) {
                    ("update-rc.d", "defaults" | "enable") | ("chkconfig", "add" | "on") => Ok(()),
                    _ => Err(format!("{tool} {verb}: not a way to enable an init script")),
                }
            }
            Action::NftAccept {
                family,
                table,
                chain,
                ..
            } => {
                if !["ip", "ip6", "inet"].contains(&family.as_str()) {
                    return Err(format!("{family:?} is not an nftables family for TCP"));
                }
                name(table)?;
                name(chain)
            }
            Action::FirewalldAllow { zone, .. } => name(zone),
            Action::LinkUp { interface } => name(interface),
            Action::UfwAllow { .. } | Action::LabelSshPort { .. } => Ok(()),
            Action::Resume { pid } if *pid > 1 => Ok(()),
            Action::Resume { pid } => Err(format!("{pid} is not a process to resume")),
            Action::IptablesAccept {
                iptables,
                table,
                chain,
                ..
            } => {
                if !["filter", "raw", "mangle"].contains(&table.as_str()) {
                    return Err(format!("{table:?} is not an iptables table that can drop"));
                }
                name(chain)?;
                match [
                    "iptables",
                    "iptables-legacy",
                    "iptables-nft",
                    "ip6tables",
                    "ip6tables-legacy",
                    "ip6tables-nft",
                ]
                .contains(&iptables.as_str())
                {
                    true => Ok(()),
                    false => Err(format!("{iptables:?} is not an iptables command")),
                }
            }
            Action::StartSshd {
                sshd,
                config,
                pid_file,
                ..
            } => {
                absolute(sshd)?;
                absolute(pid_file)?;
                config.as_deref().map_or(Ok(()), absolute)
            }
            Action::RestartSshd { unit, pid, .. } => match (unit, pid) {
                (Some(unit), _) => name(unit),
                (None, Some(pid)) if *pid > 1 => Ok(()),
                _ => Err("sshd is neither a systemd unit nor running".into()),
            },
        }
    }

    /// The guest command that does the same, for a person to paste.
    pub fn command(&self) -> String {
        match self {
            Action::SetMode { path, mode } => format!("chmod {mode} {}", shell_word(path)),
            Action::SetOwner { path, owner, group } => format!(
                "chown {owner}:{} {}",
                group.as_deref().unwrap_or(""),
                shell_word(path)
            ),
            Action::MakeDir {
                path,
                mode,
                owner,
                group,
            } => format!(
                "install -d -m {mode} -o {owner} -g {group} {}",
                shell_word(path)
            ),
            Action::RemoveFile { path } => format!("rm -f {}", shell_word(path)),
            Action::CreateEmpty { path } => {
                format!("install -D -m 644 /dev/null {}", shell_word(path))
            }
            // Many lines: shown as what it does, not as a command to paste.
            Action::WriteFile { path, content } => {
                format!("write {path} anew ({} lines)", content.lines().count())
            }
            Action::AddKey { path, owner, key } => {
                let (path, key) = (shell_word(path), shell_word(key));
                format!(
                    "grep -qxF {key} {path} 2>/dev/null || {{ echo {key} >> {path} && \
                     chown {owner}: {path} && chmod 600 {path}; }}"
                )
            }
            Action::CommentOut { file, lines } => {
                let edits: Vec<String> =
                    lines.iter().map(|line| format!("{line}s/^/# /")).collect();
                format!("sed -i '{}' {}", edits.join(";"), shell_word(file))
            }
            // No "$" in it: the console's wrapping keeps a quoted word with "$" whole.
            Action::AddWord { file, line, word } => {
                format!("sed -i '{line}s/.*/& {word}/' {}", shell_word(file))
            }
            Action::InsertLine { file, line, text } => {
                format!("sed -i '{line}i {text}' {}", shell_word(file))
            }
            Action::ReplaceText {
                file,
                line,
                old,
                new,
            } => format!(
                "sed -i '{line}s|{}|{}|' {}",
                sed_literal_pattern(old),
                sed_literal_replacement(new),
                shell_word(file)
            ),
            Action::NewHostKey { path, key_type } => {
                let path = shell_word(path);
                format!("mv {path} {path}.broken && ssh-keygen -q -N '' -t {key_type} -f {path}")
            }
            Action::MakeHostKeys => "ssh-keygen -A".into(),
            Action::Sysctl { key, value } => format!("sysctl -w {key}={value}"),
            Action::AddSystemUser { user, home, shell } => format!(
                "useradd --system --no-create-home --home-dir {} --shell {} {user}",
                shell_word(home),
                shell_word(shell)
            ),
            Action::SetShell { user, shell } => format!("usermod -s {} {user}", shell_word(shell)),
            Action::NoExpiry { user } => format!("chage -E -1 {user}"),
            Action::PasswordChanged { user, day } => format!("chage -d {day} {user}"),
            Action::Unlock { user } => format!("usermod -U {user}"),
            Action::NoPassword { user } => format!("usermod -p '*' {user}"),
            Action::Systemctl { verb, unit } => format!("systemctl {} {unit}", verb.as_str()),
            Action::RcService { verb, service } => {
                format!("rc-service {service} {}", verb.as_str())
            }
            Action::RcUpdateAdd { service, runlevel } => {
                format!("rc-update add {service} {runlevel}")
            }
            Action::InitScriptStart { script } => format!("{script} start"),
            Action::SysvEnable { .. } => self.sysv_enable_args().join(" "),
            Action::NftAccept {
                family,
                table,
                chain,
                port,
            } => format!(
                "nft insert rule {family} {table} {chain} tcp dport {port} accept comment {NFT_COMMENT}"
            ),
            Action::IptablesAccept {
                iptables,
                table,
                chain,
                port,
            } => match table.as_str() {
                "filter" => format!("{iptables} -I {chain} -p tcp --dport {port} -j ACCEPT"),
                _ => format!("{iptables} -t {table} -I {chain} -p tcp --dport {port} -j ACCEPT"),
            },
            Action::FirewalldAllow { zone, port } => {
                let allow = firewalld_allowance(*port);
                format!(
                    "firewall-cmd --zone={zone} --add-{allow} && firewall-cmd --permanent --zone={zone} --add-{allow}"
                )
            }
            Action::UfwAllow { port, position: 0 } => format!("ufw allow {port}/tcp"),
            Action::UfwAllow { port, position } => format!("ufw insert {position} allow {port}/tcp"),
            Action::LabelSshPort { port } => format!(
                "semanage port -a -t ssh_port_t -p tcp {port} || semanage port -m -t ssh_port_t -p tcp {port}"
            ),
            Action::LinkUp { interface } => format!("ip link set {interface} up"),
            Action::Resume { pid } => format!("kill -CONT {pid}"),
            Action::StartSshd {
                check,
                sshd,
                config,
                ..
            } => match config {
                Some(config) => format!("{check} && {sshd} -f {}", shell_word(config)),
                None => format!("{check} && {sshd}"),
            },
            Action::RestartSshd { check, unit, pid } => match (unit, pid) {
                (Some(unit), _) => format!("{check} && systemctl restart {unit}"),
                (None, pid) => format!("{check} && kill -HUP {}", pid.unwrap_or_default()),
            },
        }
    }

    /// Every file the action changes, where it changes several.
    pub fn paths(&self) -> Vec<String> {
        match self {
            Action::NewHostKey { path, .. } => {
                vec![
                    path.clone(),
                    format!("{path}.pub"),
                    format!("{path}.broken"),
                ]
            }
            Action::MakeHostKeys => HOST_KEY_TYPES
                .iter()
                .flat_map(|kind| {
                    let key = format!("/etc/ssh/ssh_host_{kind}_key");
                    [format!("{key}.pub"), key]
                })
                .collect(),
            _ => self.path().map(String::from).into_iter().collect(),
        }
    }

    /// The file or directory the action changes, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            Action::SetMode { path, .. }
            | Action::SetOwner { path, .. }
            | Action::MakeDir { path, .. }
            | Action::RemoveFile { path }
            | Action::CreateEmpty { path }
            | Action::WriteFile { path, .. }
            | Action::AddKey { path, .. } => Some(path),
            Action::CommentOut { file, .. }
            | Action::AddWord { file, .. }
            | Action::InsertLine { file, .. }
            | Action::ReplaceText { file, .. } => Some(file),
            _ => None,
        }
    }

    /// Units are acted on after every file and account change, restarts last.
    pub fn phase(&self) -> u8 {
        match self {
            Action::Systemctl { verb, .. } => 1 + *verb as u8,
            Action::RcUpdateAdd { .. } | Action::SysvEnable { .. } => 1,
            Action::InitScriptStart { .. } => 9,
            Action::RcService { verb, .. } => 8 + *verb as u8,
            Action::RestartSshd { .. } | Action::StartSshd { .. } => 10,
            _ => 0,
        }
    }

    /// Whether sshd stops listening for a moment while the action runs.
    pub fn restarts_sshd(&self) -> bool {
        matches!(
            self,
            Action::RestartSshd { .. }
                | Action::StartSshd { .. }
                | Action::Systemctl {
                    verb: UnitVerb::Restart | UnitVerb::Reload | UnitVerb::Start,
                    ..
                }
                | Action::RcService {
                    verb: RcVerb::Start,
                    ..
                }
                | Action::InitScriptStart { .. }
        )
    }

    /// The command line of a SysvEnable: the tool, then its arguments.
    pub fn sysv_enable_args(&self) -> Vec<&str> {
        match self {
            Action::SysvEnable {
                tool,
                service,
                verb,
            } => match (tool.as_str(), verb.as_str()) {
                ("chkconfig", "add") => vec!["chkconfig", "--add", service],
                _ => vec![tool, service, verb],
            },
            _ => Vec::new(),
        }
    }
}

/// `text` as a sed basic regular expression that matches it literally, with "|" as the
/// delimiter.
fn sed_literal_pattern(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '\\' | '.' | '*' | '[' | ']' | '^' | '$' | '|' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// `text` as a sed replacement that inserts it literally, with "|" as the delimiter.
fn sed_literal_replacement(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '\\' | '&' | '|' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// The host key types `ssh-keygen -A` makes, and the ones a key may be made anew as.
pub const HOST_KEY_TYPES: [&str; 3] = ["rsa", "ecdsa", "ed25519"];

/// The comment of the nftables rule a fix inserts: how undo finds it again.
pub const NFT_COMMENT: &str = "sshdoctor";

/// What firewalld is told to allow for TCP `port`: its ssh service covers 22.
pub fn firewalld_allowance(port: u16) -> String {
    match port {
        22 => "service=ssh".into(),
        port => format!("port={port}/tcp"),
    }
}

/// A TCP port, 1 to 65535.
fn port(kind: &str, text: &str) -> Result<u16, String> {
    text.parse()
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| format!("{kind}: {text:?} is not a port"))
}

/// A line number as sed reads it: 1 or more.
fn line_number(kind: &str, text: &str) -> Result<u32, String> {
    text.parse()
        .ok()
        .filter(|line| *line > 0)
        .ok_or_else(|| format!("{kind}: {text:?} is not a line number"))
}

/// A mode as chmod reads it: octal (at most 07777), or "go-w".
pub fn parse_mode(mode: &str) -> Result<Mode, String> {
    if mode == "go-w" {
        return Ok(Mode::DropGroupOtherWrite);
    }
    u32::from_str_radix(mode, 8)
        .ok()
        .filter(|bits| *bits <= 0o7777 && !mode.is_empty())
        .map(Mode::Exactly)
        .ok_or_else(|| format!("{mode:?} is not a mode"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Exactly(u32),
    DropGroupOtherWrite,
}

impl Mode {
    /// The permission bits after the change, from the bits before it.
    pub fn applied_to(self, before: u32) -> u32 {
        match self {
            Mode::Exactly(bits) => bits,
            Mode::DropGroupOtherWrite => before & 0o7777 & !0o022,
        }
    }
}

/// `word` as one shell word: unchanged when it holds nothing the shell reads specially,
/// else in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+=,~".contains(c));
    match plain {
        true => word.to_string(),
        false => format!("'{}'", word.replace('\'', r"'\''")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn templates_become_actions_that_print_as_commands() {
        let action = Action::from_template(
            "set_owner",
            &args(&[("path", "/home/a b/.ssh"), ("owner", "alice")]),
        )
        .unwrap();
        assert_eq!(action.command(), "chown alice: '/home/a b/.ssh'");
        let action = Action::from_template(
            "systemctl",
            &args(&[("verb", "reset-failed"), ("unit", "ssh.service")]),
        )
        .unwrap();
        assert_eq!(action.command(), "systemctl reset-failed ssh.service");
        let action = Action::from_template(
            "comment_out",
            &args(&[("file", "/etc/x"), ("lines", "7 9")]),
        )
        .unwrap();
        assert_eq!(action.command(), "sed -i '7s/^/# /;9s/^/# /' /etc/x");
        let action = Action::from_template(
            "add_word",
            &args(&[("file", "/etc/x"), ("line", "3"), ("word", "alice")]),
        )
        .unwrap();
        assert_eq!(action.command(), "sed -i '3s/.*/& alice/' /etc/x");
        let action = Action::from_template(
            "insert_line",
            &args(&[
                ("file", "/etc/x"),
                ("line", "1"),
                ("text", "Include /e/*.conf"),
            ]),
        )
        .unwrap();
        assert_eq!(action.command(), "sed -i '1i Include /e/*.conf' /etc/x");
    }

    /// A transaction's manifest reads back every kind of action as it was written.
    #[test]
    fn actions_read_back_from_json_as_written() {
        for (kind, pairs) in [
            ("comment_out", &[("file", "/etc/x"), ("lines", "3 9")][..]),
            (
                "add_word",
                &[("file", "/etc/x"), ("line", "3"), ("word", "alice")][..],
            ),
            (
                "insert_line",
                &[("file", "/etc/x"), ("line", "1"), ("text", "Include /a/*")][..],
            ),
            ("set_owner", &[("path", "/x"), ("owner", "alice")][..]),
            ("restart_sshd", &[("check", "sshd -t"), ("pid", "77")][..]),
        ] {
            let action = Action::from_template(kind, &args(pairs)).unwrap();
            let json = serde_json::to_string(&action).unwrap();
            let back: Action = serde_json::from_str(&json).unwrap();
            assert_eq!(back, action, "{json}");
        }
    }

    #[test]
    fn what_does_not_fit_is_refused() {
        for (kind, pairs) in [
            ("set_mode", &[("path", "/x"), ("mode", "0999")][..]),
            ("set_mode", &[("path", "x"), ("mode", "0600")][..]),
            ("set_mode", &[("path", "/x")][..]),
            ("set_owner", &[("path", "/x"), ("owner", "a;b")][..]),
            ("comment_out", &[("file", "/x"), ("lines", "0")][..]),
            ("comment_out", &[("file", "/x"), ("lines", "")][..]),
            (
                "add_word",
                &[("file", "/x"), ("line", "2"), ("word", "a/b")][..],
            ),
            (
                "insert_line",
                &[("file", "/x"), ("line", "1"), ("text", "a'b")][..],
            ),
            (
                "insert_line",
                &[("file", "/x"), ("line", "1"), ("text", " a")][..],
            ),
            ("systemctl", &[("verb", "stop"), ("unit", "ssh")][..]),
            ("no_expiry", &[("user", "a"), ("shell", "/bin/sh")][..]),
            (
                "password_changed",
                &[("user", "a"), ("day", "$(date +%F)")][..],
            ),
            (
                "add_key",
                &[("path", "/k"), ("owner", "a"), ("key", "ssh-ed25519 !!")][..],
            ),
            (
                "add_key",
                &[("path", "/k"), ("owner", "a"), ("key", "hello")][..],
            ),
            ("sysctl", &[("key", "net/x"), ("value", "1")][..]),
            ("sysctl", &[("key", "net.x"), ("value", "1; reboot")][..]),
            ("reboot", &[][..]),
        ] {
            assert!(
                Action::from_template(kind, &args(pairs)).is_err(),
                "{kind} {pairs:?}"
            );
        }
    }

    #[test]
    fn modes_are_read_as_chmod_reads_them() {
        assert_eq!(parse_mode("0600").unwrap().applied_to(0o644), 0o600);
        assert_eq!(parse_mode("go-w").unwrap().applied_to(0o40777), 0o755);
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
