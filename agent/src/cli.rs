//! The command line: flags are defined once, here.

use crate::collect::cloud::ImdsPolicy;
use crate::collect::CollectOptions;
use crate::render::{
    explain_rule, list_rules, render_compact, render_fix_compact, render_fix_text,
    render_stderr_summary, render_text, render_transactions, write_json, TextStyle, COMPACT_BUDGET,
    STDERR_SUMMARY_BUDGET,
};
use crate::rules::find_rule;
use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::fs::{DirBuilder, OpenOptions};
use std::io::{IsTerminal, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Exit code for bad usage (sysexits EX_USAGE), apart from the 0-3 of a diagnosis.
pub const EXIT_USAGE: i32 = 64;

#[derive(Debug, Parser)]
#[command(
    name = "sshdoctor",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("SSHDOCTOR_COMMIT"), ")"),
    about = "Why won't this Linux VM let me in over SSH? Run inside the VM, as root.",
    after_help = "Exit status: 0 healthy, 1 warning, 2 critical, 3 could not diagnose, 64 bad usage."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    diagnose: DiagnoseArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Diagnose this machine (the default).
    Diagnose(DiagnoseArgs),
    /// List every rule in the catalogue.
    Rules,
    /// Print one rule in full: why it locks people out and how to fix it.
    Explain {
        /// Rule id, e.g. SSH-SVC-002.
        id: String,
    },
    /// Repair what the diagnosis finds: prints the plan; with --apply, makes the
    /// changes (keeping every prior state), diagnoses again, and puts everything back
    /// by itself when the fix does not hold.
    Fix(FixArgs),
    /// Put back what a `fix --apply` changed: the latest transaction, or TXID.
    Undo(UndoArgs),
}

#[derive(Debug, clap::Args)]
struct FixArgs {
    /// Make the changes. Without it nothing is written.
    #[arg(long)]
    apply: bool,
    /// Only the findings with these rule ids [default: every finding with a repair].
    #[arg(value_name = "RULE-ID")]
    rules: Vec<String>,
    /// Add this public key line for USER where sshd reads USER's keys (the directory
    /// made 0700 and the file 0600, USER's own, where missing); the key is added once.
    /// With it, other findings are repaired only when named.
    #[arg(long, num_args = 2, value_names = ["USER", "KEY"])]
    add_key: Vec<String>,
    /// Write the main sshd_config anew as the distribution ships it (Debian's pristine
    /// copy, else sshd's defaults with the drop-ins read), keeping the lines of a cloud
    /// login (Entra ID, EC2 Instance Connect, OS Login), and restart sshd. With it, other
    /// findings are repaired only when named.
    #[arg(long)]
    reset_config: bool,
    /// With --apply: put everything back by itself after DURATION (e.g. 5m) unless
    /// `sshdoctor fix --confirm TXID` comes first, for a change that may cut off the
    /// session you are using. A systemd timer, or a process of its own, does it.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "apply")]
    confirm_within: Option<std::time::Duration>,
    /// Keep transaction TXID, applied with --confirm-within: nothing puts it back.
    #[arg(long, value_name = "TXID", conflicts_with_all = ["apply", "add_key", "reset_config"])]
    confirm: Option<String>,
    /// Where transactions are kept.
    #[arg(long, value_name = "DIR", default_value = crate::fix::STATE_DIR)]
    state_dir: PathBuf,
    #[command(flatten)]
    diagnose: DiagnoseArgs,
}

#[derive(Debug, clap::Args)]
struct UndoArgs {
    /// The transaction to put back [default: the latest one still applied].
    #[arg(value_name = "TXID")]
    transaction: Option<String>,
    /// List the transactions instead.
    #[arg(long)]
    list: bool,
    /// Only if it is still unconfirmed (what --confirm-within's timer runs).
    #[arg(long, hide = true, requires = "transaction")]
    unless_confirmed: bool,
    /// Wait this many seconds first (the timer of --confirm-within without systemd).
    #[arg(
        long,
        hide = true,
        value_name = "SECONDS",
        requires = "unless_confirmed"
    )]
    wait: Option<u64>,
    /// Where transactions are kept.
    #[arg(long, value_name = "DIR", default_value = crate::fix::STATE_DIR)]
    state_dir: PathBuf,
    /// Output format [default: text on a terminal, json otherwise].
    #[arg(long, value_enum)]
    format: Option<Format>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Text,
    Compact,
}

