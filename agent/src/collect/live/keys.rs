//! The key-acceptance probe: for each examined user's authorized keys, ask the live sshd
//! whether it would accept the key, without any private key. SSH lets a client ask this
//! before proving possession (RFC 4252 7, SSH_MSG_USERAUTH_PK_OK); the real OpenSSH
//! client does it when handed only a public key, prints "Server accepts key", and stops
//! there, since it has nothing to sign with. sshd answers with everything it really
//! applies: AllowUsers and DenyGroups, StrictModes, AuthorizedKeysFile and
//! AuthorizedKeysCommand, PubkeyAcceptedAlgorithms, the key's options, the Match blocks
//! for that user and address.
//!
//! The public key reaches ssh as an anonymous memory file (memfd) on its standard input,
//! named /proc/self/fd/0 (ssh closes every other descriptor it inherits), so nothing is
//! written anywhere; no agent, no config file, no known_hosts file and no password is
//! used, and no session is ever opened (`-N`: ssh reads nothing else from its input).

use super::probe_source;
use crate::collect::command::{capture_with_input, ToolOutput};
use crate::facts::{KeyQuery, KeyQueryOutcome, UserAuth};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Queries per diagnosis at most: each is one connection and one ssh process.
pub const MAX_QUERIES: usize = 24;
/// Queries in flight at once, at most; fewer when MaxStartups is low, so that the probes
/// never take the unauthenticated slots a person needs.
const MAX_PARALLEL: usize = 4;
/// Key exchanges every OpenSSH since 7.4 knows, without the post-quantum hybrids: nothing
/// secret crosses this connection, and sntrup761 alone costs the client ~130 ms of CPU.
const KEX_ALGORITHMS: &str = "curve25519-sha256,curve25519-sha256@libssh.org,\
    ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,\
    diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,\
    diffie-hellman-group18-sha512,diffie-hellman-group14-sha256";
/// What is kept of ssh's output.
const OUTPUT_LIMIT: u64 = 64 << 10;

/// One key to ask about.
struct Job<'a> {
    user: &'a str,
    keys_file: &'a str,
    line: u32,
    key_type: &'a str,
    from: Option<&'a str>,
    public_key: &'a str,
}

/// Asks `target` about every key of `users` (the first `MAX_QUERIES`), with `ssh`.
/// `max_startups` is sshd's MaxStartups start value. Returns the queries, in the users'
/// and keys' order, and how many keys were left unasked.
pub fn query(
    users: &[UserAuth],
    target: SocketAddr,
    ssh: &Path,
    max_startups: u32,
    bound: Duration,
) -> (Vec<KeyQuery>, usize) {
    let jobs: Vec<Job> = users
        .iter()
        .filter(|user| user.account.is_some())
        .flat_map(|user| {
            user.keys_files.iter().flat_map(move |file| {
                file.keys
                    .iter()
                    // A CA's key is never accepted as a plain key; its certificates
                    // cannot be asked about without one.
                    .filter(|key| !key.public_key.is_empty() && !key.is_cert_authority())
                    .map(move |key| Job {
                        user: &user.name,
                        keys_file: &file.path,
                        line: key.line,
                        key_type: &key.key_type,
                        from: key.from.as_deref(),
                        public_key: &key.public_key,
                    })
            })
        })
        .collect();
    let omitted = jobs.len().saturating_sub(MAX_QUERIES);
    let jobs = &jobs[..jobs.len().min(MAX_QUERIES)];
    let parallel = MAX_PARALLEL.min((max_startups as usize / 2).max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, KeyQuery)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..parallel.min(jobs.len()) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(index) else { break };
                let answer = ask(job, target, ssh, bound);
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((index, answer));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(index, _)| *index);
    (
        results.into_iter().map(|(_, query)| query).collect(),
        omitted,
    )
}

