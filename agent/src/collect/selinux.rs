//! SELinux: the mode the kernel enforces now, the mode the next boot will load, and which
//! TCP ports the policy lets sshd bind (ssh_port_t).

use super::ProbeNotes;
use crate::facts::{AvcDenial, PortRange, SelinuxFacts, SELINUX_CONFIG as CONFIG_FILE};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// auditd's log, where SELinux's denials are kept.
const AUDIT_LOG: &str = "/var/log/audit/audit.log";
/// How much of the audit log's end is read: auditd rotates it at 8 MB by default, and
/// the denials that matter now are the newest.
const AUDIT_TAIL_BYTES: u64 = 2 << 20;
/// Kinds of denial kept, newest first.
const MAX_DENIALS: usize = 10;
/// The SELinux domains OpenSSH's server runs in (sshd-session and sshd-auth have their
/// own in recent policies).
const SSHD_DOMAINS: &[&str] = &["sshd_t", "sshd_net_t", "sshd_auth_t", "sshd_session_t"];
/// The programs of OpenSSH's server, whatever domain they run in.
const SSHD_PROGRAMS: &[&str] = &["sshd", "sshd-session", "sshd-auth"];

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
    match read_tail(Path::new(AUDIT_LOG), AUDIT_TAIL_BYTES) {
        Ok(text) => {
            facts.denials = sshd_denials(&text);
            facts.audit_log = Some(AUDIT_LOG.into());
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => notes.partial(format!("cannot read {AUDIT_LOG}: {err}")),
    }
    facts
}

/// The last `limit` bytes of a file, from the first whole line in them.
fn read_tail(path: &Path, limit: u64) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    let start = length.saturating_sub(limit);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(match (start, text.split_once('\n')) {
        (0, _) | (_, None) => text,
        (_, Some((_, rest))) => rest.to_string(),
    })
}

/// The denials of sshd's domains or programs among audit records (auditd's lines, or
/// the kernel's "audit: type=1400" lines), alike ones counted together, newest first.
pub fn sshd_denials(text: &str) -> Vec<AvcDenial> {
    let mut denials: Vec<AvcDenial> = Vec::new();
    for line in text.lines() {
        let Some(denial) = parse_denial(line) else {
            continue;
        };
        let sshd = SSHD_DOMAINS.contains(&denial.source_type.as_str())
            || SSHD_PROGRAMS.contains(&denial.comm.as_str());
        if !sshd {
            continue;
        }
        let alike = denials.iter_mut().find(|known| {
            (
                &known.comm,
                &known.permissions,
                &known.name,
                &known.class,
                &known.target_type,
            ) == (
                &denial.comm,
                &denial.permissions,
                &denial.name,
                &denial.class,
                &denial.target_type,
            )
        });
        match alike {
            Some(known) => {
                known.count += 1;
                known.time = known.time.max(denial.time);
                known.permissive = denial.permissive;
            }
            None => denials.push(denial),
        }
    }
    denials.sort_by_key(|denial| std::cmp::Reverse(denial.time));
    denials.truncate(MAX_DENIALS);
    denials
}

