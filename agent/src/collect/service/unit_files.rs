//! What the SSH units' files say that D-Bus shows only merged, or not at all: a socket
//! unit's ListenStream lines in its drop-ins, the addresses.conf that Ubuntu's (24.04 and
//! later) sshd-socket-generator writes from sshd_config at every daemon-reload, and the
//! paths whose existence makes a service skip its start (`ConditionPathExists=!`).

use crate::facts::{Located, SocketGenerator, SystemdFacts, UnitKind};
use crate::openssh::{SOCKET_GENERATED as GENERATED, SOCKET_GENERATORS as GENERATORS};
use std::path::Path;
/// Bound on a drop-in: a few lines.
const MAX_DROPIN_BYTES: u64 = 64 << 10;

/// Fills the generator, each socket unit's drop-in ListenStream lines, and each service
/// unit's start-blocking paths that exist, with `root` as /.
pub fn read(facts: &mut SystemdFacts, root: &Path) {
    let under_root = |path: &str| root.join(path.trim_start_matches('/'));
    facts.socket_generator = GENERATORS
        .iter()
        .find(|path| under_root(path).exists())
        .map(|path| SocketGenerator {
            path: format!("/{path}"),
            generated: read_small(&under_root(GENERATED)).map(|text| {
                listen_streams(GENERATED, &text)
                    .into_iter()
                    .map(|line| line.value)
                    .skip_while(String::is_empty)
                    .collect()
            }),
        });
    for unit in facts
        .units
        .iter_mut()
        .filter(|unit| unit.kind == UnitKind::Socket)
    {
        unit.dropin_listen = unit
            .dropin_paths
            .iter()
            .filter_map(|path| Some((path, read_small(&under_root(path))?)))
            .flat_map(|(path, text)| listen_streams(path, &text))
            .collect();
    }
    for unit in facts
        .units
        .iter_mut()
        .filter(|unit| unit.kind == UnitKind::Service)
    {
        let files = unit.fragment_path.iter().chain(&unit.dropin_paths);
        let texts: Vec<(String, String)> = files
            .filter_map(|path| Some((path.clone(), read_small(&under_root(path))?)))
            .collect();
        unit.start_blocked_by = start_blockers(&texts)
            .into_iter()
            .filter(|blocker| under_root(&blocker.value).symlink_metadata().is_ok())
            .collect();
    }
}

/// The paths of the `ConditionPathExists=!PATH` lines in the [Unit] sections of a unit's
/// files (the unit file, then its drop-ins, in order): systemd skips the start while
/// such a path exists, and a start reports success all the same. An empty assignment
/// drops the lines before it; a triggering condition (`|`) only counts with others, so
/// it is left out.
pub fn start_blockers(files: &[(String, String)]) -> Vec<Located<String>> {
    let mut found: Vec<Located<String>> = Vec::new();
    for (path, text) in files {
        for condition in assignments(path, text, "[Unit]", "ConditionPathExists") {
            if condition.value.is_empty() {
                found.clear();
            } else if let Some(blocker) = condition
                .value
                .strip_prefix('!')
                .filter(|blocker| blocker.starts_with('/'))
            {
                found.push(Located {
                    value: blocker.to_string(),
                    ..condition
                });
            }
        }
    }
    found
}

/// The ListenStream= lines of a unit file's [Socket] section, with their line numbers.
pub fn listen_streams(path: &str, text: &str) -> Vec<Located<String>> {
    assignments(path, text, "[Socket]", "ListenStream")
}

fn read_small(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_DROPIN_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The values of `key=` in `section` of a unit file, trimmed, with their line numbers.
fn assignments(path: &str, text: &str, section: &str, key: &str) -> Vec<Located<String>> {
    let mut current = "";
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            current = line;
            continue;
        }
        let value = line
            .strip_prefix(key)
            .and_then(|rest| rest.trim_start().strip_prefix('='));
        if let Some(value) = value.filter(|_| current == section) {
            found.push(Located {
                value: value.trim().to_string(),
                file: path.to_string(),
                line: index as u32 + 1,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_blockers_are_the_negated_path_conditions_of_the_unit_section() {
        let unit = "[Unit]\nDescription=OpenBSD Secure Shell server\nAfter=network.target auditd.service\n\
             ConditionPathExists=!/etc/ssh/sshd_not_to_be_run\nConditionPathExists=|!/run/x\n\
             ConditionPathExists=/etc/ssh/sshd_config\n\n[Service]\nConditionPathExists=!/y\n";
        let files = [(
            "/lib/systemd/system/ssh.service".to_string(),
            unit.to_string(),
        )];
        let found: Vec<(String, u32)> = start_blockers(&files)
            .into_iter()
            .map(|blocker| (blocker.value, blocker.line))
            .collect();
        assert_eq!(found, [("/etc/ssh/sshd_not_to_be_run".to_string(), 4)]);
        // A drop-in's empty assignment resets the unit's conditions; later ones count.
        let reset = "[Unit]\nConditionPathExists=\nConditionPathExists=!/etc/lab-off\n";
        let files = [
            files[0].clone(),
            (
                "/etc/systemd/system/ssh.service.d/x.conf".to_string(),
                reset.to_string(),
            ),
        ];
        let found = start_blockers(&files);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (
                found[0].value.as_str(),
                found[0].file.as_str(),
                found[0].line
            ),
            (
                "/etc/lab-off",
                "/etc/systemd/system/ssh.service.d/x.conf",
                3
            )
        );
    }

    #[test]
    fn listen_streams_are_read_from_the_socket_section() {
        let text = "# Automatically generated by sshd-socket-generator\n\n[Socket]\nListenStream=\nListenStream=0.0.0.0:2222\nListenStream = [::]:2222\n[Install]\nListenStream=9\n";
        let found: Vec<(String, u32)> = listen_streams("/x", text)
            .into_iter()
            .map(|line| (line.value, line.line))
            .collect();
        assert_eq!(
            found,
            [
                (String::new(), 4),
                ("0.0.0.0:2222".to_string(), 5),
                ("[::]:2222".to_string(), 6)
            ]
        );
    }
}
