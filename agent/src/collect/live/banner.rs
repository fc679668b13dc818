//! The banner probe: connect to each listening SSH socket, as a client would, and read
//! the daemon's identification string ("SSH-2.0-OpenSSH_9.2p1 ..."). A listener the
//! kernel holds open while nothing answers (a stopped or hung sshd, a full accept queue,
//! TCP wrappers or MaxStartups closing every connection) looks healthy in every table;
//! only a connection tells.

use super::{probe_source, ProbeBounds};
use crate::facts::{BannerOutcome, BannerProbe, ListeningSocket, SocketFacts};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

/// Sockets probed at most; a machine with more SSH listeners than this is unusual.
const MAX_PROBED: usize = 16;
/// What is read at most while looking for the identification string (RFC 4253 4.2 lets
/// a server send other lines first).
const MAX_BANNER_BYTES: usize = 1024;
/// Sent back once sshd has spoken, so that it logs a plain closed connection rather than
/// a failed key exchange.
const OUR_IDENTIFICATION: &[u8] = b"SSH-2.0-sshdoctor_probe\r\n";
/// What sshd itself sends instead of its banner when it turns a connection away
/// (MaxStartups; OpenSSH 9.8's PerSourcePenalties) before it closes: anything else
/// that closes after a line is another program.
const SSHD_REFUSALS: &[&str] = &["Exceeded MaxStartups", "Not allowed at this time"];
/// Banners longer than this are cut in the facts.
const MAX_BANNER_KEPT: usize = 255;

/// One socket to probe and where to connect to reach it.
struct Target<'a> {
    listener: &'a ListeningSocket,
    address: SocketAddr,
}

/// Probes every SSH listener (one per address family and owner where a wildcard pair
/// would be probed twice), all at once, each within `bounds`.
pub fn probe(sockets: &SocketFacts, ssh_ports: &[u16], bounds: ProbeBounds) -> Vec<BannerProbe> {
    let targets = targets(&sockets.listeners, ssh_ports);
    std::thread::scope(|scope| {
        let running: Vec<_> = targets
            .iter()
            .map(|target| scope.spawn(move || probe_one(target, bounds)))
            .collect();
        running
            .into_iter()
            .filter_map(|handle| handle.join().ok())
            .collect()
    })
}

/// The sockets on SSH's ports and those sshd holds elsewhere. An IPv6 wildcard that has
/// an IPv4 twin with the same owners is left out: the same daemon answers both, and
/// only IPv4 lets each probe come from an address of its own.
fn targets<'a>(listeners: &'a [ListeningSocket], ssh_ports: &[u16]) -> Vec<Target<'a>> {
    let owner_pids = |listener: &ListeningSocket| -> Vec<u32> {
        listener.owners.iter().map(|owner| owner.pid).collect()
    };
    let relevant: Vec<&ListeningSocket> = listeners
        .iter()
        .filter(|listener| {
            ssh_ports.contains(&listener.port)
                || listener
                    .owners
                    .iter()
                    .any(|owner| owner.comm.starts_with("sshd"))
        })
        .collect();
    relevant
        .iter()
        .filter(|listener| {
            let IpAddr::V6(v6) = listener.address else {
                return true;
            };
            let dual_stack = listener.v6only == Some(false);
            let twin = relevant.iter().any(|other| {
                other.address.is_ipv4()
                    && other.port == listener.port
                    && owner_pids(other) == owner_pids(listener)
            });
            dual_stack || v6.to_ipv4_mapped().is_some() || !(v6.is_unspecified() && twin)
        })
        .take(MAX_PROBED)
        .map(|listener| Target {
            listener,
            address: SocketAddr::new(connect_address(listener), listener.port),
        })
        .collect()
}

