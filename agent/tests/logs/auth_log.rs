//! sshd's log, produced for real: a real sshd in a network namespace refuses real `ssh`
//! logins (user not in AllowUsers, unknown user, refused key algorithm, bad modes on the
//! authorized_keys directory, too many keys) and drops connections past MaxStartups.
//! Its lines, with a syslog prefix, become /var/log/auth.log in a private mount namespace
//! without a journal, and the real binary must find each refusal there.

use crate::support;

use serde_json::Value;
use std::fs;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::mount_ns::diagnose_after;
use support::verdict::{findings_with, ids_in_families};
use support::{as_auth_log, wait_for, NetNs, Sshd};
use tempfile::TempDir;

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str = "a real sshd in a network namespace and a private /var/log need root";

const PORT: u16 = 2222;
/// A documentation address (RFC 5737) the namespace does not have: binding it fails.
const ABSENT_ADDRESS: &str = "192.0.2.1";
/// Unauthenticated connections sshd accepts at once; more are dropped.
const MAX_STARTUPS: usize = 3;

/// Client keys and the authorized_keys directory sshd is pointed at.
struct Keys {
    dir: TempDir,
}

impl Keys {
    fn new() -> Keys {
        let keys = Keys {
            dir: tempfile::tempdir().unwrap(),
        };
        for (name, kind) in [
            ("rsa", "rsa"),
            ("ed1", "ed25519"),
            ("ed2", "ed25519"),
            ("ed3", "ed25519"),
        ] {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-t", kind, "-N", "", "-f"])
                .arg(keys.path(name))
                .status()
                .unwrap();
            assert!(status.success(), "ssh-keygen -t {kind}");
        }
        let authorized = keys.authorized_dir();
        fs::create_dir(&authorized).unwrap();
        fs::copy(
            keys.path("ed1").with_extension("pub"),
            authorized.join("authorized_keys"),
        )
        .unwrap();
        // Writable by others: refused under StrictModes. (Debian's sshd tolerates a
        // group-writable directory whose group has no other member, so 0775 is not enough.)
        fs::set_permissions(&authorized, fs::Permissions::from_mode(0o777)).unwrap();
        keys
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn authorized_dir(&self) -> PathBuf {
        self.dir.path().join("authorized")
    }
}

/// `ssh user@127.0.0.1 true` inside `ns` offering only `keys`; the login must fail.
fn refused_login(ns: &NetNs, user: &str, keys: &[PathBuf]) {
    let mut command = ns.command("ssh");
    command.args(["-F", "/dev/null", "-p", &PORT.to_string()]);
    for option in [
        "BatchMode=yes",
        "StrictHostKeyChecking=no",
        "UserKnownHostsFile=/dev/null",
        "IdentitiesOnly=yes",
        "LogLevel=ERROR",
    ] {
        command.args(["-o", option]);
    }
    for key in keys {
        command.arg("-i").arg(key);
    }
    let output = command
        .arg(format!("{user}@127.0.0.1"))
        .arg("true")
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "{user} logged in: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Holds more unauthenticated connections than MaxStartups allows until sshd logs a drop.
fn exceed_max_startups(ns: &NetNs, sshd: &Sshd) {
    ns.run(|| {
        let _held: Vec<TcpStream> = (0..MAX_STARTUPS + 2)
            .map(|_| TcpStream::connect(("127.0.0.1", PORT)).unwrap())
            .collect();
        let dropped = wait_for(Duration::from_secs(5), || {
            sshd.log().contains("past MaxStartups").then_some(())
        });
        assert!(dropped.is_some(), "no drop logged: {}", sshd.log());
    });
}

/// The number (from 1) and text of the last line containing `text`.
fn last_line<'l>(lines: &'l [String], text: &str) -> (usize, &'l str) {
    lines
        .iter()
        .enumerate()
        .rev()
        .find(|(_, line)| line.contains(text))
        .map(|(index, line)| (index + 1, line.as_str()))
        .unwrap_or_else(|| panic!("sshd never logged {text:?}: {lines:#?}"))
}

/// The syslog stamp ("Nov 24 07:00:05") of the last line containing `text`.
fn time_of_last<'l>(lines: &'l [String], text: &str) -> &'l str {
    &last_line(lines, text).1[.."Nov 24 07:00:05".len()]
}

