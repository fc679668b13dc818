//! sshd_config as sshd itself reads it.
//!
//! `parse_config` is the pure part: files in (through `ConfigFiles`), facts out. It
//! mirrors OpenSSH 9.2's servconf.c: the keyword table, first-wins/accumulating
//! keywords, Include with globs and Match state, and the listen endpoints. `collect`
//! wraps it for a real machine: it picks the file sshd uses, reads it through
//! `SystemFiles`, and asks the real sshd (`-t`, `-T`) to check the parser's view.

mod command_line;
mod endpoints;
mod files;
mod keywords;
mod parse;
mod sshd_run;
mod syntax;
mod values;
mod writers;

pub use command_line::{argv_options, environment_file, expanded_argv, unit_options};
pub use endpoints::derive_endpoints;
pub use files::{
    read_config_file, ConfigFiles, FileRead, MemoryFiles, SystemFiles, MAX_FILE_BYTES,
};
pub use parse::{parse_config, DEFAULT_SOURCE, MAX_INCLUDE_DEPTH};
pub use sshd_run::{
    compare, connection_spec, error_location, first_error, first_location,
    missing_runtime_privsep_dir, parse_effective, run_sshd,
};

use super::{CollectOptions, ProbeNotes};
use crate::facts::{
    CommandLineOption, OpenRcFacts, ProcessFacts, SshdConfigFacts, SshdFacts, SystemdFacts,
    UnitKind, VendorConfig,
};
use crate::openssh::{DEFAULT_SSHD_CONFIG, VENDOR_SSHD_CONFIG};
use std::path::{Path, PathBuf};

/// sshd's compiled-in SSHDIR: relative Include patterns are looked up here.
pub const SSH_DIR: &str = "/etc/ssh";
/// Where Azure's VMAccess extension ("Reset SSH configuration") keeps the sshd_config it
/// replaced with its distribution default.
pub const VMACCESS_BACKUP: &str = "/var/cache/vmaccess/backup";

/// The config file sshd uses and why we believe so, and the options its command line
/// adds.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub path: PathBuf,
    pub why: String,
    pub command_line: Vec<CommandLineOption>,
}

/// `--config` wins (and is judged alone); else the SSH service's ExecStart, its
/// variables expanded as systemd does: its `-f` and its other options; else the running
/// sshd listener's; else sshd's default.
pub fn choose_config_path(
    options: &CollectOptions,
    systemd: &SystemdFacts,
    openrc: Option<&OpenRcFacts>,
    processes: &ProcessFacts,
) -> ConfigSource {
    if let Some(path) = &options.config_path {
        return ConfigSource {
            path: path.clone(),
            why: "--config".into(),
            command_line: Vec::new(),
        };
    }
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let listener_config = || {
        processes.local_listeners().find_map(|process| {
            let why = format!("sshd cmdline (pid {})", process.pid);
            Some((process.config_path.clone()?, why))
        })
    };
    let unit = systemd
        .ssh_unit(UnitKind::Service, crate::openssh::SERVICE_UNIT_NAMES)
        .filter(|unit| {
            unit.exec_start.iter().any(|argv| {
                argv.first()
                    .is_some_and(|program| program.ends_with("sshd"))
            })
        });
    if let Some(unit) = unit {
        let argv = command_line::expanded_argv(unit, &read);
        let (path, why) = argv
            .iter()
            .find_map(|argv| config_flag(argv))
            .map(|path| (path, format!("ExecStart of {}", unit.name)))
            .or_else(listener_config)
            .unwrap_or_else(|| (DEFAULT_SSHD_CONFIG.into(), "default".into()));
        return ConfigSource {
            path: path.into(),
            why,
            command_line: command_line::unit_options(unit, &read),
        };
    }
    if let Some(source) = openrc.and_then(|openrc| openrc_source(openrc, &read)) {
        return source;
    }
    let from_process = processes.local_listeners().find_map(|process| {
        let argv = super::service::processes::original_argv(&process.cmdline).unwrap_or_default();
        let why = format!("sshd cmdline (pid {})", process.pid);
        let command_line = command_line::argv_options(&argv, &why);
        if process.config_path.is_none() && command_line.is_empty() {
            return None;
        }
        Some(ConfigSource {
            path: process
                .config_path
                .clone()
                .unwrap_or_else(|| DEFAULT_SSHD_CONFIG.into())
                .into(),
            why,
            command_line,
        })
    });
    from_process.unwrap_or_else(|| default_source(Path::new("/")))
}