fn ask(job: &Job, target: SocketAddr, ssh: &Path, bound: Duration) -> KeyQuery {
    let started = Instant::now();
    let source = target.is_ipv4().then(|| IpAddr::V4(probe_source()));
    let (outcome, fingerprint, detail) = match key_file(job.public_key) {
        Ok(key) => {
            let command = ssh_command(ssh, job.user, target, source, bound);
            match capture_with_input(command, Stdio::from(key), bound, OUTPUT_LIMIT) {
                Ok(output) => judge(&output),
                Err(err) => (
                    KeyQueryOutcome::ConnectionFailed,
                    None,
                    Some(format!("cannot run {}: {err}", ssh.display())),
                ),
            }
        }
        Err(err) => (
            KeyQueryOutcome::ConnectionFailed,
            None,
            Some(format!("cannot hold the key in memory: {err}")),
        ),
    };
    KeyQuery {
        user: job.user.to_string(),
        keys_file: job.keys_file.to_string(),
        line: job.line,
        key_type: job.key_type.to_string(),
        fingerprint,
        from: job.from.map(String::from),
        target: match target.ip() {
            IpAddr::V6(v6) => format!("[{v6}]:{}", target.port()),
            IpAddr::V4(v4) => format!("{v4}:{}", target.port()),
        },
        source: source.map(|source| source.to_string()),
        outcome,
        detail,
        elapsed_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
    }
}

