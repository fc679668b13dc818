//! Feeds arbitrary bytes to the parsers of what says how sshd is started and why it did
//! not: unit files and drop-ins, `systemctl show` with the EnvironmentFile its ExecStart
//! expands, a running sshd's command line, SysV's init script and inittab, OpenRC's
//! daemon record, SUSE's vendor config's Include lines, and what `sshd -t` prints when
//! it refuses. The input is cut at 0xff bytes into those pieces.
//!
//! Run (stable toolchain, nightly features unlocked):
//!   cd agent && RUSTC_BOOTSTRAP=1 cargo fuzz run service_files -- -max_total_time=120
#![no_main]

use libfuzzer_sys::fuzz_target;
use sshdoctor::collect::config::{
    argv_options, config_flag, environment_file, error_location, expanded_argv, first_error,
    first_location, include_patterns, missing_runtime_privsep_dir, unit_options,
};
use sshdoctor::collect::service::openrc::record_pid_file;
use sshdoctor::collect::service::processes::{config_path, is_listener, original_argv};
use sshdoctor::collect::service::systemctl::parse_unit;
use sshdoctor::collect::service::sysv::{default_runlevel, made_dirs};
use sshdoctor::collect::service::unit_files::{listen_streams, start_blockers};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|byte| *byte == 0xff);
    let mut next = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (unit, dropin, show, environment, cmdline, stderr) =
        (next(), next(), next(), next(), next(), next());

    let files = [
        ("/lib/systemd/system/ssh.service".to_string(), unit.clone()),
        ("/etc/systemd/system/ssh.service.d/x.conf".to_string(), dropin),
    ];
    let _ = start_blockers(&files);
    let _ = listen_streams("/lib/systemd/system/ssh.socket", &unit);

    let _ = environment_file(&environment);
    if let Some(facts) = parse_unit(&show, Some(1_700_000_000_000_000)) {
        let read = |_: &str| Some(environment.clone());
        let _ = unit_options(&facts, &read);
        let _ = expanded_argv(&facts, &read);
    }

    // /proc/PID/cmdline: NUL-separated words.
    let argv: Vec<String> = cmdline.split('\0').map(String::from).collect();
    let _ = argv_options(&argv, "the running sshd");
    let _ = config_flag(&argv);
    let _ = config_path(&argv);
    let _ = original_argv(&argv);
    for parent_is_sshd in [false, true] {
        let _ = is_listener(argv.first().map_or("", String::as_str), &argv, parent_is_sshd);
    }

    let _ = made_dirs(&unit);
    let _ = default_runlevel(&unit);
    let _ = record_pid_file(&unit);
    let _ = include_patterns(&unit);

    let _ = first_error(&stderr);
    let _ = first_location(&stderr);
    let _ = missing_runtime_privsep_dir(&stderr);
    for line in stderr.lines() {
        let _ = error_location(line);
    }
});
