//! Each action done, and undone: what it reads first (its prior state), the change, and
//! how the prior state is put back.

use super::action::{firewalld_allowance, parse_mode, Action, RcVerb, UnitVerb};
use super::files::{replace_file, set_owner_mode, PathState};
use super::journal::Prior;
use crate::collect::command::{capture, find_tool, tool_dirs};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

/// Bound on each tool a step runs (usermod, chage, systemctl).
const TOOL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a link set up may take to get its default route back from the network
/// service (a DHCP exchange).
const LINK_SETTLE: Duration = Duration::from_secs(15);

/// Whether the step changes a file's bytes, which the transaction then keeps.
pub fn changes_content(action: &Action) -> bool {
    matches!(
        action,
        Action::RemoveFile { .. }
            | Action::CommentOut { .. }
            | Action::AddWord { .. }
            | Action::InsertLine { .. }
            | Action::ReplaceText { .. }
            | Action::NewHostKey { .. }
            | Action::MakeHostKeys
            | Action::AddKey { .. }
            | Action::WriteFile { .. }
    )
}

/// The state the action is about to change.
pub fn prior(action: &Action) -> Result<Option<Prior>, String> {
    if matches!(action, Action::NewHostKey { .. } | Action::MakeHostKeys) {
        return action
            .paths()
            .iter()
            .map(|path| PathState::of(path).map_err(|err| format!("cannot read {path}: {err}")))
            .collect::<Result<_, _>>()
            .map(|states| Some(Prior::Paths(states)));
    }
    if let Some(path) = action.path() {
        return PathState::of(path)
            .map(|state| Some(Prior::Path(state)))
            .map_err(|err| format!("cannot read {path}: {err}"));
    }
    Ok(match action {
        Action::SetShell { user, .. } => Some(Prior::Shell {
            user: user.clone(),
            shell: account(user)?.shell.display().to_string(),
        }),
        Action::NoExpiry { user } => Some(Prior::Expiry {
            user: user.clone(),
            expire: shadow_entry(user)?.expire.filter(|day| *day >= 0),
        }),
        Action::Sysctl { key, .. } => Some(Prior::Sysctl {
            key: key.clone(),
            value: read_sysctl(key)?,
        }),
        Action::PasswordChanged { user, .. } => Some(Prior::LastChange {
            user: user.clone(),
            day: shadow_entry(user)?.last_change.filter(|day| *day >= 0),
        }),
        Action::Systemctl { unit, .. }
        | Action::RestartSshd {
            unit: Some(unit), ..
        } => Some(Prior::Unit {
            unit: unit.clone(),
            active: systemctl(&["is-active", unit]).unwrap_or_else(|state| state),
            enabled: systemctl(&["is-enabled", unit]).unwrap_or_else(|state| state),
        }),
        Action::RestartSshd { pid: Some(pid), .. } => Some(Prior::Sshd { pid: *pid }),
        Action::NftAccept { .. } | Action::IptablesAccept { .. } => Some(Prior::NoRule),
        Action::FirewalldAllow { zone, port } => {
            let query = format!("--query-{}", firewalld_allowance(*port));
            let zone = format!("--zone={zone}");
            Some(Prior::FirewalldClosed {
                permanent: run("firewall-cmd", &["--permanent", &zone, &query]).is_ok(),
            })
        }
        Action::UfwAllow { port, .. } => Some(ufw_prior(&run("ufw", &["show", "added"])?, *port)?),
        Action::LinkUp { interface } => Some(Prior::LinkDown {
            interface: interface.clone(),
        }),
        Action::LabelSshPort { port } => Some(Prior::PortLabel {
            port: *port,
            local: local_port_type(&run("semanage", &["port", "-l", "-C"])?, *port),
        }),
        Action::Unlock { user } => Some(Prior::Locked { user: user.clone() }),
        Action::Resume { pid } => match stopped_sshd(*pid) {
            true => Some(Prior::Stopped { pid: *pid }),
            false => return Err(format!("{pid} is not a stopped sshd")),
        },
        Action::AddSystemUser { user, .. } => match account(user) {
            Ok(_) => return Err(format!("{user} exists already")),
            Err(_) => Some(Prior::NoUser { user: user.clone() }),
        },
        Action::NoPassword { user } => {
            let mark = password_field(user)?;
            // Never a hash in the journal: this is only for a lock with none behind it.
            if !mark.starts_with('!') || crate::collect::auth::accounts::hash_behind_lock(&mark) {
                return Err(format!("{user}'s account is not locked without a password"));
            }
            Some(Prior::LockMark {
                user: user.clone(),
                mark,
            })
        }
        Action::RcService {
            verb: RcVerb::Start,
            service,
        } => Some(Prior::RcStopped {
            service: service.clone(),
        }),
        Action::RcUpdateAdd { service, runlevel } => Some(Prior::NotInRunlevel {
            service: service.clone(),
            runlevel: runlevel.clone(),
        }),
        Action::InitScriptStart { script } => Some(Prior::InitScriptStopped {
            script: script.clone(),
        }),
        Action::SysvEnable { service, .. } => Some(Prior::RcLinks {
            service: service.clone(),
            links: crate::collect::service::sysv::links(Path::new("/"), service),
        }),
        Action::StartSshd { pid_file, .. } => Some(Prior::SshdStopped {
            pid_file: pid_file.clone(),
        }),
        _ => None,
    })
}

