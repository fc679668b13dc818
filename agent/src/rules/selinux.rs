//! SELinux: a port sshd may not bind, a config the next boot cannot load.

use super::{Draft, RuleId, SshView};
use crate::facts::Facts;

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