/// The settings of OpenRC's sshd script in its conf.d file, as Alpine's script reads
/// them: `cfgfile` (else the older SSHD_CONFIG) for -f, `command_args` (else SSHD_OPTS)
/// for the options. None without such a file or setting.
fn openrc_source(
    openrc: &OpenRcFacts,
    read: &dyn Fn(&str) -> Option<String>,
) -> Option<ConfigSource> {
    let conf_file = openrc.conf_file.as_deref()?;
    let settings = environment_file(&read(conf_file)?);
    let setting = |names: &[&str]| {
        names.iter().find_map(|name| {
            settings
                .iter()
                .rev()
                .find(|(key, value)| key == name && !value.is_empty())
                .map(|(key, value)| (key.clone(), value.clone()))
        })
    };
    let config = setting(&["cfgfile", "SSHD_CONFIG"]);
    let arguments = setting(&["command_args", "SSHD_OPTS"]);
    if config.is_none() && arguments.is_none() {
        return None;
    }
    // Its argv as the script builds it: the program, then the arguments.
    let argv: Vec<String> = std::iter::once("sshd".to_string())
        .chain(
            arguments
                .iter()
                .flat_map(|(_, value)| value.split_whitespace().map(String::from)),
        )
        .collect();
    let origin = |name: &str| format!("{name} in {conf_file}");
    let command_line = arguments.as_ref().map_or_else(Vec::new, |(name, _)| {
        command_line::argv_options(&argv, &origin(name))
    });
    let (path, why) = match (config, config_flag(&argv), &arguments) {
        (Some((name, path)), _, _) => (path, origin(&name)),
        (None, Some(path), Some((name, _))) => (path, origin(name)),
        _ => (DEFAULT_SSHD_CONFIG.to_string(), "default".to_string()),
    };
    Some(ConfigSource {
        path: path.into(),
        why,
        command_line,
    })
}

/// sshd's default config: /etc/ssh/sshd_config, or where it does not exist and SUSE's
/// vendor file does, that one (`root` is /).
fn default_source(root: &Path) -> ConfigSource {
    let exists = |path: &str| root.join(path.trim_start_matches('/')).exists();
    let (path, why) = match !exists(DEFAULT_SSHD_CONFIG) && exists(VENDOR_SSHD_CONFIG) {
        true => (
            VENDOR_SSHD_CONFIG,
            format!("vendor config ({DEFAULT_SSHD_CONFIG} does not exist)"),
        ),
        false => (DEFAULT_SSHD_CONFIG, "default".to_string()),
    };
    ConfigSource {
        path: path.into(),
        why,
        command_line: Vec::new(),
    }
}

/// SUSE's vendor config, where it exists: whether sshd reads it, and the Include lines
/// of it and of the /etc file that hides it (`root` is /).
pub fn vendor_config(root: &Path) -> Option<VendorConfig> {
    let read = |path: &str| std::fs::read_to_string(root.join(path.trim_start_matches('/')));
    let vendor = read(VENDOR_SSHD_CONFIG).ok()?;
    let main = read(DEFAULT_SSHD_CONFIG).ok();
    Some(VendorConfig {
        path: VENDOR_SSHD_CONFIG.into(),
        used: main.is_none(),
        includes: include_patterns(&vendor),
        main_includes: main.as_deref().map(include_patterns).unwrap_or_default(),
    })
}

/// The patterns of a config's top-level Include lines, as written.
pub fn include_patterns(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| match syntax::split_directive(line) {
            syntax::LineContent::Directive { keyword, rest }
                if keyword.eq_ignore_ascii_case("include") =>
            {
                Some(
                    rest.split_whitespace()
                        .map(String::from)
                        .collect::<Vec<_>>(),
                )
            }
            _ => None,
        })
        .flatten()
        .collect()
}

/// The `-f FILE` of an sshd argv (the last, as getopt leaves it).
pub fn config_flag(argv: &[String]) -> Option<String> {
    let program = argv.first()?;
    if !program.ends_with("sshd") {
        return None;
    }
    crate::openssh::sshd_options(argv)
        .into_iter()
        .rfind(|option| option.letter == 'f')
        .and_then(|option| option.value)
}

/// Parses the config and asks the real sshd about it: `parse` then `check_with_sshd`.
pub fn collect(
    options: &CollectOptions,
    sshd: &SshdFacts,
    source: ConfigSource,
    notes: &mut ProbeNotes,
) -> SshdConfigFacts {
    let parsed = parse(source, notes);
    check_with_sshd(options, sshd, parsed, None, notes)
}