/// What undo of `ufw allow PORT/tcp` must do, from `ufw show added`: ufw changes a rule
/// for the same port and sources in place ("deny 22/tcp" becomes "allow 22/tcp"), so
/// undo sets its verb back; otherwise it deletes the rule the step added. An allow
/// already listed, or a rule with more words (a comment), could not be told apart.
fn ufw_prior(added: &str, port: u16) -> Result<Prior, String> {
    let spec = format!("{port}/tcp");
    for line in added.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [ufw, verb, target, rest @ ..] = words.as_slice() else {
            continue;
        };
        if *ufw != "ufw" || *target != spec || !matches!(*verb, "allow" | "deny" | "reject") {
            continue;
        }
        return match (*verb, rest.is_empty()) {
            ("allow", _) => Err(format!("ufw has \"{line}\" already, after what denies")),
            (_, false) => Err(format!("ufw's \"{line}\" has more than undo can restore")),
            (verb, true) => Ok(Prior::UfwVerb { verb: verb.into() }),
        };
    }
    Ok(Prior::NoRule)
}

/// The type a local label (`semanage port -l -C`) gives TCP `port` alone:
/// "http_port_t   tcp   8080, 2222".
fn local_port_type(listed: &str, port: u16) -> Option<String> {
    let port = port.to_string();
    listed.lines().find_map(|line| {
        let (kind, rest) = line.split_once(char::is_whitespace)?;
        let ports = rest.trim_start().strip_prefix("tcp")?;
        ports
            .split(',')
            .any(|listed| listed.trim() == port)
            .then(|| kind.to_string())
    })
}

/// What `sysctl -w` writes: the file under /proc/sys that the dotted name names.
fn sysctl_path(key: &str) -> String {
    format!("/proc/sys/{}", key.replace('.', "/"))
}

fn read_sysctl(key: &str) -> Result<String, String> {
    let path = sysctl_path(key);
    std::fs::read_to_string(&path)
        .map(|value| value.trim().to_string())
        .map_err(|err| format!("{path}: {err}"))
}

fn write_sysctl(key: &str, value: &str) -> Result<(), String> {
    let path = sysctl_path(key);
    std::fs::write(&path, value).map_err(|err| format!("{path}: {err}"))
}

