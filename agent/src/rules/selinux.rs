//! SELinux: a port sshd may not bind, a config the next boot cannot load.

use super::{Draft, RuleId, Severity, SshView};
use crate::facts::Facts;

/// Denial kinds reported, newest first; the rest are in the facts.
const MAX_DENIAL_FINDINGS: usize = 3;
/// A denial this recent, in enforcing mode, with nothing changed since, is today's.
const RECENT_SECONDS: i64 = 24 * 3600;

pub fn check(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    let selinux = &facts.selinux;
    let config_source = Some(crate::facts::SELINUX_CONFIG.to_string());
    for problem in &selinux.config_problems {
        findings.push(
            Draft::new(RuleId::SelinuxConfigBroken)
                .var("problem", problem.clone())
                .evidence(problem.clone(), config_source.clone()),
        );
    }
    let loads_policy = matches!(
        selinux.config_mode.as_deref(),
        Some("enforcing" | "permissive")
    );
    if let (true, Some(false), Some(policy)) =
        (loads_policy, selinux.policy_installed, &selinux.config_type)
    {
        let problem = format!("SELINUXTYPE={policy} but /etc/selinux/{policy} does not exist");
        findings.push(
            Draft::new(RuleId::SelinuxConfigBroken)
                .var("problem", problem.clone())
                .evidence(problem, config_source.clone()),
        );
    }
    check_denials(facts, findings);
    if selinux.kernel_mode.as_deref() != Some("enforcing") {
        return;
    }
    let mut ports = view.configured_ports.clone();
    ports.extend(view.listening_ports());
    ports.sort_unstable();
    ports.dedup();
    for port in ports {
        if selinux.ssh_ports.iter().any(|range| range.contains(port)) {
            continue;
        }
        let labels: Vec<String> = selinux
            .ssh_ports
            .iter()
            .map(|range| {
                if range.first == range.last {
                    range.first.to_string()
                } else {
                    format!("{}-{}", range.first, range.last)
                }
            })
            .collect();
        let mut finding = Draft::new(RuleId::SelinuxPortNotLabeled)
            .var("port", port.to_string())
            .evidence(
                "SELinux is enforcing",
                Some("/sys/fs/selinux/enforce".into()),
            )
            .evidence(
                format!("ssh_port_t covers TCP {}", labels.join(", ")),
                selinux.ports_source.clone().or(Some("base policy".into())),
            );
        if let Some(line) = facts.config.ports.iter().find(|line| line.value == port) {
            finding = finding.evidence(format!("Port {port}"), Some(line.location()));
        }
        findings.push(finding);
    }
}

/// sshd's denials in the audit log. Binding a port is SEL-001's; the rest (a key file,
/// a home, a helper's socket) are reported with the restorecon that relabels what sshd
/// reads, where the object is a file of a user examined here.
fn check_denials(facts: &Facts, findings: &mut Vec<Draft>) {
    let selinux = &facts.selinux;
    // SELinux off in this kernel: nothing is denied now, the log is history.
    if selinux.kernel_mode.is_none() {
        return;
    }
    let source = selinux.audit_log.clone();
    let shown = selinux
        .denials
        .iter()
        .filter(|denial| !(denial.class == "tcp_socket" && denial.permissions == ["name_bind"]))
        .take(MAX_DENIAL_FINDINGS);
    for denial in shown {
        let enforced = selinux.kernel_mode.as_deref() == Some("enforcing") && !denial.permissive;
        let recent = denial
            .time
            .zip(facts.logs.read_at)
            .is_some_and(|(time, now)| now - time <= RECENT_SECONDS);
        let changed_since = denial
            .time
            .zip(facts.logs.login_files_changed_at)
            .is_some_and(|(time, changed)| changed >= time);
        let object = denial.name.clone().unwrap_or_else(|| denial.class.clone());
        let relabel = denial
            .name
            .as_deref()
            .and_then(|name| relabel_dir(facts, name));
        let fix = match &relabel {
            Some(dir) => format!("restorecon -Rv {dir}"),
            None => format!("ausearch -m AVC -c {} -ts recent | audit2why", denial.comm),
        };
        let when = denial
            .time
            .and_then(|time| u64::try_from(time).ok())
            .map(|time| {
                let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(time);
                format!(", last {}", humantime::format_rfc3339_seconds(at))
            })
            .unwrap_or_default();
        let mut finding = Draft::new(RuleId::SelinuxDeniesSshd)
            .var("comm", denial.comm.clone())
            .var("permissions", denial.permissions.join(" "))
            .var("object", object)
            .var("target_type", denial.target_type.clone())
            .var("count", denial.count.to_string())
            .var("when", when)
            .var("fix", fix)
            .evidence(
                format!(
                    "avc: denied {{ {} }} comm={} name={} scontext type {} tcontext type {} tclass={} permissive={}",
                    denial.permissions.join(" "),
                    denial.comm,
                    denial.name.as_deref().unwrap_or("?"),
                    denial.source_type,
                    denial.target_type,
                    denial.class,
                    u8::from(denial.permissive)
                ),
                source.clone(),
            );
        if let Some(dir) = &relabel {
            finding = finding.evidence(
                format!("{} is under {dir}", denial.name.as_deref().unwrap_or("?")),
                None,
            );
        }
        if !(enforced && recent && !changed_since) {
            finding = finding.severity(Severity::Warning);
        }
        findings.push(finding);
    }
}

/// The directory to relabel for an object sshd was denied by name: the ~/.ssh (or home)
/// of a user examined here that holds a file or directory of that name.
fn relabel_dir(facts: &Facts, name: &str) -> Option<String> {
    let path = std::path::Path::new;
    facts.auth.users.iter().find_map(|user| {
        user.keys_files.iter().find_map(|file| {
            let candidates =
                std::iter::once(&file.path).chain(file.chain.iter().map(|entry| &entry.stat.path));
            for candidate in candidates {
                if path(candidate)
                    .file_name()
                    .is_some_and(|file_name| file_name == name)
                {
                    // A file: its directory; a directory: itself.
                    let is_file = candidate == &file.path;
                    return Some(match is_file {
                        true => path(candidate).parent()?.display().to_string(),
                        false => candidate.clone(),
                    });
                }
            }
            None
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::AvcDenial;

    fn denied_keys() -> AvcDenial {
        AvcDenial {
            time: Some(1_796_500_000),
            comm: "sshd".into(),
            permissions: vec!["read".into()],
            name: Some("authorized_keys".into()),
            source_type: "sshd_t".into(),
            target_type: "user_tmp_t".into(),
            class: "file".into(),
            permissive: false,
            count: 1,
        }
    }

    #[test]
    fn denials_are_history_where_selinux_is_off_now() {
        let mut facts = Facts::default();
        facts.selinux.denials = vec![denied_keys()];
        let mut findings = Vec::new();
        check_denials(&facts, &mut findings);
        assert!(findings.is_empty());
        facts.selinux.kernel_mode = Some("permissive".into());
        check_denials(&facts, &mut findings);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
    }
}
