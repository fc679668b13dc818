//! Live probes: ask the running sshd, the way a client meets it. Every other collector
//! reads files and tables and infers; these connect to the local sshd and record what
//! it answered: its identification string on each listening socket (`banner`), and for
//! each examined user's keys whether it would accept them (`keys`).
//!
//! Their only side effect is those connections: sshd logs each one as a connection from
//! the probes' loopback range that closes before authenticating. Every probe connects
//! from an address of its own in that range, so that sshd's per-source penalties
//! (OpenSSH 9.8+, `PerSourcePenalties`) never add up on one address, and so that the
//! log rules can tell the probes' lines from clients' ones.

pub mod banner;
pub mod keys;

use super::command::{find_tool, tool_dirs};
use super::ProbeNotes;
use crate::facts::{
    AuthFacts, BannerOutcome, BannerProbe, LiveFacts, SocketFacts, SshdConfigFacts, PROBE_NET,
};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Bounds of the live probes.
#[derive(Debug, Clone, Copy)]
pub struct ProbeBounds {
    /// Connecting and reading the banner, per socket; and the whole wait when the
    /// listening process is stopped.
    pub banner: Duration,
    /// How long a banner is awaited from a daemon that is not stopped: one starved of
    /// CPU, or started by socket activation, is slow and still answers.
    pub banner_patience: Duration,
    /// One key query, from starting ssh to its exit, on a daemon that answers its
    /// banner at once; longer on one that is slow to (`key_query_bound`).
    pub key_query: Duration,
}

impl Default for ProbeBounds {
    fn default() -> Self {
        ProbeBounds {
            banner: Duration::from_secs(2),
            banner_patience: Duration::from_secs(10),
            key_query: Duration::from_secs(5),
        }
    }
}

/// Key queries cost a key exchange where the banner cost a fork: on a machine slow to
/// send the banner, each query gets five times that, up to this.
const MAX_KEY_QUERY_BOUND: Duration = Duration::from_secs(30);

fn key_query_bound(bounds: ProbeBounds, banner_ms: u32) -> Duration {
    (Duration::from_millis(u64::from(banner_ms)) * 5)
        .clamp(bounds.key_query, MAX_KEY_QUERY_BOUND.max(bounds.key_query))
}

/// sshd's default MaxStartups start value.
const DEFAULT_MAX_STARTUPS: u32 = 10;

/// The banner probe of every SSH listener, the first half of the live facts.
pub fn banners(
    sockets: &SocketFacts,
    ssh_ports: &[u16],
    bounds: ProbeBounds,
    notes: &mut ProbeNotes,
) -> Vec<BannerProbe> {
    let probes = banner::probe(sockets, ssh_ports, bounds);
    if probes.is_empty() {
        notes.note("no listening SSH socket to connect to");
    }
    probes
}

/// The live facts: the banners, then the key queries for the examined users, asked of
/// the listener a remote client would meet.
pub fn collect(
    banners: Vec<BannerProbe>,
    auth: &AuthFacts,
    config: &SshdConfigFacts,
    bounds: ProbeBounds,
    notes: &mut ProbeNotes,
) -> LiveFacts {
    let mut live = LiveFacts {
        ran: true,
        banners,
        ..LiveFacts::default()
    };
    let holds_keys = auth
        .users
        .iter()
        .any(|user| user.keys_files.iter().any(|file| !file.keys.is_empty()));
    if !holds_keys {
        return live;
    }
    let banner_ms = live
        .banners
        .iter()
        .filter(|probe| probe.outcome == BannerOutcome::Answered)
        .map(|probe| probe.elapsed_ms)
        .max()
        .unwrap_or(0);
    let why_not = match key_target(&live.banners) {
        None => Err("no SSH listener answered, so there is no sshd to ask about keys".to_string()),
        Some(target) if target.is_ipv6() && penalises_failures(config) => Err(format!(
            "sshd listens on IPv6 only and penalises sources whose connections fail \
             (PerSourcePenalties); asking from {} would get it blocked",
            target.ip()
        )),
        Some(target) => match find_tool(&tool_dirs(), "ssh") {
            Some(ssh) => Ok((target, ssh)),
            None => Err(
                "no ssh client on this machine (openssh-client), so sshd could not \
                 be asked about keys: they are judged from files only"
                    .to_string(),
            ),
        },
    };
    match why_not {
        Ok((target, ssh)) => {
            let bound = key_query_bound(bounds, banner_ms);
            let (queries, omitted) =
                keys::query(&auth.users, target, &ssh, max_startups(config), bound);
            if omitted > 0 {
                notes.partial(format!(
                    "asked about the first {} keys; {omitted} more were not asked",
                    keys::MAX_QUERIES
                ));
            }
            live.key_client = Some(ssh.display().to_string());
            live.key_queries = queries;
            live.keys_omitted = omitted;
        }
        Err(why) => {
            notes.partial(why.clone());
            live.keys_not_asked = Some(why);
        }
    }
    live
}