/// Loopback for a wildcard socket (IPv4 loopback where a dual-stack socket accepts it),
/// else the socket's own address.
fn connect_address(listener: &ListeningSocket) -> IpAddr {
    match listener.address {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() && listener.v6only == Some(false) => {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        address => address.to_canonical(),
    }
}

fn probe_one(target: &Target, bounds: ProbeBounds) -> BannerProbe {
    let started = Instant::now();
    // IPv6 has one loopback address: the kernel picks the source there.
    let source = target.address.is_ipv4().then(|| IpAddr::V4(probe_source()));
    let owners: Vec<u32> = target
        .listener
        .owners
        .iter()
        .map(|owner| owner.pid)
        .collect();
    let (outcome, banner, error) = match connect(source, target.address, started + bounds.banner) {
        Ok(stream) => read_banner(stream, started, bounds, &owners),
        Err(err) => connect_failure(&err),
    };
    BannerProbe {
        address: target.listener.address,
        port: target.listener.port,
        owners,
        target: socket_label(target.address),
        source: source.map(|source| source.to_string()),
        outcome,
        banner,
        elapsed_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
        error,
    }
}

fn socket_label(address: SocketAddr) -> String {
    match address.ip() {
        IpAddr::V6(v6) => format!("[{v6}]:{}", address.port()),
        IpAddr::V4(v4) => format!("{v4}:{}", address.port()),
    }
}

type Observed = (BannerOutcome, Option<String>, Option<String>);

fn connect_failure(err: &io::Error) -> Observed {
    let outcome = match err.kind() {
        io::ErrorKind::ConnectionRefused => BannerOutcome::Refused,
        io::ErrorKind::ConnectionReset => BannerOutcome::Reset,
        io::ErrorKind::TimedOut => BannerOutcome::ConnectTimeout,
        _ => BannerOutcome::Error,
    };
    (outcome, None, Some(err.to_string()))
}

/// A TCP connection from `source` (when given) to `target`, within `deadline`.
fn connect(source: Option<IpAddr>, target: SocketAddr, deadline: Instant) -> io::Result<TcpStream> {
    let family = match target {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
    let fd = socket::socket(family, SockType::Stream, flags, None)?;
    if let Some(source) = source {
        socket::bind(
            fd.as_raw_fd(),
            &SockaddrStorage::from(SocketAddr::new(source, 0)),
        )?;
    }
    match socket::connect(fd.as_raw_fd(), &SockaddrStorage::from(target)) {
        Ok(()) | Err(Errno::EINPROGRESS) => {}
        Err(err) => return Err(err.into()),
    }
    let left = deadline.saturating_duration_since(Instant::now());
    let mut writable = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
    let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
    if poll(&mut writable, timeout)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no TCP handshake within {} ms", left.as_millis()),
        ));
    }
    let pending = socket::getsockopt(&fd, sockopt::SocketError)?;
    if pending != 0 {
        return Err(io::Error::from_raw_os_error(pending));
    }
    let stream = TcpStream::from(fd);
    stream.set_nonblocking(false)?;
    Ok(stream)
}

/// Whether one of these processes is stopped (SIGSTOP, a debugger): it will not answer
/// however long the probe waits.
fn any_stopped(pids: &[u32]) -> bool {
    pids.iter().any(|pid| {
        procfs::process::Process::new(*pid as i32)
            .and_then(|process| process.stat())
            .is_ok_and(|stat| matches!(stat.state, 'T' | 't'))
    })
}

