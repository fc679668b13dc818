//! The SSH service as a SysV init script runs it, where neither systemd nor OpenRC booted
//! the system: sysvinit's Debian and Devuan, RHEL 6, and containers or chroots whose
//! services are started by hand. Its script, the rc directories' links that start it
//! at boot, and the pid file the script's sshd writes. Only files are read: the script
//! itself would run a shell.

use super::openrc::is_openrc_script;
use super::processes::read_pid_file;
use crate::collect::command::{find_tool, tool_dirs};
use crate::facts::SysvFacts;
use std::fs;
use std::path::Path;

/// The names an SSH init script has: Debian's, then RHEL's.
const SERVICE_NAMES: &[&str] = &["ssh", "sshd"];
/// Where the runlevel directories are: Debian's, then RHEL's (where /etc/rcN.d are
/// links to these).
const RC_ROOTS: &[&str] = &["/etc", "/etc/rc.d"];
const RUNLEVELS: &[&str] = &["0", "1", "2", "3", "4", "5", "6", "S"];
/// The pid file both Debian's and RHEL's scripts give sshd.
const PID_FILES: &[&str] = &["/run/sshd.pid", "/var/run/sshd.pid"];
/// The file whose existence makes Debian's script start nothing (and exit 0).
const NOT_TO_BE_RUN: &str = "/etc/ssh/sshd_not_to_be_run";
/// The tools that add an init script's links: Debian's, then RHEL's.
const ENABLE_TOOLS: &[&str] = &["update-rc.d", "chkconfig"];

/// The SSH service, where a SysV init script runs it (`root` is /): systemd did not boot
/// the system (no /run/systemd/system), OpenRC did not either (no
/// /run/openrc/softlevel), and /etc/init.d holds an SSH script.
pub fn collect(root: &Path) -> Option<SysvFacts> {
    let at = |path: &str| root.join(path.trim_start_matches('/'));
    if at("/run/systemd/system").is_dir() || at("/run/openrc/softlevel").exists() {
        return None;
    }
    let service = SERVICE_NAMES
        .iter()
        .find(|name| {
            let script = at(&format!("/etc/init.d/{name}"));
            script.is_file() && !is_openrc_script(&script)
        })?
        .to_string();
    let pid_paths: Vec<_> = PID_FILES.iter().map(|path| at(path)).collect();
    let pid_file = read_pid_file(pid_paths.iter().map(|path| path.as_path())).map(|file| {
        let path = Path::new(&file.path)
            .strip_prefix(root)
            .map_or(file.path.clone(), |inside| format!("/{}", inside.display()));
        crate::facts::PidFile { path, ..file }
    });
    let dirs = tool_dirs();
    let script = format!("/etc/init.d/{service}");
    let text = fs::read_to_string(at(&script)).unwrap_or_default();
    Some(SysvFacts {
        makes_dirs: made_dirs(&text),
        start_blocked_by: (text.contains(NOT_TO_BE_RUN) && at(NOT_TO_BE_RUN).exists())
            .then(|| NOT_TO_BE_RUN.to_string()),
        script,
        links: links(root, &service)
            .into_iter()
            .map(|(link, _)| link)
            .collect(),
        default_runlevel: fs::read_to_string(at("/etc/inittab"))
            .ok()
            .and_then(|inittab| default_runlevel(&inittab)),
        pid_file,
        enable_tool: ENABLE_TOOLS
            .iter()
            .find(|tool| find_tool(&dirs, tool).is_some())
            .map(|tool| tool.to_string()),
        service,
    })
}

/// Every link to `service`'s script in the runlevel directories below `root` (S to start
/// it, K to stop it), as the path seen from `root` and the link's target, sorted. A
/// directory reached twice (RHEL's /etc/rcN.d are links to /etc/rc.d/rcN.d) counts once,
/// under its first name.
pub fn links(root: &Path, service: &str) -> Vec<(String, String)> {
    let mut seen_dirs = Vec::new();
    let mut found = Vec::new();
    for rc_root in RC_ROOTS {
        for level in RUNLEVELS {
            let name = format!("{rc_root}/rc{level}.d");
            let dir = root.join(name.trim_start_matches('/'));
            let Ok(real) = fs::canonicalize(&dir) else {
                continue;
            };
            if seen_dirs.contains(&real) {
                continue;
            }
            seen_dirs.push(real);
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let file_name = entry.file_name().to_string_lossy().into_owned();
                let Ok(target) = fs::read_link(entry.path()) else {
                    continue;
                };
                let names_script = target.file_name().is_some_and(|name| name == service);
                if names_script && file_name.starts_with(['S', 'K']) {
                    found.push((format!("{name}/{file_name}"), target.display().to_string()));
                }
            }
        }
    }
    found.sort();
    found
}