/// The user's /etc/shadow entry, for the fields a step changes.
fn shadow_entry(user: &str) -> Result<crate::facts::ShadowEntry, String> {
    crate::collect::auth::accounts::read_shadow()
        .map_err(|err| format!("cannot read /etc/shadow: {err}"))?
        .remove(user)
        .ok_or_else(|| format!("{user} is not in /etc/shadow"))
}

/// Makes the change.
pub fn perform(action: &Action) -> Result<(), String> {
    match action {
        Action::SetMode { path, mode } => {
            let before = std::fs::metadata(path).map_err(|err| format!("{path}: {err}"))?;
            let bits = parse_mode(mode)?.applied_to(before.permissions().mode());
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(bits))
                .map_err(|err| format!("chmod {path}: {err}"))
        }
        Action::SetOwner { path, owner, group } => {
            let user = account(owner)?;
            let gid = match group {
                Some(group) => {
                    nix::unistd::Group::from_name(group)
                        .ok()
                        .flatten()
                        .ok_or_else(|| format!("no group {group}"))?
                        .gid
                }
                None => user.gid,
            };
            nix::unistd::chown(path.as_str(), Some(user.uid), Some(gid))
                .map_err(|err| format!("chown {path}: {err}"))
        }
        Action::MakeDir {
            path,
            mode,
            owner,
            group,
        } => {
            if Path::new(path).is_dir() {
                return Ok(());
            }
            let bits = parse_mode(mode)?.applied_to(0);
            std::fs::DirBuilder::new()
                .mode(bits)
                .create(path)
                .map_err(|err| format!("mkdir {path}: {err}"))?;
            let uid = account(owner)?.uid.as_raw();
            let gid = nix::unistd::Group::from_name(group)
                .ok()
                .flatten()
                .ok_or_else(|| format!("no group {group}"))?
                .gid
                .as_raw();
            set_owner_mode(path, uid, gid, bits).map_err(|err| format!("{path}: {err}"))
        }
        Action::RemoveFile { path } => match std::fs::remove_file(path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("rm {path}: {err}"))
            }
            _ => Ok(()),
        },
        Action::AddKey { path, owner, key } => add_key(path, owner, key),
        Action::CreateEmpty { path } => {
            if Path::new(path).exists() {
                return Ok(());
            }
            if let Some(dir) = Path::new(path).parent() {
                std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
            }
            let like = PathState::of(path).map_err(|err| format!("{path}: {err}"))?;
            let like = PathState {
                exists: true,
                mode: 0o644,
                ..like
            };
            replace_file(path, b"", &like).map_err(|err| format!("{path}: {err}"))
        }
        Action::WriteFile { path, content } => {
            let like = PathState::of(path).map_err(|err| format!("{path}: {err}"))?;
            let like = match like.exists {
                true => like,
                false => PathState {
                    exists: true,
                    mode: 0o644,
                    ..like
                },
            };
            replace_file(path, content.as_bytes(), &like).map_err(|err| format!("{path}: {err}"))
        }
        Action::CommentOut { file, lines } => edit_lines(file, lines, |line| {
            line.splice(0..0, *b"# ");
        }),
        Action::AddWord { file, line, word } => edit_lines(file, &[*line], |line| {
            line.push(b' ');
            line.extend_from_slice(word.as_bytes());
        }),
        Action::ReplaceText {
            file,
            line,
            old,
            new,
        } => {
            let text = std::fs::read(file).map_err(|err| format!("{file}: {err}"))?;
            let held = text
                .split(|byte| *byte == b'\n')
                .nth(*line as usize - 1)
                .is_some_and(|text| memchr::memmem::find(text, old.as_bytes()).is_some());
            if !held {
                return Err(format!("{file}:{line} does not hold {old}"));
            }
            edit_lines(file, &[*line], |text| {
                if let Some(at) = memchr::memmem::find(text, old.as_bytes()) {
                    text.splice(at..at + old.len(), new.bytes());
                }
            })
        }
        Action::InsertLine { file, line, text } => edit_lines(file, &[*line], |line| {
            let mut inserted = text.as_bytes().to_vec();
            inserted.push(b'\n');
            line.splice(0..0, inserted);
        }),
        Action::NewHostKey { path, key_type } => {
            let aside = format!("{path}.broken");
            std::fs::rename(path, &aside).map_err(|err| format!("mv {path} {aside}: {err}"))?;
            tool("ssh-keygen", &["-q", "-N", "", "-t", key_type, "-f", path])
        }
        Action::MakeHostKeys => tool("ssh-keygen", &["-A"]),
        Action::Sysctl { key, value } => write_sysctl(key, value),
        Action::SetShell { user, shell } => tool("usermod", &["-s", shell, user]),
        Action::NoExpiry { user } => tool("chage", &["-E", "-1", user]),
        Action::PasswordChanged { user, day } => tool("chage", &["-d", day, user]),
        Action::Unlock { user } => tool("usermod", &["-U", user]),
        Action::Resume { pid } => signal(*pid, nix::sys::signal::Signal::SIGCONT),
        Action::AddSystemUser { user, home, shell } => tool(
            "useradd",
            &[
                "--system",
                "--no-create-home",
                "--home-dir",
                home,
                "--shell",
                shell,
                user,
            ],
        ),
        Action::NoPassword { user } => tool("usermod", &["-p", "*", user]),
        Action::Systemctl { verb, unit } => systemctl(&[verb.as_str(), unit]).map(|_| ()),
        Action::RcService { verb, service } => tool("rc-service", &[service, verb.as_str()]),
        Action::RcUpdateAdd { service, runlevel } => tool("rc-update", &["add", service, runlevel]),
        Action::InitScriptStart { script } => tool(script, &["start"]),
        Action::SysvEnable { .. } => match action.sysv_enable_args().split_first() {
            Some((program, args)) => tool(program, args),
            None => Ok(()),
        },
        Action::RestartSshd {
            unit: Some(unit), ..
        } => systemctl(&["restart", unit]).map(|_| ()),
        Action::RestartSshd { pid, .. } => hang_up(pid.unwrap_or_default()),
        // The printed commands themselves: their words are names `check` allowed, no
        // quoting.
        Action::NftAccept { .. }
        | Action::IptablesAccept { .. }
        | Action::FirewalldAllow { .. }
        | Action::UfwAllow { .. } => action.command().split(" && ").try_for_each(|command| {
            let words: Vec<&str> = command.split_whitespace().collect();
            tool(words[0], &words[1..])
        }),
        Action::LinkUp { interface } => {
            tool("ip", &["link", "set", interface, "up"])?;
            // The network service (systemd-networkd, NetworkManager) configures the link
            // again once it is up; the check after the fix should see its routes.
            let deadline = std::time::Instant::now() + LINK_SETTLE;
            while std::time::Instant::now() < deadline
                && run("ip", &["-4", "route", "show", "default"]).is_ok_and(|out| out.is_empty())
            {
                std::thread::sleep(Duration::from_millis(250));
            }
            Ok(())
        }
        // Added, or, for a port the base policy gives another type, modified.
        Action::LabelSshPort { port } => {
            let port = port.to_string();
            let label = |verb: &str| {
                tool(
                    "semanage",
                    &["port", verb, "-t", "ssh_port_t", "-p", "tcp", &port],
                )
            };
            label("-a").or_else(|_| label("-m"))
        }
        Action::StartSshd { sshd, config, .. } => {
            let config: Vec<&str> = config.iter().flat_map(|config| ["-f", config]).collect();
            tool(sshd, &[&["-t"], config.as_slice()].concat())?;
            // sshd forks, and its parent exits once the daemon listens.
            tool(sshd, &config)
        }
    }
}

