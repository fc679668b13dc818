//! sshd's own prerequisites: usable host keys, the privsep directory and user, /etc/ssh.

use super::{Draft, RuleId, SshView};
use crate::facts::{Facts, FileKind, HostKey};

pub fn check(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    if facts.sshd.binary.is_none() {
        return; // Not installed: the service rules say so; nothing here would help.
    }
    check_host_keys(facts, view, findings);
    check_helpers(facts, findings);
    check_privsep(facts, view, findings);
    check_etc_ssh(facts, findings);
}

/// Why sshd would skip this key, or None when it can use it (authfile.c sshkey_perm_ok;
/// RHEL-family builds accept group read for the ssh_keys group, upstream's and
/// Debian's do not).
fn host_key_problem(key: &HostKey, ssh_keys_group_ok: bool) -> Option<String> {
    let stat = &key.private;
    match stat.kind {
        FileKind::Missing if !stat.exists => return Some("is missing".into()),
        FileKind::Missing => {
            return Some(format!(
                "cannot be read ({})",
                stat.error.as_deref().unwrap_or("?")
            ))
        }
        FileKind::File => {}
        _ => return Some("is not a regular file".into()),
    }
    let mode = stat.mode.unwrap_or(0);
    let owned_by_root = stat.uid == Some(0);
    let ssh_keys_group =
        ssh_keys_group_ok && stat.group.as_deref() == Some("ssh_keys") && mode & 0o037 == 0;
    if owned_by_root && mode & 0o077 != 0 && !ssh_keys_group {
        return Some(format!(
            "is readable by group or others (mode {mode:04o}): sshd ignores it"
        ));
    }
    None
}

/// Why sshd cannot load a key its permissions allow it to use: corrupt, truncated,
/// encrypted.
fn load_failure(key: &HostKey) -> Option<String> {
    let load = key.load.as_ref().filter(|load| !load.loaded)?;
    Some(
        load.error
            .clone()
            .unwrap_or_else(|| "OpenSSH cannot load it".into()),
    )
}

fn check_host_keys(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    let keys = &facts.prereqs.host_keys;
    if keys.is_empty() {
        return;
    }
    // What the build says; where it could not be read, the distribution's family.
    let ssh_keys_group_ok = facts
        .sshd
        .accepts_ssh_keys_group
        .unwrap_or_else(|| facts.host.is_rhel_like());
    let problem = |key: &HostKey| host_key_problem(key, ssh_keys_group_ok);
    let problems: Vec<(&HostKey, String)> = keys
        .iter()
        .filter_map(|key| problem(key).map(|problem| (key, problem)))
        .collect();
    let unloadable: Vec<(&HostKey, String)> = keys
        .iter()
        .filter(|key| problem(key).is_none())
        .filter_map(|key| load_failure(key).map(|error| (key, error)))
        .collect();
    let usable = keys.len() - problems.len() - unloadable.len();
    // ssh-keygen -A creates missing default keys and the chmod fixes modes; neither
    // replaces a file that exists but cannot be loaded.
    if usable == 0 && !problems.is_empty() {
        let mut finding = Draft::new(RuleId::NoUsableHostKey);
        // Only missing keys of the default names are what ssh-keygen -A makes; a mode
        // or owner gone wrong, or a key elsewhere, takes the manual repair.
        let default_and_missing = problems.iter().all(|(key, _)| {
            key.private.kind == FileKind::Missing
                && key.path.starts_with("/etc/ssh/ssh_host_")
                && key.path.ends_with("_key")
        });
        finding = match default_and_missing {
            true => finding.var("keys_missing", "yes"),
            false => finding.var(
                "fix",
                format!(
                    "ssh-keygen -A && chown root:root /etc/ssh/ssh_host_*_key && chmod 600 /etc/ssh/ssh_host_*_key && {} && {}",
                    super::sshd_test(facts),
                    super::restart_sshd(facts, view)
                ),
            ),
        };
        for (key, problem) in &problems {
            finding = finding.evidence(
                format!("{} {problem}", key.path),
                key.source.clone().or(Some("built-in default".into())),
            );
        }
        findings.push(finding);
    } else {
        for (key, problem) in &problems {
            // Only too open a mode is repaired here; a missing key takes ssh-keygen -A.
            let mut finding = Draft::new(RuleId::HostKeyUnusable);
            if key.private.kind == FileKind::File {
                finding = finding.var("key_mode", "0600");
            }
            findings.push(
                finding
                    .var("path", key.path.clone())
                    .var("problem", problem.clone())
                    .evidence(
                        key.private.describe(),
                        key.source.clone().or(Some("built-in default".into())),
                    ),
            );
        }
    }
    for (key, error) in unloadable {
        let mut finding = Draft::new(RuleId::HostKeyCorrupt)
            .var("path", key.path.clone())
            .var("error", error.clone())
            .var("key_type", regenerated_type(&key.path))
            .evidence(
                format!("ssh-keygen -y -f {}: {error}", key.path),
                key.source.clone().or(Some("built-in default".into())),
            );
        // With another key sshd still starts; with none it refuses to.
        if usable > 0 || !problems.is_empty() {
            finding = finding.severity(super::Severity::Warning);
        }
        findings.push(finding);
    }
}