/// Reads lines until one starts with "SSH-", the connection ends, or time is up: the
/// banner bound, or the patience when the daemon is merely slow (not stopped).
fn read_banner(
    mut stream: TcpStream,
    started: Instant,
    bounds: ProbeBounds,
    owners: &[u32],
) -> Observed {
    let mut deadline = started + bounds.banner;
    let mut waited = bounds.banner;
    let mut received = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        if let Some(banner) = identification(&received) {
            let _ = stream.write_all(OUR_IDENTIFICATION);
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return (BannerOutcome::Answered, Some(banner), None);
        }
        let first_line = || {
            let text = String::from_utf8_lossy(&received);
            let line = text.lines().next().unwrap_or_default().trim().to_string();
            (!line.is_empty()).then(|| kept(&line))
        };
        if received.len() >= MAX_BANNER_BYTES {
            return (BannerOutcome::NotSsh, first_line(), None);
        }
        let mut left = deadline.saturating_duration_since(Instant::now());
        // A daemon starved of CPU (or started by socket activation) still answers a
        // client, which waits for it; a stopped one never does.
        if left.is_zero()
            && waited < bounds.banner_patience
            && received.is_empty()
            && !any_stopped(owners)
        {
            deadline = started + bounds.banner_patience;
            waited = bounds.banner_patience;
            left = deadline.saturating_duration_since(Instant::now());
        }
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return timed_out(first_line(), waited);
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                let said = first_line();
                let outcome = match said.as_deref() {
                    None => BannerOutcome::ClosedBeforeBanner,
                    Some(line) if SSHD_REFUSALS.contains(&line) => {
                        BannerOutcome::ClosedBeforeBanner
                    }
                    Some(_) => BannerOutcome::NotSsh,
                };
                return (outcome, said, None);
            }
            Ok(read) => received.extend_from_slice(&chunk[..read]),
            // The deadline passed: the top of the loop waits on or gives up.
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset => {
                return (BannerOutcome::Reset, first_line(), Some(err.to_string()));
            }
            Err(err) => return (BannerOutcome::Error, first_line(), Some(err.to_string())),
        }
    }
}

fn timed_out(first_line: Option<String>, bound: Duration) -> Observed {
    match first_line {
        Some(line) => (BannerOutcome::NotSsh, Some(line), None),
        None => (
            BannerOutcome::BannerTimeout,
            None,
            Some(format!(
                "connected, and no banner within {} ms",
                bound.as_millis()
            )),
        ),
    }
}

/// The first complete line starting with "SSH-", without its line end.
pub fn identification(received: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(received);
    let complete = &text[..text.rfind('\n')? + 1];
    complete
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .find(|line| line.starts_with("SSH-"))
        .map(kept)
}

