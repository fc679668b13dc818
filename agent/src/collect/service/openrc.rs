//! The SSH service as OpenRC keeps it: its state under /run/openrc, the runlevels that
//! start it, and its settings in /etc/conf.d. Only files are read: rc-service would run
//! the init script's shell.

use super::processes::read_pid_file;
use crate::facts::{OpenRcFacts, PidFile};
use std::fs;
use std::path::{Path, PathBuf};

/// The names an SSH init script has: Alpine's and Gentoo's, then Debian's.
const SERVICE_NAMES: &[&str] = &["sshd", "ssh"];
/// OpenRC's state directories, the transitional ones first: a service in "starting"
/// may still hold its "started" link from before.
const STATES: &[&str] = &["starting", "stopping", "started", "inactive", "failed"];

/// The SSH service, where OpenRC manages it (`root` is /): OpenRC booted the system
/// (/run/openrc/softlevel exists) and has an init script for sshd, or that script is
/// an openrc-run script. None elsewhere, Debian's LSB script under systemd included.
pub fn collect(root: &Path) -> Option<OpenRcFacts> {
    let at = |path: &str| root.join(path.trim_start_matches('/'));
    let softlevel = fs::read_to_string(at("/run/openrc/softlevel"))
        .ok()
        .map(|text| text.trim().to_string());
    let (service, script) = SERVICE_NAMES.iter().find_map(|name| {
        let script = at(&format!("/etc/init.d/{name}"));
        let is_openrc = softlevel.is_some() || is_openrc_script(&script);
        (script.is_file() && is_openrc).then(|| (name.to_string(), script))
    })?;
    let state = STATES
        .iter()
        .find(|state| fs::symlink_metadata(at(&format!("/run/openrc/{state}/{service}"))).is_ok())
        .map_or("stopped", |state| state)
        .to_string();
    let recorded = daemon_pid_file(&at(&format!("/run/openrc/daemons/{service}")));
    let default_pid_file = format!("/run/{service}.pid");
    let pid_file = recorded
        .into_iter()
        .chain(std::iter::once(default_pid_file))
        .find(|path| at(path).exists())
        .and_then(|path| {
            let file = read_pid_file(std::iter::once(at(&path).as_path()))?;
            Some(PidFile { path, ..file })
        });
    let conf_file = format!("/etc/conf.d/{service}");
    Some(OpenRcFacts {
        runlevels: runlevels(&at("/etc/runlevels"), &service),
        conf_file: at(&conf_file).is_file().then_some(conf_file),
        script: format!("/etc/init.d/{service}"),
        service,
        state,
        pid_file,
        softlevel,
    })
    .filter(|_| script.exists())
}

/// An init script run by openrc-run (its #! line), as Alpine's and Gentoo's are.
pub(super) fn is_openrc_script(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let read = fs::File::open(path)
        .and_then(|mut file| std::io::Read::read(&mut file, &mut head))
        .unwrap_or(0);
    let first_line = String::from_utf8_lossy(&head[..read]);
    first_line
        .lines()
        .next()
        .is_some_and(|line| line.starts_with("#!") && line.contains("openrc-run"))
}

/// The pid file in OpenRC's record of the daemon it started (daemons/SERVICE/NNN:
/// "pidfile=..."), which start-stop-daemon and supervise-daemon write.
fn daemon_pid_file(dir: &Path) -> Option<String> {
    let mut records: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    records.sort();
    records
        .iter()
        .find_map(|record| record_pid_file(&fs::read_to_string(record).ok()?))
}

/// The absolute `pidfile=` of one of OpenRC's daemon records.
pub fn record_pid_file(record: &str) -> Option<String> {
    record.lines().find_map(|line| {
        line.strip_prefix("pidfile=")
            .filter(|path| path.starts_with('/'))
            .map(String::from)
    })
}

/// The runlevels whose directory holds the service.
fn runlevels(dir: &Path, service: &str) -> Vec<String> {
    let mut levels: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|entry| fs::symlink_metadata(entry.path().join(service)).is_ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    levels.sort();
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path.trim_start_matches('/'));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn link(root: &Path, path: &str) {
        let path = root.join(path.trim_start_matches('/'));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("/etc/init.d/sshd", path).unwrap();
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sshdoctor-openrc-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn debians_lsb_script_without_openrc_booted_is_not_openrc() {
        let root = scratch("lsb");
        write(
            &root,
            "/etc/init.d/ssh",
            "#! /bin/sh\n### BEGIN INIT INFO\n",
        );
        assert_eq!(collect(&root), None);
    }

    #[test]
    fn a_started_service_with_a_dead_daemon_and_its_runlevels() {
        let root = scratch("started");
        write(
            &root,
            "/etc/init.d/sshd",
            "#!/sbin/openrc-run\ncommand=/usr/sbin/sshd\n",
        );
        write(&root, "/run/openrc/softlevel", "default\n");
        link(&root, "/run/openrc/started/sshd");
        link(&root, "/etc/runlevels/default/sshd");
        write(&root, "/etc/runlevels/boot/.keep", "");
        write(
            &root,
            "/run/openrc/daemons/sshd/001",
            "exec=/usr/sbin/sshd\nargv_0=/usr/sbin/sshd\npidfile=/run/sshd.pid\n",
        );
        // A pid no process has.
        write(&root, "/run/sshd.pid", "4194304\n");
        write(&root, "/etc/conf.d/sshd", "command_args=\"-p 2222\"\n");
        let facts = collect(&root).unwrap();
        assert_eq!(facts.service, "sshd");
        assert_eq!(facts.state, "started");
        assert_eq!(facts.runlevels, ["default"]);
        assert_eq!(facts.softlevel.as_deref(), Some("default"));
        assert!(facts.starts_at_boot());
        let pid_file = facts.pid_file.unwrap();
        assert_eq!(pid_file.path, "/run/sshd.pid");
        assert_eq!((pid_file.pid, pid_file.alive), (Some(4194304), false));
        assert_eq!(facts.conf_file.as_deref(), Some("/etc/conf.d/sshd"));
    }

    #[test]
    fn no_record_is_stopped_and_no_runlevel_does_not_start_at_boot() {
        let root = scratch("stopped");
        write(&root, "/etc/init.d/sshd", "#!/sbin/openrc-run\n");
        let facts = collect(&root).unwrap();
        assert_eq!(
            (facts.state.as_str(), facts.softlevel.as_deref()),
            ("stopped", None)
        );
        assert!(!facts.starts_at_boot());
        assert_eq!(facts.pid_file, None);
    }
}
