//! The suite fails instead of hanging. A test that has run longer than
//! SSHDOCTOR_TEST_LIMIT seconds (300 by default; the slowest test takes about 20) stops
//! the test binary, after printing what is still running: the test's name and every
//! process on the machine with its state, kernel wait channel and command line, and the
//! kernel stack of those stuck in an uninterruptible wait. A hang costs CI minutes and
//! says where it is, instead of costing CI its whole time limit and saying nothing.
//!
//! Tests register by starting with `requires_root`; each test runs on a thread of its
//! own, and a thread-local guard takes the test off the list when that thread ends.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// Tests running now, by thread name (the test's name), with when each started.
static RUNNING: Mutex<Option<HashMap<String, Instant>>> = Mutex::new(None);

const LIMIT_VARIABLE: &str = "SSHDOCTOR_TEST_LIMIT";
const DEFAULT_LIMIT: Duration = Duration::from_secs(300);

struct Registration(String);

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut running) = RUNNING.lock() {
            if let Some(running) = running.as_mut() {
                running.remove(&self.0);
            }
        }
    }
}

thread_local! {
    static REGISTERED: std::cell::RefCell<Option<Registration>> = const { std::cell::RefCell::new(None) };
}

/// Puts the running test on the watched list (once per test thread) and starts the
/// watchdog with the first test.
pub fn watch_this_test() {
    static START: Once = Once::new();
    START.call_once(|| {
        std::thread::Builder::new()
            .name("test watchdog".into())
            .spawn(watch)
            .expect("start the test watchdog");
    });
    let name = std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_string();
    REGISTERED.with(|registered| {
        let mut registered = registered.borrow_mut();
        if registered.as_ref().is_some_and(|known| known.0 == name) {
            return;
        }
        if let Ok(mut running) = RUNNING.lock() {
            running
                .get_or_insert_with(HashMap::new)
                .insert(name.clone(), Instant::now());
        }
        *registered = Some(Registration(name));
    });
}

fn limit() -> Duration {
    std::env::var(LIMIT_VARIABLE)
        .ok()
        .and_then(|seconds| seconds.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_LIMIT)
}

fn watch() {
    let limit = limit();
    loop {
        std::thread::sleep(Duration::from_secs(5));
        let overdue: Vec<(String, u64)> = match RUNNING.lock() {
            Ok(running) => running
                .iter()
                .flatten()
                .filter(|(_, started)| started.elapsed() > limit)
                .map(|(name, started)| (name.clone(), started.elapsed().as_secs()))
                .collect(),
            Err(_) => continue,
        };
        if !overdue.is_empty() {
            report_and_exit(&overdue, limit);
        }
    }
}

/// Written straight to stderr, past the harness's capture, then the process exits. The
/// names of the hung tests come last, where a log cut to its tail still shows them.
fn report_and_exit(overdue: &[(String, u64)], limit: Duration) -> ! {
    let table = bounded_output(
        "ps",
        // Every process but the kernel's threads.
        &[
            "--ppid",
            "2",
            "-p",
            "2",
            "--deselect",
            "-o",
            "pid,ppid,stat,etimes,wchan:32,args",
            "--sort=start_time",
        ],
    );
    let mut report: String = table
        .lines()
        .map(|line| format!("{}\n", line.chars().take(200).collect::<String>()))
        .collect();
    for pid in uninterruptible_pids() {
        let stack = std::fs::read_to_string(format!("/proc/{pid}/stack")).unwrap_or_default();
        report += &format!("kernel stack of {pid} (state D):\n{stack}");
    }
    for (name, seconds) in overdue {
        report += &format!(
            "HUNG {name}: still running after {seconds} s (limit {} s, {LIMIT_VARIABLE})\n",
            limit.as_secs()
        );
    }
    let _ = std::io::stderr().lock().write_all(report.as_bytes());
    std::process::exit(101);
}

/// A tool's output, given up after 10 s: reading a stuck process's command line can hang.
fn bounded_output(program: &str, args: &[&str]) -> String {
    let output = Command::new("timeout")
        .args(["-s", "KILL", "10", program])
        .args(args)
        .stdin(Stdio::null())
        .output();
    match output {
        Ok(output) => String::from_utf8_lossy(&output.stdout).into_owned(),
        Err(err) => format!("cannot run {program}: {err}\n"),
    }
}

fn uninterruptible_pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('D'))
            })
        })
        .collect()
}