fn kept(line: &str) -> String {
    line.chars().take(MAX_BANNER_KEPT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::SocketOwner;

    fn listener(address: &str, port: u16, v6only: Option<bool>, pid: u32) -> ListeningSocket {
        ListeningSocket {
            address: address.parse().unwrap(),
            port,
            v6only,
            uid: 0,
            inode: u64::from(port) + u64::from(pid),
            bound_device: None,
            owners: vec![SocketOwner {
                pid,
                comm: "sshd".into(),
                fd: 3,
                unit: None,
            }],
            accept_queue: None,
            accept_backlog: None,
        }
    }

    fn chosen(listeners: &[ListeningSocket], ports: &[u16]) -> Vec<String> {
        targets(listeners, ports)
            .iter()
            .map(|target| {
                format!(
                    "{} via {}",
                    socket_label(SocketAddr::new(
                        target.listener.address,
                        target.listener.port
                    )),
                    socket_label(target.address)
                )
            })
            .collect()
    }

    #[test]
    fn a_wildcard_pair_is_probed_once_over_ipv4_and_lone_sockets_each() {
        let pair = [
            listener("0.0.0.0", 22, None, 700),
            listener("::", 22, Some(true), 700),
        ];
        assert_eq!(chosen(&pair, &[22]), ["0.0.0.0:22 via 127.0.0.1:22"]);
        let v6_only = [listener("::", 22, Some(true), 700)];
        assert_eq!(chosen(&v6_only, &[22]), ["[::]:22 via [::1]:22"]);
        let dual = [listener("::", 22, Some(false), 700)];
        assert_eq!(chosen(&dual, &[22]), ["[::]:22 via 127.0.0.1:22"]);
        let addresses = [
            listener("192.0.2.4", 2222, None, 700),
            listener("2001:db8::4", 2222, Some(true), 700),
            listener("0.0.0.0", 8080, None, 900),
        ];
        // 8080 is neither SSH's port nor held by sshd... unless sshd holds it.
        let mut other = addresses.clone();
        other[2].owners[0].comm = "nginx".into();
        assert_eq!(
            chosen(&other, &[22, 2222]),
            [
                "192.0.2.4:2222 via 192.0.2.4:2222",
                "[2001:db8::4]:2222 via [2001:db8::4]:2222"
            ]
        );
        assert_eq!(chosen(&addresses, &[22, 2222]).len(), 3);
    }

    #[test]
    fn the_identification_line_may_follow_other_lines() {
        assert_eq!(
            identification(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6\r\n").as_deref(),
            Some("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6")
        );
        assert_eq!(
            identification(b"Welcome\r\nSSH-2.0-X\r\n").as_deref(),
            Some("SSH-2.0-X")
        );
        assert_eq!(identification(b"SSH-2.0-incomplete"), None);
        assert_eq!(identification(b"HTTP/1.1 400 Bad Request\r\n"), None);
    }

    /// Real sockets on loopback: one that answers like sshd, one that accepts and says
    /// nothing, one that closes at once, one that says why as sshd does and closes, one
    /// that speaks another protocol and stays, one that does and closes, a closed port.
    #[test]
    fn outcomes_against_real_loopback_sockets() {
        use std::net::TcpListener;
        let serve = |reply: Option<&'static [u8]>| {
            let server = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = server.local_addr().unwrap().port();
            std::thread::spawn(move || {
                for stream in server.incoming().flatten() {
                    let mut stream = stream;
                    match reply {
                        Some(bytes) => {
                            let _ = stream.write_all(bytes);
                            std::thread::sleep(Duration::from_millis(1500));
                        }
                        None => drop(stream),
                    }
                }
            });
            port
        };
        let ssh = serve(Some(b"SSH-2.0-OpenSSH_9.9\r\n"));
        let http = serve(Some(b"HTTP/1.0 200 OK\r\n\r\n"));
        let closes = serve(None);
        let says_and_closes = |line: &'static [u8]| {
            let server = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = server.local_addr().unwrap().port();
            std::thread::spawn(move || {
                for mut stream in server.incoming().flatten() {
                    let _ = stream.write_all(line);
                }
            });
            port
        };
        let says_why = says_and_closes(b"Exceeded MaxStartups\r\n");
        let http_closes = says_and_closes(b"HTTP/1.0 400 Bad Request\r\n");
        let silent = TcpListener::bind("127.0.0.1:0").unwrap(); // never accepts
        let silent_port = silent.local_addr().unwrap().port();
        let free_port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bounds = ProbeBounds {
            banner: Duration::from_millis(1000),
            banner_patience: Duration::from_millis(1500),
            key_query: Duration::from_secs(5),
        };
        let run = |port: u16| {
            let listener = listener("127.0.0.1", port, None, 1);
            probe_one(
                &Target {
                    listener: &listener,
                    address: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
                },
                bounds,
            )
        };
        let answered = run(ssh);
        assert_eq!(answered.outcome, BannerOutcome::Answered);
        assert_eq!(answered.banner.as_deref(), Some("SSH-2.0-OpenSSH_9.9"));
        assert!(crate::facts::is_probe_address(
            answered.source.unwrap().parse().unwrap()
        ));
        let other = run(http);
        assert_eq!(
            (other.outcome, other.banner.as_deref()),
            (BannerOutcome::NotSsh, Some("HTTP/1.0 200 OK"))
        );
        assert_eq!(run(closes).outcome, BannerOutcome::ClosedBeforeBanner);
        assert_eq!(run(http_closes).outcome, BannerOutcome::NotSsh);
        let refused = run(says_why);
        assert_eq!(
            (refused.outcome, refused.banner.as_deref()),
            (
                BannerOutcome::ClosedBeforeBanner,
                Some("Exceeded MaxStartups")
            )
        );
        // The owner (pid 1 here) is not stopped: the probe waits its patience out.
        let quiet = run(silent_port);
        assert_eq!(quiet.outcome, BannerOutcome::BannerTimeout);
        assert!(quiet.elapsed_ms >= 1500, "{quiet:?}");
        assert_eq!(
            quiet.error.as_deref(),
            Some("connected, and no banner within 1500 ms")
        );
        assert_eq!(run(free_port).outcome, BannerOutcome::Refused);
    }
}