/// The directories a script makes (the absolute paths on its `mkdir` lines): Debian's
/// makes sshd's privilege separation directory, /run/sshd, before each start.
pub fn made_dirs(script: &str) -> Vec<String> {
    let mut dirs: Vec<String> = script
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter(|line| line.split_whitespace().any(|word| word == "mkdir"))
        .flat_map(|line| {
            line.split_whitespace()
                .skip_while(|word| *word != "mkdir")
                .filter(|word| word.starts_with('/'))
                .map(|word| word.trim_end_matches([';', '/']).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The runlevel an /etc/inittab boots into (`id:3:initdefault:`).
pub fn default_runlevel(inittab: &str) -> Option<String> {
    inittab
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.as_slice() {
                [_, level, "initdefault", ..] if !level.trim().is_empty() => {
                    Some(level.trim().to_string())
                }
                _ => None,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path.trim_start_matches('/'));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn link(root: &Path, path: &str, target: &str) {
        let path = root.join(path.trim_start_matches('/'));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        symlink(target, path).unwrap();
    }

    #[test]
    fn debian_script_with_its_links_and_pid_file() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        write(
            root,
            "/etc/init.d/ssh",
            "#! /bin/sh\ncheck_privsep_dir() {\n    # Create the PrivSep empty dir if necessary\n    \
             if [ ! -d /run/sshd ]; then\n\tmkdir /run/sshd\n\tchmod 0755 /run/sshd\n    fi\n}\n",
        );
        for level in ["2", "3", "4", "5"] {
            link(root, &format!("/etc/rc{level}.d/S01ssh"), "../init.d/ssh");
        }
        link(root, "/etc/rc2.d/S01cron", "../init.d/cron");
        write(root, "/run/sshd.pid", "4242\n");
        let facts = collect(root).expect("a SysV ssh service");
        assert_eq!(facts.service, "ssh");
        assert_eq!(facts.script, "/etc/init.d/ssh");
        assert_eq!(
            facts.links,
            [
                "/etc/rc2.d/S01ssh",
                "/etc/rc3.d/S01ssh",
                "/etc/rc4.d/S01ssh",
                "/etc/rc5.d/S01ssh"
            ]
        );
        assert_eq!(facts.default_runlevel, None);
        assert_eq!(facts.makes_dirs, ["/run/sshd"]);
        let pid_file = facts.pid_file.as_ref().expect("the pid file");
        assert_eq!(
            (pid_file.path.as_str(), pid_file.pid),
            ("/run/sshd.pid", Some(4242))
        );
        assert!(facts.starts_at_boot());
    }

    #[test]
    fn rhel_links_are_read_once_and_inittab_names_the_runlevel() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        write(
            root,
            "/etc/init.d/sshd",
            "#!/bin/bash\n# chkconfig: 2345 55 25\n",
        );
        link(root, "/etc/rc.d/rc3.d/K25sshd", "../init.d/sshd");
        link(root, "/etc/rc.d/rc2.d/S55sshd", "../init.d/sshd");
        link(root, "/etc/rc3.d", "rc.d/rc3.d");
        link(root, "/etc/rc2.d", "rc.d/rc2.d");
        write(
            root,
            "/etc/inittab",
            "# Default runlevel.\n#id:5:initdefault:\nid:3:initdefault:\n",
        );
        let facts = collect(root).expect("a SysV sshd service");
        assert_eq!(facts.service, "sshd");
        assert_eq!(facts.links, ["/etc/rc2.d/S55sshd", "/etc/rc3.d/K25sshd"]);
        assert_eq!(facts.default_runlevel.as_deref(), Some("3"));
        assert!(
            !facts.starts_at_boot(),
            "it starts in runlevel 2, and the system boots into 3"
        );
        assert_eq!(facts.pid_file, None);
    }

    #[test]
    fn not_where_systemd_or_openrc_booted_the_system() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        write(root, "/etc/init.d/ssh", "#! /bin/sh\n");
        assert!(collect(root).is_some());
        fs::create_dir_all(root.join("run/systemd/system")).unwrap();
        assert_eq!(collect(root), None, "systemd runs the LSB script's unit");
        fs::remove_dir(root.join("run/systemd/system")).unwrap();
        write(root, "/run/openrc/softlevel", "default\n");
        assert_eq!(collect(root), None, "OpenRC's collector judges it");
        fs::remove_file(root.join("etc/init.d/ssh")).unwrap();
        fs::remove_file(root.join("run/openrc/softlevel")).unwrap();
        assert_eq!(collect(root), None, "no script");
    }
}