/// "TIME, /var/log/auth.log:LINE, pid PID" of the last line containing `text`.
fn place_of_last(lines: &[String], text: &str, pid: u32) -> String {
    let (number, _) = last_line(lines, text);
    let time = time_of_last(lines, text);
    format!("{time}, /var/log/auth.log:{number}, pid {pid}")
}

fn occurrences(lines: &[String], text: &str) -> usize {
    lines.iter().filter(|line| line.contains(text)).count()
}

/// The one finding with `id`: its count (from the evidence) and the finding.
fn the_finding<'v>(verdict: &'v serde_json::Value, id: &str) -> (usize, &'v serde_json::Value) {
    let found = findings_with(verdict, id);
    assert_eq!(found.len(), 1, "{id}: {verdict:#}");
    let summary = found[0]["evidence"][1]["fact"].as_str().unwrap();
    let count = summary.split(' ').next().unwrap().parse().unwrap();
    (count, found[0])
}

/// Diagnoses with `auth_log` as the only sshd log: /var/log is a fresh tmpfs (hiding
/// /var/log/journal) and /run/log/journal, where it exists, is hidden too.
fn diagnose_with_auth_log(auth_log: &Path) -> serde_json::Value {
    let setup = format!(
        "mount -t tmpfs tmpfs /var/log; cp {} /var/log/auth.log; \
         if [ -d /run/log ]; then mount -t tmpfs tmpfs /run/log; fi",
        auth_log.display()
    );
    diagnose_after(&setup, &["--no-sshd-run"])
}

/// A real sshd that refused logins in every way the log rules know, and the verdict on
/// its log as /var/log/auth.log: the verdict, the log's lines, sshd's pid, and the
/// directory that holds the keys file.
fn verdict_on_a_real_refusing_sshd() -> (Value, Vec<String>, u32, PathBuf) {
    let ns = NetNs::new();
    let keys = Keys::new();
    let authorized = keys.authorized_dir();
    let sshd = Sshd::start(
        &ns,
        PORT,
        &[
            "LogLevel VERBOSE",
            "ListenAddress 127.0.0.1",
            &format!("ListenAddress {ABSENT_ADDRESS}"),
            "HostKey /nonexistent/ssh_host_rsa_key",
            "AllowUsers root",
            "PubkeyAcceptedAlgorithms ssh-ed25519",
            "StrictModes yes",
            &format!(
                "AuthorizedKeysFile {}/authorized_keys",
                authorized.display()
            ),
            "MaxAuthTries 2",
            &format!("MaxStartups {MAX_STARTUPS}"),
        ],
    );
    refused_login(&ns, "nobody", &[keys.path("ed1")]);
    refused_login(&ns, "nosuchuser42", &[keys.path("ed1")]);
    refused_login(&ns, "root", &[keys.path("rsa")]);
    refused_login(&ns, "root", &[keys.path("ed1")]);
    refused_login(
        &ns,
        "root",
        &[keys.path("ed2"), keys.path("ed3"), keys.path("ed1")],
    );
    exceed_max_startups(&ns, &sshd);

    let pid = sshd.pid();
    let lines = as_auth_log(&sshd.log(), pid);
    let scratch = tempfile::tempdir().unwrap();
    let auth_log = scratch.path().join("auth.log");
    fs::write(&auth_log, lines.join("\n") + "\n").unwrap();
    let verdict = diagnose_with_auth_log(&auth_log);
    (verdict, lines, pid, authorized)
}