/// The public key in an anonymous memory file.
fn key_file(public_key: &str) -> std::io::Result<OwnedFd> {
    use nix::sys::memfd::{memfd_create, MFdFlags};
    let fd = memfd_create(c"sshdoctor-key", MFdFlags::MFD_CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    writeln!(file, "{public_key}")?;
    Ok(OwnedFd::from(file))
}

/// ssh asking `target` about the key on its standard input as `user`, and nothing else:
/// no config file, agent, known_hosts, password or keyboard prompt, forwarding or
/// session.
fn ssh_command(
    ssh: &Path,
    user: &str,
    target: SocketAddr,
    source: Option<IpAddr>,
    bound: Duration,
) -> Command {
    let connect_timeout = bound.as_secs().max(1).to_string();
    let mut command = Command::new(ssh);
    command.args(["-v", "-F", "/dev/null", "-N", "-T"]);
    for option in [
        "BatchMode=yes".to_string(),
        "IdentitiesOnly=yes".into(),
        "IdentityAgent=none".into(),
        "IdentityFile=/proc/self/fd/0".into(),
        "PreferredAuthentications=publickey".into(),
        "PubkeyAuthentication=yes".into(),
        "PasswordAuthentication=no".into(),
        "KbdInteractiveAuthentication=no".into(),
        "NumberOfPasswordPrompts=0".into(),
        "StrictHostKeyChecking=no".into(),
        "UserKnownHostsFile=/dev/null".into(),
        "GlobalKnownHostsFile=/dev/null".into(),
        "CheckHostIP=no".into(),
        "UpdateHostKeys=no".into(),
        "ControlMaster=no".into(),
        "ControlPath=none".into(),
        "ClearAllForwardings=yes".into(),
        "ForwardAgent=no".into(),
        "ForwardX11=no".into(),
        "ConnectionAttempts=1".into(),
        format!("KexAlgorithms={KEX_ALGORITHMS}"),
        format!("ConnectTimeout={connect_timeout}"),
    ] {
        command.arg("-o").arg(option);
    }
    if let Some(source) = source {
        command.arg("-b").arg(source.to_string());
    }
    command
        .arg("-p")
        .arg(target.port().to_string())
        .arg("-l")
        .arg(user)
        .arg(target.ip().to_string())
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("SSH_ASKPASS");
    command
}

/// What ssh's debug output says sshd answered.
pub fn judge(output: &ToolOutput) -> (KeyQueryOutcome, Option<String>, Option<String>) {
    let mut fingerprint = None;
    let (mut offered, mut accepted, mut skipped, mut logged_in) = (false, false, false, false);
    let mut methods: Option<&str> = None;
    let mut last_said: Option<&str> = None;
    for line in output.stderr.lines().map(str::trim) {
        let message = line.strip_prefix("debug1: ");
        let Some(message) = message else {
            if !line.is_empty()
                && !line.starts_with('@')
                && !line.starts_with("Warning: Permanently added")
            {
                last_said = Some(line);
            }
            continue;
        };
        if let Some(rest) = message.strip_prefix("Will attempt key: ") {
            fingerprint = fingerprint.or_else(|| sha256_of(rest));
        } else if let Some(rest) = message.strip_prefix("Offering public key: ") {
            offered = true;
            fingerprint = fingerprint.or_else(|| sha256_of(rest));
        } else if let Some(rest) = message.strip_prefix("Server accepts key: ") {
            accepted = true;
            fingerprint = sha256_of(rest).or(fingerprint);
        } else if let Some(list) = message.strip_prefix("Authentications that can continue: ") {
            methods = Some(list);
        } else if message.starts_with("Skipping ") && message.contains(" key ") {
            skipped = true;
            last_said = Some(message);
        } else if message.starts_with("Authentication succeeded") {
            logged_in = true;
        }
    }
    let detail = last_said.map(String::from);
    let outcome = if accepted {
        KeyQueryOutcome::Accepted
    } else if logged_in {
        return (
            KeyQueryOutcome::Accepted,
            fingerprint,
            Some("sshd let the user in without any key (the none method)".into()),
        );
    } else if offered {
        KeyQueryOutcome::NotAccepted
    } else if skipped {
        KeyQueryOutcome::ClientSkipped
    } else if methods.is_some_and(|list| !list.split(',').any(|method| method == "publickey")) {
        return (
            KeyQueryOutcome::PublickeyNotOffered,
            fingerprint,
            methods.map(|list| format!("sshd offers only: {list}")),
        );
    } else if output.timed_out {
        KeyQueryOutcome::TimedOut
    } else {
        KeyQueryOutcome::ConnectionFailed
    };
    (outcome, fingerprint, detail)
}

fn sha256_of(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|word| word.starts_with("SHA256:"))
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(stderr: &str, timed_out: bool) -> (KeyQueryOutcome, Option<String>, Option<String>) {
        judge(&ToolOutput {
            stdout: String::new(),
            stderr: stderr.into(),
            exit_code: (!timed_out).then_some(255),
            timed_out,
        })
    }

    /// OpenSSH 9.2's own words, from runs against a real sshd.
    #[test]
    fn the_clients_words_decide_the_outcome() {
        let accepted = "debug1: Will attempt key: /proc/self/fd/0 ED25519 SHA256:C5lC explicit\n\
            debug1: Authentications that can continue: publickey,password\n\
            debug1: Offering public key: /proc/self/fd/0 ED25519 SHA256:C5lC explicit\n\
            debug1: Server accepts key: /proc/self/fd/0 ED25519 SHA256:C5lC explicit\n\
            Load key \"/proc/self/fd/0\": invalid format\n\
            debug1: No more authentication methods to try.\n\
            alice@127.0.0.1: Permission denied (publickey,password).\n";
        assert_eq!(
            said(accepted, false),
            (
                KeyQueryOutcome::Accepted,
                Some("SHA256:C5lC".into()),
                Some("alice@127.0.0.1: Permission denied (publickey,password).".into())
            )
        );
        let refused = "debug1: Offering public key: /proc/self/fd/0 ED25519 SHA256:C5lC explicit\n\
            debug1: Authentications that can continue: publickey\n\
            debug1: No more authentication methods to try.\n\
            alice@127.0.0.1: Permission denied (publickey).\n";
        assert_eq!(said(refused, false).0, KeyQueryOutcome::NotAccepted);
        let no_pubkey =
            "debug1: Authentications that can continue: password,keyboard-interactive\n\
            alice@127.0.0.1: Permission denied (password,keyboard-interactive).\n";
        let (outcome, _, detail) = said(no_pubkey, false);
        assert_eq!(outcome, KeyQueryOutcome::PublickeyNotOffered);
        assert_eq!(
            detail.as_deref(),
            Some("sshd offers only: password,keyboard-interactive")
        );
        let dsa = "debug1: Skipping ssh-dss key /proc/self/fd/0 - corresponding algorithms not in PubkeyAcceptedAlgorithms\n\
            debug1: Authentications that can continue: publickey\n";
        assert_eq!(said(dsa, false).0, KeyQueryOutcome::ClientSkipped);
        let refused_connection = "ssh: connect to host 127.0.0.1 port 22: Connection refused\n";
        assert_eq!(
            said(refused_connection, false),
            (
                KeyQueryOutcome::ConnectionFailed,
                None,
                Some("ssh: connect to host 127.0.0.1 port 22: Connection refused".into())
            )
        );
        assert_eq!(
            said("debug1: Connecting to 127.0.0.1\n", true).0,
            KeyQueryOutcome::TimedOut
        );
    }
}