#[derive(Debug, clap::Args)]
struct DiagnoseArgs {
    /// Output format [default: text on a terminal, json otherwise].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// sshd_config to read [default: the -f of the unit's ExecStart, else /etc/ssh/sshd_config].
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// sshd binary used for `sshd -t` and `sshd -T` [default: found on the system].
    #[arg(long, value_name = "PATH")]
    sshd: Option<PathBuf>,
    /// Do not run `sshd -t`/`sshd -T`; judge the config by parsing alone.
    #[arg(long)]
    no_sshd_run: bool,
    /// Do not ask the running sshd. By default sshdoctor connects to each listening SSH
    /// socket to read its banner, and asks sshd whether it would accept each examined
    /// user's keys (the publickey query: no private key, no session). sshd logs these as
    /// connections from 127.115.x.y that close before authenticating. Without them a
    /// verdict cannot be "healthy", only "unknown".
    #[arg(long)]
    no_probe: bool,
    /// Ask Azure's instance metadata service for the VM's names [auto: when DMI says Azure].
    #[arg(long, value_enum, default_value = "auto")]
    imds: ImdsArg,
    /// Base URL of the instance metadata service.
    #[arg(long, value_name = "URL", env = "SSHDOCTOR_IMDS_ENDPOINT", default_value = crate::collect::cloud::IMDS_ENDPOINT)]
    imds_endpoint: String,
    /// Examine this user's authentication path (repeatable) [default: the provisioned
    /// admin, root, and every account with a login shell].
    #[arg(long = "user", value_name = "NAME")]
    users: Vec<String>,
    /// Also write the full JSON verdict to PATH (directory created 0700, file 0600). The
    /// only thing a diagnosis ever writes.
    #[arg(long, value_name = "PATH")]
    save: Option<PathBuf>,
    /// Bound, in seconds, on all of the questions to systemd over D-Bus. While systemd is
    /// still starting units at boot it answers slowly; the boot-time unit waits longer.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=120))]
    dbus_timeout: u64,
    /// Bound, in seconds, on the whole diagnosis. Each probe has its own bound; past this
    /// one, whatever still hangs (a dead NFS server, a stuck tool), the verdict is
    /// printed from what was seen and names what had not finished [default: 20, or
    /// longer than twice --dbus-timeout (the bus, then systemctl) when that is more].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=600))]
    deadline: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ImdsArg {
    Auto,
    Always,
    Never,
}

impl From<ImdsArg> for ImdsPolicy {
    fn from(arg: ImdsArg) -> ImdsPolicy {
        match arg {
            ImdsArg::Auto => ImdsPolicy::Auto,
            ImdsArg::Always => ImdsPolicy::Always,
            ImdsArg::Never => ImdsPolicy::Never,
        }
    }
}

/// Parses `args`, runs the command, and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { EXIT_USAGE } else { 0 };
        }
    };
    match cli.command {
        None => diagnose(&cli.diagnose),
        Some(Command::Diagnose(args)) => diagnose(&args),
        Some(Command::Rules) => {
            print_out(&list_rules());
            0
        }
        Some(Command::Fix(args)) => fix(&args),
        Some(Command::Undo(args)) => undo(&args),
        Some(Command::Explain { id }) => match find_rule(&id) {
            Some(rule) => {
                print_out(&explain_rule(rule));
                0
            }
            None => {
                eprintln!("sshdoctor: no rule {id:?}; `sshdoctor rules` lists them");
                EXIT_USAGE
            }
        },
    }
}

/// Writes to stdout; a closed pipe (`sshdoctor | head`) ends quietly, not with a panic.
fn print_out(text: &str) {
    write_out(|out| out.write_all(text.as_bytes()));
}

/// A closed stdout is not an error worth a panic.
fn write_out(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    let mut stdout = std::io::stdout().lock();
    let _ = write(&mut stdout).and_then(|()| stdout.flush());
}

/// How a diagnosis collects, from its flags.
fn collect_options(args: &DiagnoseArgs) -> CollectOptions {
    CollectOptions {
        config_path: args.config.clone(),
        sshd_path: args.sshd.clone(),
        run_sshd: !args.no_sshd_run,
        probe: !args.no_probe,
        imds: args.imds.into(),
        imds_endpoint: args.imds_endpoint.clone(),
        users: args.users.clone(),
        dbus_timeout: std::time::Duration::from_secs(args.dbus_timeout),
        deadline: std::time::Duration::from_secs(
            args.deadline.unwrap_or(20.max(2 * args.dbus_timeout + 10)),
        ),
        ..CollectOptions::default()
    }
}

/// The format asked for, else text on a terminal and JSON otherwise.
fn format_of(asked: Option<Format>) -> Format {
    asked.unwrap_or(match std::io::stdout().is_terminal() {
        true => Format::Text,
        false => Format::Json,
    })
}