/// The type to regenerate a key file as: from its name (ssh_host_TYPE_key), else the
/// type OpenSSH recommends.
fn regenerated_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    ["rsa", "ecdsa", "ed25519"]
        .into_iter()
        .find(|kind| name.contains(&format!("_{kind}_")) || name.ends_with(&format!("_{kind}")))
        .unwrap_or("ed25519")
}

fn check_privsep(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    let prereqs = &facts.prereqs;
    if prereqs.privsep_user_exists == Some(false) {
        findings.push(
            Draft::new(RuleId::PrivsepUserMissing)
                .var("user", prereqs.privsep_user.clone())
                .var(
                    "privsep_home",
                    prereqs
                        .privsep_dir
                        .as_ref()
                        .map_or_else(|| "/run/sshd".to_string(), |dir| dir.path.clone()),
                )
                .evidence(
                    format!("getpwnam(\"{}\") found no such user", prereqs.privsep_user),
                    Some("/etc/passwd".into()),
                ),
        );
    }
    let Some(dir) = &prereqs.privsep_dir else {
        return;
    };
    let source = Some(prereqs.privsep_dir_source.clone());
    if !dir.exists {
        let sshd_running = view.sshd_running;
        // systemd creates /run/sshd (RuntimeDirectory=) each time it starts the unit. When
        // systemd could not be asked but is PID 1, its unit is still what starts sshd.
        // Debian's init script makes it too.
        let systemd_starts_sshd = view.service.is_some()
            || (!facts.systemd.reachable && facts.host.pid1_comm.as_deref() == Some("systemd"));
        let script_makes_it = facts
            .sysv
            .as_ref()
            .is_some_and(|sysv| sysv.makes_dirs.contains(&dir.path));
        let created_on_start =
            (dir.path.starts_with("/run/") && systemd_starts_sshd) || script_makes_it;
        if sshd_running || !created_on_start {
            findings.push(
                Draft::new(RuleId::PrivsepDirMissing)
                    .var("path", dir.path.clone())
                    .evidence(dir.describe(), source),
            );
        }
        return;
    }
    let problem = if dir.kind != FileKind::Directory {
        Some("is not a directory".to_string())
    } else if dir.uid != Some(0) {
        Some(format!(
            "is owned by uid {}, not root",
            dir.uid.unwrap_or(u32::MAX)
        ))
    } else if dir.group_or_other_writable() {
        Some(format!(
            "is writable by group or others (mode {:04o})",
            dir.mode.unwrap_or(0)
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        let mut finding = Draft::new(RuleId::PrivsepDirUnsafe).var("path", dir.path.clone());
        // A directory is given to root and its mode; anything else needs a person.
        if dir.kind == FileKind::Directory {
            finding = finding.var("dir", dir.path.clone());
        }
        let mut finding = finding
            .var("problem", problem)
            .evidence(dir.describe(), source);
        // sshd checks the directory when it starts. Before OpenSSH 9.8 every connection
        // re-executes sshd, which checks again and drops the connection (the VM lab's
        // bookworm); with sshd-session a running sshd keeps serving (trixie) until the
        // next restart.
        if view.sshd_running && facts.sshd.session.is_some() {
            finding = finding
                .severity(super::Severity::Warning)
                .evidence("sshd is running and keeps serving until it restarts", None);
        }
        findings.push(finding);
    }
}

fn check_etc_ssh(facts: &Facts, findings: &mut Vec<Draft>) {
    for stat in facts
        .prereqs
        .etc_ssh
        .iter()
        .filter(|stat| stat.kind != FileKind::Missing)
    {
        let problem = if stat.uid != Some(0) {
            format!("is owned by uid {}, not root", stat.uid.unwrap_or(u32::MAX))
        } else if stat.group_or_other_writable() {
            format!(
                "is writable by group or others (mode {:04o})",
                stat.mode.unwrap_or(0)
            )
        } else {
            continue;
        };
        findings.push(
            Draft::new(RuleId::EtcSshUnsafe)
                .var("path", stat.path.clone())
                .var("problem", problem)
                .evidence(stat.describe(), None),
        );
    }
}

/// sshd-session and sshd-auth: sshd checks both when it starts and runs sshd-session for
/// every connection.
fn check_helpers(facts: &Facts, findings: &mut Vec<Draft>) {
    for helper in &facts.prereqs.helpers {
        let Some(problem) = helper.stat.program_problem() else {
            continue;
        };
        findings.push(
            Draft::new(RuleId::SshdHelperMissing)
                .var("helper", helper.name.clone())
                .var("path", helper.stat.path.clone())
                .var("problem", problem)
                .evidence(helper.stat.describe(), Some(helper.source.clone())),
        );
    }
}
