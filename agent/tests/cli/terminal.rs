//! The text verdict as a person sees it on an 80x24 terminal: the real binary in tmux,
//! read back with capture-pane. A D-Bus address that accepts and never answers makes the
//! diagnosis wait out its D-Bus bound, so the progress line shows while it waits.

use crate::support;
use std::os::unix::net::UnixListener;
use std::process::Command;
use std::thread::sleep;
use std::time::Duration;

fn tmux(args: &[&str]) -> String {
    // tmux runs the command with $SHELL, else the login shell, which for a system
    // account (nobody) is nologin.
    let output = Command::new("tmux")
        .args(args)
        .env("SHELL", "/bin/sh")
        .output()
        .expect("tmux runs");
    assert!(
        output.status.success(),
        "tmux {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn text_verdict_on_an_80x24_terminal() {
    if !support::requires_program("tmux", "the terminal the verdict is read from") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A bus that accepts connections and says nothing: systemd's probe waits its bound.
    let socket = dir.path().join("silent_bus");
    let _silent_bus = UnixListener::bind(&socket).unwrap();
    let session = format!("sshdoctor-{}", std::process::id());
    let command = format!(
        "DBUS_SYSTEM_BUS_ADDRESS=unix:path={} {} --imds never --config /nonexistent/sshd_config; sleep 30",
        socket.display(),
        env!("CARGO_BIN_EXE_sshdoctor")
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "80",
        "-y",
        "24",
        &command,
    ]);
    sleep(Duration::from_millis(1300));
    let waiting = tmux(&["capture-pane", "-p", "-t", &session]);
    // The whole output, scrollback included, as the terminal laid it out, once the
    // verdict is there (the D-Bus bound plus the other probes; 30 s at most).
    let mut screen = String::new();
    for _ in 0..60 {
        sleep(Duration::from_millis(500));
        screen = tmux(&["capture-pane", "-p", "-S", "-", "-t", &session]);
        if screen.contains("  run:  ") && !screen.contains("sshdoctor: diagnosing") {
            break;
        }
    }
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .status();

    assert!(waiting.contains("sshdoctor: diagnosing"), "{waiting}");
    let lines: Vec<&str> = screen.lines().collect();
    // The first screenful holds the verdict: the status line, then the most severe finding
    // with its evidence and the command to run.
    let first_screen = lines[..24.min(lines.len())].join("\n");
    assert!(lines[0].starts_with("CRITICAL: SSH-CFG-002"), "{screen}");
    assert!(
        first_screen.contains("CRITICAL SSH-CFG-002"),
        "{first_screen}"
    );
    assert!(first_screen.contains("  run:  "), "{first_screen}");
    assert!(
        !screen.contains("sshdoctor: diagnosing"),
        "progress line not cleared:\n{screen}"
    );
    for line in &lines {
        assert!(line.chars().count() <= 80, "{line}");
    }
}