/// `sshdoctor fix`: the plan, or the repair; exits 0 done (or nothing to do), 2 rolled
/// back, 3 nothing could be done.
fn fix(args: &FixArgs) -> i32 {
    if args.diagnose.save.is_some() {
        eprintln!("sshdoctor: --save is a diagnosis's; a fix reports on stdout");
        return EXIT_USAGE;
    }
    if let Some(id) = &args.confirm {
        let report = crate::fix::confirm(&args.state_dir, id);
        print_fix_report(&report, format_of(args.diagnose.format));
        return report.outcome.exit_code();
    }
    let options = crate::fix::FixOptions {
        apply: args.apply,
        confirm_within: args.confirm_within,
        only: args.rules.clone(),
        reset_config: args.reset_config,
        add_key: match args.add_key.as_slice() {
            [user, key] => Some((user.clone(), key.clone())),
            _ => None,
        },
        state_dir: args.state_dir.clone(),
        collect: collect_options(&args.diagnose),
    };
    let report = with_progress(|| crate::fix::fix(&options));
    print_fix_report(&report, format_of(args.diagnose.format));
    report.outcome.exit_code()
}

/// `sshdoctor undo`.
fn undo(args: &UndoArgs) -> i32 {
    if args.list {
        return match crate::fix::list(&args.state_dir) {
            Ok(manifests) => {
                match format_of(args.format) {
                    Format::Json => write_out(|out| {
                        serde_json::to_writer_pretty(&mut *out, &manifests)?;
                        out.write_all(b"\n")
                    }),
                    _ => print_out(&render_transactions(&manifests)),
                }
                0
            }
            Err(why) => {
                eprintln!("sshdoctor: {why}");
                3
            }
        };
    }
    let report = match (&args.transaction, args.unless_confirmed) {
        (Some(id), true) => crate::fix::undo_unless_confirmed(
            &args.state_dir,
            id,
            args.wait.map(std::time::Duration::from_secs),
        ),
        _ => crate::fix::undo(&args.state_dir, args.transaction.as_deref()),
    };
    print_fix_report(&report, format_of(args.format));
    report.outcome.exit_code()
}

fn print_fix_report(report: &crate::fix::FixReport, format: Format) {
    match format {
        Format::Json => write_out(|out| {
            serde_json::to_writer_pretty(&mut *out, report)?;
            out.write_all(b"\n")
        }),
        Format::Text => print_out(&render_fix_text(report)),
        Format::Compact => print_out(&render_fix_compact(report, COMPACT_BUDGET)),
    }
}

/// The top-level entry point for a diagnosis: collect, judge, print, exit with the status.
fn diagnose(args: &DiagnoseArgs) -> i32 {
    let options = collect_options(args);
    let verdict = with_progress(|| crate::diagnose(&options));
    let on_terminal = std::io::stdout().is_terminal();
    let format = format_of(args.format);
    match format {
        Format::Json => write_out(|out| write_json(&verdict, out)),
        Format::Compact => print_out(&render_compact(&verdict, COMPACT_BUDGET)),
        Format::Text => print_out(&render_text(
            &verdict,
            TextStyle {
                width: terminal_width(),
                color: on_terminal && std::env::var_os("NO_COLOR").is_none(),
            },
        )),
    }
    if format == Format::Compact {
        eprint!("{}", render_stderr_summary(&verdict, STDERR_SUMMARY_BUDGET));
    }
    if let Some(path) = &args.save {
        match save_verdict(path, |file| write_json(&verdict, file)) {
            Ok(()) => eprintln!("sshdoctor: full verdict saved to {}", path.display()),
            Err(err) => eprintln!(
                "sshdoctor: cannot save the verdict to {}: {err}",
                path.display()
            ),
        }
    }
    verdict.exit_code
}

/// Writes the verdict to `path` whole or not at all: a new 0600 file beside it, then a
/// rename. A missing directory is created 0700; an existing one is left as it is.
fn save_verdict(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    let mut staged_name = name.to_os_string();
    staged_name.push(format!(".{}.tmp", std::process::id()));
    let staged = dir.join(staged_name);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&staged)
        .and_then(|mut file| {
            write(&mut file)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&staged, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    written
}

/// Runs `work`; when it takes longer than a moment and stderr is a terminal, says so on
/// stderr (a person at a serial console should not wonder whether it hung) and clears
/// the line when done. Never on a pipe: Run Command's stderr is for the summary.
fn with_progress<T>(work: impl FnOnce() -> T) -> T {
    const MOMENT: std::time::Duration = std::time::Duration::from_millis(700);
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let reporter = std::thread::spawn(move || {
        if finished.recv_timeout(MOMENT).is_err() {
            eprint!("sshdoctor: diagnosing (waiting on systemd, sshd or the firewall tools)...");
            let _ = finished.recv();
            eprint!("\r\x1b[K");
        }
    });
    let result = work();
    drop(done);
    let _ = reporter.join();
    result
}

/// The terminal's width when it reports one; 80 for a serial console, which does not.
fn terminal_width() -> usize {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|value| value.parse().ok())
    {
        return columns;
    }
    match terminal_size::terminal_size() {
        Some((terminal_size::Width(width), _)) if width >= 40 => usize::from(width),
        _ => 80,
    }
}