/// Deletes the firewall rule a step inserted: iptables by its specification (the
/// first rule that matches it, which is ours, inserted first), nftables by the handle
/// of the first rule with our comment accepting the port.
fn delete_rule(action: &Action) -> Result<(), String> {
    match action {
        Action::UfwAllow { port, .. } => tool("ufw", &["delete", "allow", &format!("{port}/tcp")]),
        Action::IptablesAccept {
            iptables,
            table,
            chain,
            port,
        } => tool(
            iptables,
            &[
                "-t",
                table,
                "-D",
                chain,
                "-p",
                "tcp",
                "--dport",
                &port.to_string(),
                "-j",
                "ACCEPT",
            ],
        ),
        Action::NftAccept {
            family,
            table,
            chain,
            port,
        } => {
            let listed = run("nft", &["-a", "list", "chain", family, table, chain])?;
            let ours = format!(
                "tcp dport {port} accept comment \"{}\"",
                super::action::NFT_COMMENT
            );
            let handle = listed
                .lines()
                .find(|line| line.trim_start().starts_with(&ours))
                .and_then(|line| line.rsplit_once("# handle "))
                .map(|(_, handle)| handle.trim().to_string());
            match handle {
                Some(handle) => tool(
                    "nft",
                    &["delete", "rule", family, table, chain, "handle", &handle],
                ),
                // Not there: the insert never happened, or the ruleset was loaded anew.
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Whether `pid` is an sshd in the stopped state (T), as /proc/PID/stat says.
fn stopped_sshd(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.split_once(" (sshd) ")
        .is_some_and(|(_, rest)| rest.starts_with('T'))
}

fn signal(pid: u32, signal: nix::sys::signal::Signal) -> Result<(), String> {
    let pid = i32::try_from(pid).map_err(|_| format!("no pid {pid}"))?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).map_err(|err| {
        format!(
            "kill -{} {pid}: {err}",
            signal.as_str().trim_start_matches("SIG")
        )
    })
}

/// The password field of `user` in /etc/shadow, as it is.
fn password_field(user: &str) -> Result<String, String> {
    let shadow =
        std::fs::read_to_string("/etc/shadow").map_err(|err| format!("/etc/shadow: {err}"))?;
    shadow
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            (fields.next() == Some(user)).then(|| fields.next().unwrap_or_default().to_string())
        })
        .ok_or_else(|| format!("{user} is not in /etc/shadow"))
}

/// Stops the sshd a step started: the pid its pid file names, when that is an sshd.
fn stop_started_sshd(pid_file: &str) -> Result<(), String> {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())
    else {
        return Ok(()); // It never started, or is gone.
    };
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim() != "sshd" {
        return Ok(());
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .map_err(|err| format!("kill {pid}: {err}"))
}

/// SIGHUP to sshd: it re-executes itself in place and reads its config again.
fn hang_up(pid: u32) -> Result<(), String> {
    let pid = i32::try_from(pid).map_err(|_| format!("no pid {pid}"))?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .map_err(|err| format!("kill -HUP {pid}: {err}"))
}

/// Puts the prior state back. A unit's step is reversed by the opposite verb where it
/// changed the unit's state; a restart or reload is done again, so that sshd reads what
/// was put back.
pub fn reverse(action: &Action, prior: &Prior, saved_dir: &Path) -> Result<(), String> {
    match prior {
        Prior::Path(state) => state
            .restore(saved_dir)
            .map_err(|err| format!("{}: {err}", state.path)),
        Prior::Paths(states) => states.iter().rev().try_for_each(|state| {
            state
                .restore(saved_dir)
                .map_err(|err| format!("{}: {err}", state.path))
        }),
        Prior::Shell { user, shell } => tool("usermod", &["-s", shell, user]),
        Prior::Sysctl { key, value } => write_sysctl(key, value),
        // chage reads a bare number as days since 1970, and -1 as an empty field.
        Prior::LastChange { user, day } => {
            let day = day.map_or_else(|| "-1".to_string(), |day| day.to_string());
            tool("chage", &["-d", &day, user])
        }
        Prior::Expiry { user, expire } => {
            let day = expire.map_or_else(|| "-1".to_string(), |day| day.to_string());
            tool("chage", &["-E", &day, user])
        }
        Prior::Sshd { pid } => hang_up(*pid),
        Prior::SshdStopped { pid_file } => stop_started_sshd(pid_file),
        Prior::NoRule => delete_rule(action),
        Prior::LinkDown { interface } => tool("ip", &["link", "set", interface, "down"]),
        Prior::UfwVerb { verb } => match action {
            Action::UfwAllow { port, .. } => tool("ufw", &[verb, &format!("{port}/tcp")]),
            _ => Ok(()),
        },
        Prior::FirewalldClosed { permanent } => {
            let Action::FirewalldAllow { zone, port } = action else {
                return Ok(());
            };
            let remove = format!("--remove-{}", firewalld_allowance(*port));
            let zone = format!("--zone={zone}");
            tool("firewall-cmd", &[&zone, &remove])?;
            match permanent {
                true => Ok(()),
                false => tool("firewall-cmd", &["--permanent", &zone, &remove]),
            }
        }
        Prior::PortLabel { port, local } => {
            let port = port.to_string();
            match local {
                Some(local) => tool("semanage", &["port", "-m", "-t", local, "-p", "tcp", &port]),
                None => tool(
                    "semanage",
                    &["port", "-d", "-t", "ssh_port_t", "-p", "tcp", &port],
                ),
            }
        }
        Prior::Locked { user } => tool("usermod", &["-L", user]),
        Prior::RcStopped { service } => tool("rc-service", &[service, "stop"]),
        Prior::InitScriptStopped { script } => tool(script, &["stop"]),
        Prior::RcLinks { service, links } => restore_links(service, links),
        Prior::NotInRunlevel { service, runlevel } => {
            tool("rc-update", &["del", service, runlevel])
        }
        // -f: the pre-authentication children of every running sshd run as the user
        // the step added, and userdel refuses a user in use without it.
        Prior::NoUser { user } => tool("userdel", &["-f", user]),
        Prior::Stopped { pid } => signal(*pid, nix::sys::signal::Signal::SIGSTOP),
        Prior::LockMark { user, mark } => tool("usermod", &["-p", mark, user]),
        Prior::Unit {
            unit,
            active,
            enabled,
        } => {
            let verb = match action {
                Action::Systemctl { verb, .. } => *verb,
                Action::RestartSshd { .. } => UnitVerb::Restart,
                _ => return Ok(()),
            };
            let undo = match verb {
                UnitVerb::Unmask if enabled == "masked" => Some("mask"),
                UnitVerb::Enable if enabled != "enabled" => Some("disable"),
                UnitVerb::Start if active != "active" => Some("stop"),
                // Running before: again, to read what was put back; else stopped again.
                UnitVerb::Restart | UnitVerb::Reload if active == "active" => Some(verb.as_str()),
                UnitVerb::Restart | UnitVerb::Reload => Some("stop"),
                _ => None,
            };
            match undo {
                Some(undo) => systemctl(&[undo, unit]).map(|_| ()),
                None => Ok(()),
            }
        }
    }
}

/// Appends `key` as a line unless one is already exactly it; a new file is created
/// 0600, owned by `owner` and the owner's login group, as the printed command does.
fn add_key(path: &str, owner: &str, key: &str) -> Result<(), String> {
    let existing = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(format!("{path}: {err}")),
    };
    let mut text = existing.clone().unwrap_or_default();
    if text
        .split(|byte| *byte == b'\n')
        .any(|line| line == key.as_bytes())
    {
        return Ok(());
    }
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    text.extend_from_slice(key.as_bytes());
    text.push(b'\n');
    let user = account(owner)?;
    let like = match existing {
        Some(_) => PathState::of(path).map_err(|err| format!("{path}: {err}"))?,
        None => PathState {
            path: path.to_string(),
            exists: true,
            is_dir: false,
            mode: 0o600,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            xattrs: Vec::new(),
            saved: None,
        },
    };
    replace_file(path, &text, &like).map_err(|err| format!("{path}: {err}"))
}