/// Refused before any key: AllowUsers, an unknown user, a refused key type.
fn assert_refused_users(verdict: &Value, lines: &[String], pid: u32) {
    assert_eq!(verdict["facts"]["logs"]["sources"][0], "/var/log/auth.log");
    let (count, not_allowed) = the_finding(verdict, "SSH-LOG-004");
    assert_eq!(count, 1);
    assert_eq!(
        not_allowed["title"],
        format!(
            "sshd refused nobody: not listed in AllowUsers (1 in the log, last {})",
            time_of_last(lines, "User nobody")
        )
    );
    assert_eq!(
        not_allowed["evidence"][0]["source"],
        place_of_last(lines, "User nobody from 127.0.0.1 not allowed", pid)
    );

    let (count, invalid) = the_finding(verdict, "SSH-LOG-010");
    assert_eq!(count, 1);
    assert_eq!(invalid["severity"], "info");
    assert!(invalid["title"]
        .as_str()
        .unwrap()
        .starts_with("Logins for user names this machine does not have: nosuchuser42 (1 in"));
    assert_eq!(
        invalid["evidence"][0]["source"],
        place_of_last(lines, "Invalid user nosuchuser42", pid)
    );

    let (count, algorithm) = the_finding(verdict, "SSH-LOG-007");
    assert_eq!(count, 1);
    assert!(
        algorithm["title"].as_str().unwrap().contains("rsa"),
        "{algorithm:#}"
    );
    assert_eq!(
        algorithm["evidence"][0]["source"],
        place_of_last(lines, "not in PubkeyAcceptedAlgorithms", pid)
    );
}

/// Refused with a key, or before listening: modes, tries, host keys, bind, MaxStartups.
fn assert_refused_keys_and_starts(verdict: &Value, lines: &[String], pid: u32, authorized: &Path) {
    let refused_modes = "Authentication refused: bad ownership or modes";
    let (count, modes) = the_finding(verdict, "SSH-LOG-001");
    assert!(count >= 2, "both ed1 logins read the keys file: {count}");
    assert_eq!(count, occurrences(lines, refused_modes));
    assert!(
        modes["title"].as_str().unwrap().starts_with(&format!(
            "sshd refused keys: bad ownership or modes for directory {} ",
            authorized.display()
        )),
        "{modes:#}"
    );
    assert_eq!(
        modes["evidence"][0]["source"],
        place_of_last(lines, refused_modes, pid)
    );

    let (count, tries) = the_finding(verdict, "SSH-LOG-011");
    assert_eq!(count, 1);
    assert!(tries["title"]
        .as_str()
        .unwrap()
        .starts_with("Too many authentication attempts for root ("));

    let (count, host_key) = the_finding(verdict, "SSH-LOG-002");
    assert_eq!(count, occurrences(lines, "load host key"));
    assert!(host_key["title"]
        .as_str()
        .unwrap()
        .starts_with("sshd could not load host key /nonexistent/ssh_host_rsa_key ("));

    let (count, bind) = the_finding(verdict, "SSH-LOG-009");
    assert_eq!(count, 1);
    assert!(bind["title"].as_str().unwrap().starts_with(&format!(
        "sshd could not bind {ABSENT_ADDRESS} port {PORT}: Cannot assign requested address ("
    )));

    let (count, _) = the_finding(verdict, "SSH-LOG-016");
    assert_eq!(count, occurrences(lines, "MaxStartups"));
}

#[test]
fn refusals_logged_by_a_real_sshd_are_found_in_auth_log() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let (verdict, lines, pid, authorized) = verdict_on_a_real_refusing_sshd();
    assert_refused_users(&verdict, &lines, pid);
    assert_refused_keys_and_starts(&verdict, &lines, pid, &authorized);
    // Refusals only: the connection that merely closed or reset raised nothing else.
    let log_ids = ids_in_families(&verdict, &["SSH-LOG"]);
    assert_eq!(
        log_ids,
        [
            "SSH-LOG-001",
            "SSH-LOG-002",
            "SSH-LOG-004",
            "SSH-LOG-007",
            "SSH-LOG-009",
            "SSH-LOG-016",
            "SSH-LOG-010",
            "SSH-LOG-011",
        ]
    );
}