/// The config as sshdoctor's parser reads it: quick, so the socket scan can learn SSH's
/// ports from it while sshd itself is still being asked.
pub fn parse(source: ConfigSource, notes: &mut ProbeNotes) -> SshdConfigFacts {
    let mut facts = parse_config(
        &source.path,
        &SystemFiles,
        Path::new(SSH_DIR),
        &source.command_line,
    );
    facts.path_source = source.why;
    facts.vmaccess_backup = std::fs::symlink_metadata(VMACCESS_BACKUP)
        .is_ok()
        .then(|| VMACCESS_BACKUP.to_string());
    facts.vendor_config = vendor_config(Path::new("/"));
    if let Some(edit) = writers::agent_edit(Path::new("/")) {
        let settings = facts
            .global
            .iter()
            .flat_map(|(keyword, values)| values.iter().map(move |value| (keyword.as_str(), value)))
            .chain(
                facts
                    .shadowed
                    .iter()
                    .map(|shadowed| (shadowed.keyword.as_str(), &shadowed.value)),
            );
        let sections = writers::agent_sections(&edit, settings);
        facts.written_sections.extend(sections);
    }
    if let Some(why) = &facts.read_error {
        notes.unavailable(format!("cannot read {}: {why}", facts.path));
    }
    for problem in facts
        .problems
        .iter()
        .filter(|p| p.fatal && p.line.is_none())
    {
        notes.partial(format!(
            "could not read {}: {}",
            problem.file, problem.message
        ));
    }
    facts
}

/// Adds what the real sshd says (`sshd -T`) to the parsed facts, when sshd exists and
/// running it is allowed.
/// `early`: an `sshd -T` already run (`early_dump`), used when it asked about this
/// config.
pub fn check_with_sshd(
    options: &CollectOptions,
    sshd: &SshdFacts,
    mut facts: SshdConfigFacts,
    early: Option<sshd_run::Captured>,
    notes: &mut ProbeNotes,
) -> SshdConfigFacts {
    match sshd.binary.as_deref().map(Path::new) {
        _ if !options.run_sshd => notes.note("sshd -T not run (disabled)"),
        None => notes.partial("no sshd binary found: the config was checked by the parser only"),
        Some(sshd) if facts.readable => ask_sshd(sshd, options, &mut facts, early, notes),
        Some(_) => {}
    }
    facts
}

/// The sshd binary and config to run `sshd -T` with before the config's path is known:
/// `--config`, else the default, which the unit's or process's `-f` rarely overrides.
pub fn early_dump(options: &CollectOptions, binary: Option<&str>) -> Option<(PathBuf, PathBuf)> {
    let binary = binary.filter(|_| options.run_sshd)?;
    let config = options
        .config_path
        .clone()
        .unwrap_or_else(|| crate::openssh::DEFAULT_SSHD_CONFIG.into());
    Some((binary.into(), config))
}

/// Fills `syntax_check`, `effective` and `discrepancies` from the real sshd.
///
/// One `sshd -T` run serves both: it performs every check `sshd -t` does, fails with the
/// same message on the same file and line, and prints the effective config when it
/// passes. A second process would cost a diagnosis another ~10 ms of sshd start-up.
fn ask_sshd(
    sshd: &Path,
    options: &CollectOptions,
    facts: &mut SshdConfigFacts,
    early: Option<sshd_run::Captured>,
    notes: &mut ProbeNotes,
) {
    let config = PathBuf::from(&facts.path);
    let extra = facts.command_line_args();
    let mut wanted = vec![
        sshd.display().to_string(),
        "-T".to_string(),
        "-f".to_string(),
        facts.path.clone(),
    ];
    wanted.extend_from_slice(&extra);
    let mut dump = match early.filter(|dump| dump.run.command == wanted) {
        Some(dump) => dump,
        None => sshd_run::run_sshd(sshd, "-T", &config, &extra, options.sshd_timeout, None),
    };
    if dump.run.exit_code != Some(0) && sshd_run::needs_connection(&dump.run) {
        // A user no User criterion names, on the first SSH port.
        let port = facts.ports.first().map_or(22, |port| port.value);
        let spec = connection_spec("sshdoctor-no-such-user", port);
        notes.note(format!(
            "a Match block needs a connection to evaluate: sshd -T -C {spec}"
        ));
        dump = sshd_run::run_sshd(
            sshd,
            &format!("-TC{spec}"),
            &config,
            &extra,
            options.sshd_timeout,
            None,
        );
    }
    if dump.run.error_file.is_none() {
        dump.run.error_file = dump
            .run
            .error_line
            .and_then(|line| match_line_file(facts, line, dump.run.error.as_deref()));
    }
    if dump.run.timed_out {
        notes.partial(format!(
            "sshd -T did not finish within {:?}",
            options.sshd_timeout
        ));
    }
    if dump.run.environment_problem {
        notes.partial(format!(
            "sshd -T could not judge the config: {}",
            dump.run.error.as_deref().unwrap_or("unknown error")
        ));
    }
    if let Some(dir) = &dump.run.privsep_stand_in {
        notes.note(format!(
            "sshd -T ran with an empty stand-in for the missing {dir}, in a private mount \
             namespace (systemd creates {dir} when it starts the unit)"
        ));
    }
    let passed = dump.run.exit_code == Some(0);
    facts.syntax_check = Some(dump.run);
    if !passed {
        notes.partial("sshd -T failed: effective config unknown");
        return;
    }
    let effective = sshd_run::parse_effective(&dump.stdout);
    facts.discrepancies = sshd_run::compare(facts, &effective);
    facts.effective = Some(effective);
}