/// Rewrites the numbered lines of `file` (1-based, without their newline) with `edit`,
/// as sed does them, and puts the file back in place with its owner, mode and
/// attributes. A line the file does not have is an error, as it would leave sed's
/// command a silent no-op.
fn edit_lines(file: &str, numbers: &[u32], edit: impl Fn(&mut Vec<u8>)) -> Result<(), String> {
    let text = std::fs::read(file).map_err(|err| format!("{file}: {err}"))?;
    let edited =
        edit_text(&text, numbers, edit).map_err(|line| format!("{file} has no line {line}"))?;
    let like = PathState::of(file).map_err(|err| format!("{file}: {err}"))?;
    replace_file(file, &edited, &like).map_err(|err| format!("{file}: {err}"))
}

/// `text` with the numbered lines edited; Err(the first number it has no line for).
fn edit_text(text: &[u8], numbers: &[u32], edit: impl Fn(&mut Vec<u8>)) -> Result<Vec<u8>, u32> {
    let mut lines: Vec<Vec<u8>> = text
        .split(|byte| *byte == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    // A final newline ends the last line; it does not start another.
    if text.ends_with(b"\n") || text.is_empty() {
        lines.pop();
    }
    for &number in numbers {
        let line = lines.get_mut(number as usize - 1).ok_or(number)?;
        edit(line);
    }
    let mut edited = lines.join(&b'\n');
    if text.ends_with(b"\n") {
        edited.push(b'\n');
    }
    Ok(edited)
}

fn account(name: &str) -> Result<nix::unistd::User, String> {
    nix::unistd::User::from_name(name)
        .ok()
        .flatten()
        .ok_or_else(|| format!("no user {name}"))
}

/// Runs one of the system's tools; its first error line says why it failed.
/// The runlevel links to `service`'s init script as they were: the ones added since
/// removed, the ones removed or changed since made again.
fn restore_links(service: &str, before: &[(String, String)]) -> Result<(), String> {
    let now = crate::collect::service::sysv::links(Path::new("/"), service);
    for (link, _) in now.iter().filter(|link| !before.contains(link)) {
        std::fs::remove_file(link).map_err(|err| format!("cannot remove {link}: {err}"))?;
    }
    for (link, target) in before.iter().filter(|link| !now.contains(link)) {
        if Path::new(link).symlink_metadata().is_ok() {
            std::fs::remove_file(link).map_err(|err| format!("cannot remove {link}: {err}"))?;
        }
        std::os::unix::fs::symlink(target, link)
            .map_err(|err| format!("cannot link {link} to {target}: {err}"))?;
    }
    Ok(())
}

fn tool(name: &str, args: &[&str]) -> Result<(), String> {
    run(name, args).map(|_| ())
}

/// systemctl's answer (stdout, trimmed); for a failure, the error holds what it said.
fn systemctl(args: &[&str]) -> Result<String, String> {
    run("systemctl", args)
}

fn run(name: &str, args: &[&str]) -> Result<String, String> {
    let program =
        find_tool(&tool_dirs(), name).ok_or_else(|| format!("{name} is not installed"))?;
    let mut command = std::process::Command::new(program);
    command.args(args);
    let output = capture(command, TOOL_TIMEOUT, 64 << 10)
        .map_err(|err| format!("cannot run {name}: {err}"))?;
    let said = output.stdout.trim().to_string();
    match (output.success(), output.timed_out) {
        (true, _) => Ok(said),
        (_, true) => Err(format!("{name} {} did not finish", args.join(" "))),
        // is-active and is-enabled answer on stdout and fail for "inactive", "disabled".
        _ if !said.is_empty() && name == "systemctl" => Err(said),
        _ => Err(format!(
            "{name} {}: {}",
            args.join(" "),
            output.error_line()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The printed sed and the edit made here give the same bytes, for text full of
    /// what sed would otherwise read as pattern or replacement syntax.
    #[test]
    fn a_literal_replacement_is_what_its_printed_sed_does() {
        let dir = tempfile::tempdir().unwrap();
        let original = "ssh-rsa AAAA x\nfrom=\"10.0.*.[1]|^$\\&\" ssh-ed25519 AAAA y\n";
        let action = Action::ReplaceText {
            file: dir.path().join("keys").display().to_string(),
            line: 2,
            old: "from=\"10.0.*.[1]|^$\\&\"".into(),
            new: "from=\"10.0.*.[1]|^$\\&,192.0.2.2\"".into(),
        };
        let by_sed = dir.path().join("keys");
        std::fs::write(&by_sed, original).unwrap();
        let status = std::process::Command::new("sh")
            .args(["-c", &action.command()])
            .status()
            .unwrap();
        assert!(status.success(), "{}", action.command());
        let sed_result = std::fs::read(&by_sed).unwrap();
        std::fs::write(&by_sed, original).unwrap();
        perform(&action).unwrap();
        assert_eq!(
            std::fs::read(&by_sed).unwrap(),
            sed_result,
            "{}",
            action.command()
        );
        assert!(String::from_utf8(sed_result)
            .unwrap()
            .contains(",192.0.2.2\""));
        let Action::ReplaceText { file, old, new, .. } = action else {
            unreachable!()
        };
        let absent = Action::ReplaceText {
            file,
            line: 1,
            old,
            new,
        };
        assert!(perform(&absent).is_err(), "line 1 holds no from=");
    }

    #[test]
    fn lines_are_edited_as_sed_edits_them_and_only_existing_ones() {
        let comment = |line: &mut Vec<u8>| line.splice(0..0, *b"# ").for_each(drop);
        assert_eq!(
            edit_text(b"a\nb\nc", &[2, 3], comment).unwrap(),
            b"a\n# b\n# c".to_vec()
        );
        assert_eq!(edit_text(b"a\n", &[1], comment).unwrap(), b"# a\n".to_vec());
        assert_eq!(edit_text(b"a\n", &[2], comment), Err(2));
        assert_eq!(edit_text(b"a", &[3], comment), Err(3));
        assert_eq!(edit_text(b"", &[1], comment), Err(1));
    }

    #[test]
    fn ufw_rules_tell_undo_what_to_put_back() {
        let header = "Added user rules (see 'ufw status' for running firewall):\n";
        let added = |rules: &str| format!("{header}{rules}");
        assert_eq!(
            ufw_prior(&added("ufw allow 80/tcp\nufw deny 22/tcp\n"), 22),
            Ok(Prior::UfwVerb {
                verb: "deny".into()
            })
        );
        assert_eq!(ufw_prior(&added("ufw deny 22\n"), 22), Ok(Prior::NoRule));
        assert_eq!(ufw_prior(header, 22), Ok(Prior::NoRule));
        assert!(ufw_prior(&added("ufw allow 22/tcp\n"), 22).is_err());
        assert!(ufw_prior(&added("ufw reject 22/tcp comment 'x'\n"), 22).is_err());
    }

    #[test]
    fn a_local_label_is_read_from_semanage_port_list() {
        let listed = "SELinux Port Type              Proto    Port Number\n\n\
                      http_port_t                    tcp      8080, 2222\n\
                      ssh_port_t                     udp      2223\n";
        assert_eq!(local_port_type(listed, 2222), Some("http_port_t".into()));
        assert_eq!(local_port_type(listed, 2223), None);
        assert_eq!(local_port_type(listed, 22), None);
    }
}
