//! SELinux: the mode the kernel enforces now, the mode the next boot will load, and which
//! TCP ports the policy lets sshd bind (ssh_port_t).

use super::ProbeNotes;
use crate::facts::{PortRange, SelinuxFacts, SELINUX_CONFIG as CONFIG_FILE};
use std::path::Path;

/// selinuxfs: present only when SELinux is enabled in the running kernel.
const ENFORCE_FILE: &str = "/sys/fs/selinux/enforce";
/// Local port labels added with `semanage port -a`: the policy store moved from
/// /etc/selinux to /var/lib/selinux with policycoreutils 2.4.
const PORTS_LOCAL: &[&str] = &[
    "/var/lib/selinux/{type}/active/ports.local",
    "/etc/selinux/{type}/modules/active/ports.local",
];
/// The base policy labels only port 22 as ssh_port_t.
const BASE_SSH_PORT: u16 = 22;

pub fn collect(notes: &mut ProbeNotes) -> SelinuxFacts {
    let kernel_mode = match std::fs::read_to_string(ENFORCE_FILE) {
        Ok(text) => Some(
            if text.trim() == "1" {
                "enforcing"
            } else {
                "permissive"
            }
            .to_string(),
        ),
        Err(_) => None, // No selinuxfs: disabled in this kernel (or not compiled in).
    };
    let mut facts = SelinuxFacts {
        kernel_mode,
        ..SelinuxFacts::default()
    };
    match std::fs::read_to_string(CONFIG_FILE) {
        Ok(text) => read_config(&text, &mut facts),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => notes.partial(format!("cannot read {CONFIG_FILE}: {err}")),
    }
    if let Some(policy) = facts.config_type.clone() {
        facts.policy_installed = Some(Path::new("/etc/selinux").join(&policy).is_dir());
        facts.ssh_ports = vec![PortRange {
            first: BASE_SSH_PORT,
            last: BASE_SSH_PORT,
        }];
        for template in PORTS_LOCAL {
            let path = template.replace("{type}", &policy);
            if let Ok(text) = std::fs::read_to_string(&path) {
                facts.ssh_ports.extend(ssh_port_labels(&text));
                facts.ports_source = Some(path);
                break;
            }
        }
    }
    facts
}

/// `SELINUX=` and `SELINUXTYPE=` of /etc/selinux/config, and whatever would stop the next
/// boot from loading a policy.
pub fn read_config(text: &str, facts: &mut SelinuxFacts) {
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            facts
                .config_problems
                .push(format!("line {}: not KEY=value: {line}", number + 1));
            continue;
        };
        let value = value.trim().trim_matches('"').to_string();
        match key.trim() {
            "SELINUX" => {
                if !matches!(value.as_str(), "enforcing" | "permissive" | "disabled") {
                    facts.config_problems.push(format!(
                        "line {}: SELINUX={value} is not enforcing, permissive or disabled",
                        number + 1
                    ));
                }
                facts.config_mode = Some(value);
            }
            "SELINUXTYPE" => facts.config_type = Some(value),
            _ => {}
        }
    }
}

/// The ssh_port_t TCP ranges of a ports.local: `portcon tcp 2222 system_u:object_r:ssh_port_t:s0`.
pub fn ssh_port_labels(text: &str) -> Vec<PortRange> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [keyword, protocol, ports, context] = fields[..] else {
                return None;
            };
            if keyword != "portcon" || protocol != "tcp" || !context.contains(":ssh_port_t") {
                return None;
            }
            let (first, last) = ports.split_once('-').unwrap_or((ports, ports));
            Some(PortRange {
                first: first.parse().ok()?,
                last: last.parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_port_labels_are_read() {
        let text = "portcon tcp 2222 system_u:object_r:ssh_port_t:s0\n\
                    portcon tcp 8080 system_u:object_r:http_port_t:s0\n\
                    portcon udp 2223 system_u:object_r:ssh_port_t:s0\n\
                    portcon tcp 4000-4010 system_u:object_r:ssh_port_t:s0\n";
        let ranges = ssh_port_labels(text);
        assert_eq!(
            ranges,
            [
                PortRange {
                    first: 2222,
                    last: 2222
                },
                PortRange {
                    first: 4000,
                    last: 4010
                }
            ]
        );
    }

    #[test]
    fn a_broken_config_is_noticed() {
        let mut facts = SelinuxFacts::default();
        read_config(
            "# comment\nSELINUX=enforcin\nSELINUXTYPE=targeted\ngarbage\n",
            &mut facts,
        );
        assert_eq!(facts.config_mode.as_deref(), Some("enforcin"));
        assert_eq!(facts.config_type.as_deref(), Some("targeted"));
        assert_eq!(
            facts.config_problems,
            [
                "line 2: SELINUX=enforcin is not enforcing, permissive or disabled",
                "line 4: not KEY=value: garbage"
            ]
        );
    }
}