/// One `avc:  denied` record; None for any other line.
fn parse_denial(line: &str) -> Option<AvcDenial> {
    let (head, rest) = line.split_once("avc:")?;
    let rest = rest.trim_start().strip_prefix("denied")?;
    let (permissions, fields) = rest.split_once('{')?.1.split_once('}')?;
    let time = head
        .split_once("audit(")
        .and_then(|(_, stamp)| stamp.split(['.', ':']).next())
        .and_then(|seconds| seconds.parse::<i64>().ok());
    let field = |name: &str| -> Option<String> {
        fields.split_whitespace().find_map(|word| {
            let value = word.strip_prefix(name)?.strip_prefix('=')?;
            Some(value.trim_matches('"').to_string())
        })
    };
    // scontext=system_u:system_r:sshd_t:s0-s0:c0.c1023: the type is the third part.
    let type_of = |context: Option<String>| context?.split(':').nth(2).map(String::from);
    Some(AvcDenial {
        time,
        comm: field("comm").unwrap_or_default(),
        permissions: permissions.split_whitespace().map(String::from).collect(),
        name: field("path").or_else(|| field("name")),
        source_type: type_of(field("scontext"))?,
        target_type: type_of(field("tcontext"))?,
        class: field("tclass").unwrap_or_default(),
        permissive: field("permissive").as_deref() == Some("1"),
        count: 1,
    })
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

/// The ssh_port_t TCP ranges of a ports.local: `portcon tcp 2222 system_u:object_r:ssh_port_t:s0`;
/// libsemanage writes a range as `2230 - 2232`.
pub fn ssh_port_labels(text: &str) -> Vec<PortRange> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (keyword, protocol, ports, context) = match fields[..] {
                [keyword, protocol, ports, context] => {
                    (keyword, protocol, ports.to_string(), context)
                }
                [keyword, protocol, first, "-", last, context] => {
                    (keyword, protocol, format!("{first}-{last}"), context)
                }
                _ => return None,
            };
            if keyword != "portcon" || protocol != "tcp" || !context.contains(":ssh_port_t") {
                return None;
            }
            let (first, last) = ports.split_once('-').unwrap_or((&ports, &ports));
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
    fn sshd_denials_are_read_from_audit_records_and_counted() {
        let log = "type=AVC msg=audit(1796500000.120:301): avc:  denied  { read } for  pid=812 comm=\"sshd\" name=\"authorized_keys\" dev=\"sda2\" ino=4711 scontext=system_u:system_r:sshd_t:s0-s0:c0.c1023 tcontext=unconfined_u:object_r:user_tmp_t:s0 tclass=file permissive=0\n\
            type=SYSCALL msg=audit(1796500000.120:301): arch=c000003e syscall=257 success=no exit=-13 comm=\"sshd\"\n\
            type=AVC msg=audit(1796500060.500:320): avc:  denied  { read } for  pid=830 comm=\"sshd\" name=\"authorized_keys\" dev=\"sda2\" ino=4711 scontext=system_u:system_r:sshd_t:s0-s0:c0.c1023 tcontext=unconfined_u:object_r:user_tmp_t:s0 tclass=file permissive=0\n\
            type=AVC msg=audit(1796500070.000:330): avc:  denied  { write } for  pid=901 comm=\"httpd\" name=\"log\" scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:var_log_t:s0 tclass=dir permissive=0\n\
            [ 12.5] audit: type=1400 audit(1796500080.000:340): avc:  denied  { name_bind } for  pid=700 comm=\"sshd\" src=2222 scontext=system_u:system_r:sshd_t:s0-s0:c0.c1023 tcontext=system_u:object_r:unreserved_port_t:s0 tclass=tcp_socket permissive=1\n";
        let denials = sshd_denials(log);
        assert_eq!(denials.len(), 2, "{denials:#?}");
        assert_eq!(denials[0].permissions, ["name_bind"]);
        assert!(denials[0].permissive);
        let keys = &denials[1];
        assert_eq!(
            (
                keys.comm.as_str(),
                keys.name.as_deref(),
                keys.class.as_str()
            ),
            ("sshd", Some("authorized_keys"), "file")
        );
        assert_eq!(
            (keys.source_type.as_str(), keys.target_type.as_str()),
            ("sshd_t", "user_tmp_t")
        );
        assert_eq!(
            (keys.count, keys.time, keys.permissive),
            (2, Some(1796500060), false)
        );
    }

    #[test]
    fn local_port_labels_are_read() {
        let text = "portcon tcp 2222 system_u:object_r:ssh_port_t:s0\n\
                    portcon tcp 8080 system_u:object_r:http_port_t:s0\n\
                    portcon udp 2223 system_u:object_r:ssh_port_t:s0\n\
                    portcon tcp 4000-4010 system_u:object_r:ssh_port_t:s0\n\
                    # This file is auto-generated by libsemanage\n\
                    portcon tcp 2230 - 2232 system_u:object_r:ssh_port_t:s0\n";
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
                },
                PortRange {
                    first: 2230,
                    last: 2232
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