/// The listener to ask about keys: one that answered, preferring what a remote client
/// meets (not a loopback-only socket), then IPv4, then the lowest port.
fn key_target(banners: &[BannerProbe]) -> Option<SocketAddr> {
    banners
        .iter()
        .filter(|probe| probe.outcome == BannerOutcome::Answered)
        .min_by_key(|probe| {
            (
                probe.address.to_canonical().is_loopback(),
                probe.target.starts_with('['),
                probe.port,
            )
        })
        .and_then(|probe| probe.target.parse().ok())
}

/// The first number of sshd's MaxStartups (start:rate:full).
fn max_startups(config: &SshdConfigFacts) -> u32 {
    config
        .effective
        .as_ref()
        .and_then(|effective| effective.settings.get("maxstartups"))
        .and_then(|values| values.first())
        .and_then(|value| value.split(':').next()?.parse().ok())
        .unwrap_or(DEFAULT_MAX_STARTUPS)
}

/// OpenSSH 9.8+ penalises sources whose connections fail, unless turned off or IPv6
/// loopback is exempt (`sshd -T` prints these keywords only where they exist).
fn penalises_failures(config: &SshdConfigFacts) -> bool {
    let Some(settings) = config
        .effective
        .as_ref()
        .map(|effective| &effective.settings)
    else {
        return false;
    };
    let first = |keyword: &str| settings.get(keyword).and_then(|values| values.first());
    let enabled = first("persourcepenalties").is_some_and(|value| value != "no");
    let exempt = first("persourcepenaltyexemptlist").is_some_and(|list| {
        list.split(',')
            .any(|entry| entry == "::1" || entry == "::1/128")
    });
    enabled && !exempt
}

/// A fresh address in the probes' range (host part neither all zeros nor all ones).
pub fn probe_source() -> Ipv4Addr {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    let host = (hasher.finish() % 0xfffe) as u16 + 1;
    let [high, low] = host.to_be_bytes();
    let [first, second] = PROBE_NET;
    Ipv4Addr::new(first, second, high, low)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::is_probe_address;
    use std::net::IpAddr;

    #[test]
    fn key_queries_wait_longer_on_a_daemon_slow_to_answer() {
        let bounds = ProbeBounds::default();
        assert_eq!(key_query_bound(bounds, 15), Duration::from_secs(5));
        assert_eq!(key_query_bound(bounds, 3000), Duration::from_secs(15));
        assert_eq!(key_query_bound(bounds, 9000), Duration::from_secs(30));
    }

    #[test]
    fn sources_are_spread_over_the_probe_range_and_recognised() {
        let sources: std::collections::BTreeSet<Ipv4Addr> =
            (0..50).map(|_| probe_source()).collect();
        assert!(sources.len() > 40, "{sources:?}");
        for source in &sources {
            assert!(is_probe_address(IpAddr::V4(*source)));
            assert!(source.is_loopback());
            let [_, _, high, low] = source.octets();
            assert!(![(0, 0), (255, 255)].contains(&(high, low)));
        }
        assert!(!is_probe_address("127.0.0.1".parse().unwrap()));
        assert!(is_probe_address("::ffff:127.115.1.2".parse().unwrap()));
        assert!(!is_probe_address("::1".parse().unwrap()));
    }
}