/// The file of a Match line that sshd names by number only ("Invalid Match address
/// argument '10.0.0.0/99' at line 2": the number is within whichever file holds it): the
/// one config file whose line `line` is a Match line with the argument sshd quotes.
/// None when no file, or more than one, fits: a guess would send the fix to the wrong line.
fn match_line_file(facts: &SshdConfigFacts, line: u32, error: Option<&str>) -> Option<String> {
    let quoted = error.and_then(|error| error.split('\'').nth(1));
    let fits = |path: &String| {
        let text = std::fs::read_to_string(path).ok()?;
        let candidate = text
            .lines()
            .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let candidate = candidate.trim_start();
        let is_match = candidate
            .get(..5)
            .is_some_and(|word| word.eq_ignore_ascii_case("match"));
        (is_match && quoted.is_none_or(|argument| candidate.contains(argument))).then_some(())
    };
    let mut found = facts.files.iter().filter(|path| fits(path).is_some());
    match (found.next(), found.next()) {
        (Some(only), None) => Some(only.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn config_flag_reads_sshd_argv_like_getopt() {
        assert_eq!(
            config_flag(&argv("/usr/sbin/sshd -D -f /etc/x")),
            Some("/etc/x".into())
        );
        assert_eq!(
            config_flag(&argv("/usr/sbin/sshd -f/etc/y")),
            Some("/etc/y".into())
        );
        assert_eq!(
            config_flag(&argv("/usr/sbin/sshd -Df /etc/z")),
            Some("/etc/z".into())
        );
        assert_eq!(
            config_flag(&argv("/usr/sbin/sshd -o Port=1 -f /etc/w")),
            Some("/etc/w".into())
        );
        assert_eq!(config_flag(&argv("/usr/sbin/sshd -ofoo -D")), None);
        assert_eq!(config_flag(&argv("/usr/sbin/sshd -D $SSHD_OPTS")), None);
        assert_eq!(config_flag(&argv("/bin/other -f /etc/x")), None);
    }

    /// SUSE's layout in a directory standing for /: the vendor file is the default
    /// while /etc/ssh/sshd_config does not exist, and hidden once it does.
    #[test]
    fn the_vendor_config_counts_until_etc_has_one() {
        let root = tempfile::tempdir().unwrap();
        let at = |path: &str| root.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(at("/usr/etc/ssh")).unwrap();
        std::fs::create_dir_all(at("/etc/ssh")).unwrap();
        std::fs::write(
            at(VENDOR_SSHD_CONFIG),
            "Include /usr/etc/ssh/sshd_config.d/*.conf\ninclude /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n",
        )
        .unwrap();
        let source = default_source(root.path());
        assert_eq!(source.path, Path::new(VENDOR_SSHD_CONFIG));
        assert_eq!(
            source.why,
            "vendor config (/etc/ssh/sshd_config does not exist)"
        );
        let vendor = vendor_config(root.path()).unwrap();
        assert!(vendor.used);
        assert_eq!(
            vendor.includes,
            [
                "/usr/etc/ssh/sshd_config.d/*.conf",
                "/etc/ssh/sshd_config.d/*.conf"
            ]
        );
        std::fs::write(at(DEFAULT_SSHD_CONFIG), "Port 2222\n").unwrap();
        assert_eq!(
            default_source(root.path()).path,
            Path::new(DEFAULT_SSHD_CONFIG)
        );
        let vendor = vendor_config(root.path()).unwrap();
        assert!(!vendor.used);
        assert!(vendor.main_includes.is_empty());
    }
}
