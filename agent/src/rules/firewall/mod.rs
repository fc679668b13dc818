//! Would the local firewall let a new SSH connection in?
//!
//! For each SSH port, a TCP SYN (conntrack state new) from an arbitrary remote client,
//! sent to the primary interface's address from an ephemeral port, is walked through
//! every layer that filters input: nftables base chains on the prerouting and input
//! hooks (in the kernel's order), iptables' INPUT chain (each backend), and the verdict
//! firewalld and ufw give for their own configuration; sshd's SYN-ACK is walked back out
//! through the output and postrouting chains. Where sshd listens on IPv6 and the machine
//! has a global IPv6 address,
//! the same SYN over IPv6 goes through nftables and ip6tables, and so do the neighbour
//! solicitation and advertisement without which no IPv6 packet arrives. A match this
//! code does not understand makes the outcome uncertain, never a guess. A source-address
//! match is judged for "an arbitrary client", which no specific allowlist contains; the
//! rules that allow only some sources are reported alongside. Where the arbitrary client
//! gets in, the SYN of each client known to have come in (sshd's log, the TCP table) is
//! judged too, with its own address: a ban or a drifted list singles it out.

mod firewalld;
mod iptables;
mod nft;
mod ufw;

use super::ssh_view::SshView;
use super::{Draft, RuleId};
use crate::facts::Facts;
use crate::openssh::patterns::in_network;
use std::net::IpAddr;

pub fn check(facts: &Facts, view: &SshView, findings: &mut Vec<Draft>) {
    let (ports, basis) = ssh_ports(view);
    let (interface, destination) = match primary_address(facts, Family::Ipv4) {
        Some((interface, address)) => (Some(interface), Some(address)),
        None => (None, None),
    };
    let ipv6 = primary_address(facts, Family::Ipv6);
    for port in ports {
        let packet = Packet {
            port,
            interface: interface.clone(),
            destination,
            source: None,
            family: Family::Ipv4,
            kind: Kind::Syn,
        };
        let mut port_findings = Vec::new();
        // The layers that stop IPv4: an inet table's finding says it for IPv6 too.
        let mut stopped = Vec::new();
        for judged in layers(facts, &packet) {
            let name = judged.layer.name.clone();
            let finding = finding_for(&judged.layer, port, judged.outcome, &judged.allowances);
            if finding.is_some() {
                stopped.push(name);
            }
            port_findings.extend(finding);
        }
        firewalld::check(facts, &packet, &mut port_findings);
        ufw::check(facts, &packet, &mut port_findings);
        let syn_blocked = |findings: &[Draft]| {
            findings
                .iter()
                .any(|finding| finding.severity == super::Severity::Critical)
        };
        // A SYN that gets in still needs sshd's answer to get out.
        if !syn_blocked(&port_findings) {
            let replies = check_replies(facts, &packet);
            stopped.extend(
                replies
                    .iter()
                    .filter_map(|finding| finding.var_value("firewall").map(str::to_string)),
            );
            port_findings.extend(replies);
        }
        let ipv4_open = port_findings.is_empty();
        // Where an arbitrary client gets in, a client known to have come in before may
        // still be singled out: banned, or left out of a list.
        if !syn_blocked(&port_findings) {
            port_findings.extend(check_known_clients(facts, &packet, ipv6.as_ref(), &stopped));
        }
        if let Some((interface, address)) = ipv6.clone().filter(|_| listens_on_ipv6(view, port)) {
            let packet = Packet {
                interface: Some(interface),
                destination: Some(address),
                family: Family::Ipv6,
                ..packet
            };
            port_findings.extend(check_ipv6(facts, &packet, ipv4_open, &stopped));
        }
        findings.extend(
            port_findings
                .into_iter()
                .map(|finding| finding.evidence(format!("SSH port {port} ({basis})"), None)),
        );
    }
}

/// The nftables and iptables layers' outcomes for a packet.
fn layers(facts: &Facts, packet: &Packet) -> Vec<Judged> {
    let mut judged = nft::judge(facts, packet);
    judged.extend(iptables::judge(facts, packet));
    judged
}

/// sshd's SYN-ACK to an arbitrary client, through the chains a leaving packet passes: a
/// drop there (an output policy of drop with no accept for established connections)
/// times every client out as surely as a drop of the SYN.
fn check_replies(facts: &Facts, syn: &Packet) -> Vec<Draft> {
    let reply = Packet {
        kind: Kind::SynAck,
        ..syn.clone()
    };
    let mut findings = Vec::new();
    for judged in layers(facts, &reply) {
        match judged.outcome {
            Outcome::Dropped(hit) if judged.allowances.is_empty() => {
                let finding = Draft::new(RuleId::FirewallDropsReplies)
                    .var("firewall", judged.layer.name.clone())
                    .var("port", syn.port.to_string())
                    .var("allow_command", judged.layer.allow_command.clone())
                    .var("list_command", judged.layer.list_command.clone());
                findings.push(evidence(finding, &hit, "drops sshd's SYN-ACK"));
            }
            outcome => {
                let layer = Layer {
                    name: format!("{} (sshd's replies)", judged.layer.name),
                    ..judged.layer
                };
                findings.extend(finding_for(&layer, syn.port, outcome, &judged.allowances));
            }
        }
    }
    findings
}

/// How many known clients' packets are judged: the newest ones.
const KNOWN_CLIENTS: usize = 8;

/// The SYN from each client that logged in before (sshd's log) or holds an SSH
/// connection now (the TCP table), through nftables and iptables: a layer that drops it
/// is named with the one address and the rule; one that decides it by a rule not
/// evaluated, unless that layer has its finding already (`stopped`), is uncertain for
/// that address. The live probes' own addresses are not clients.
fn check_known_clients(
    facts: &Facts,
    syn: &Packet,
    ipv6: Option<&(String, IpAddr)>,
    stopped: &[String],
) -> Vec<Draft> {
    let mut clients: Vec<super::logs::KnownClient> = super::logs::logged_in_clients(facts);
    for connection in facts.sockets.connections.iter().filter(|connection| {
        connection.local_port == syn.port
            && connection.state == crate::facts::ConnectionState::Established
    }) {
        let address = connection.remote_address.to_canonical();
        if !clients.iter().any(|known| known.address == address) {
            clients.push(super::logs::KnownClient {
                address,
                user: "a client".into(),
                seen: format!("connected now, from port {}", connection.remote_port),
            });
        }
    }
    let mut findings = Vec::new();
    for (newest, client) in clients
        .iter()
        .filter(|client| {
            !client.address.is_loopback() && !crate::facts::is_probe_address(client.address)
        })
        .take(KNOWN_CLIENTS)
        .enumerate()
        .map(|(index, client)| (index == 0, client))
    {
        let packet = match (client.address, ipv6) {
            (IpAddr::V4(_), _) => Packet {
                source: Some(client.address),
                ..syn.clone()
            },
            (IpAddr::V6(_), Some((interface, address))) => Packet {
                source: Some(client.address),
                interface: Some(interface.clone()),
                destination: Some(*address),
                family: Family::Ipv6,
                ..syn.clone()
            },
            (IpAddr::V6(_), None) => continue,
        };
        for judged in layers(facts, &packet) {
            let hit = match judged.outcome {
                // Dropped unless a condition (a shared rate) lets it by: the layer's
                // "allowed only" finding for any client says that.
                Outcome::Dropped(_) if !judged.allowances.is_empty() => continue,
                Outcome::Dropped(hit) => hit,
                Outcome::Uncertain(hit, why) if !stopped.contains(&judged.layer.name) => {
                    let layer = Layer {
                        allow_command: judged.layer.allow_client.clone().unwrap_or_default(),
                        ..judged.layer
                    };
                    let finding = uncertain(&layer, &format!("not evaluated: {why}"))
                        .var("port", syn.port.to_string())
                        .var("over", format!(" from {}", client.address));
                    findings.push(evidence(finding, &hit, "decides").evidence(
                        format!("{} logged in from {}", client.user, client.address),
                        Some(client.seen.clone()),
                    ));
                    break;
                }
                _ => continue,
            };
            let unblock = match banned_by_fail2ban(&hit) {
                true => format!("fail2ban-client unban {}", client.address),
                false => judged.layer.allow_client.clone().unwrap_or_default(),
            };
            let finding = Draft::new(RuleId::FirewallDropsKnownClient)
                .var("firewall", judged.layer.name.clone())
                .var("port", syn.port.to_string())
                .var("client", client.address.to_string())
                .var("user", client.user.clone())
                .var("seen", client.seen.clone())
                .var("unblock_command", unblock)
                .var("list_command", judged.layer.list_command.clone());
            let mut finding = evidence(finding, &hit, &format!("drops {}", client.address));
            // The address of the newest login is most likely the person's who asks.
            if newest {
                finding = finding.severity(super::Severity::Critical);
            }
            findings.push(finding.evidence(
                format!("{} logged in from {}", client.user, client.address),
                Some(client.seen.clone()),
            ));
            break;
        }
    }
    findings
}

/// fail2ban's chains (f2b-NAME) and nftables table (f2b-table), whose bans it lifts
/// itself: an accept put before them would keep it from banning that address again.
fn banned_by_fail2ban(hit: &Hit) -> bool {
    hit.chain.starts_with("f2b-") || hit.source.contains(" f2b-table ")
}

/// IPv6 as IPv4, from nftables and ip6tables (firewalld and ufw give both families the
/// same verdict): the SYN, then neighbour discovery, without which no IPv6 packet
/// arrives at all. Where IPv4 gets in, IPv6 alone blocked is a warning; where a layer in
/// `stopped` stops IPv6 too, its IPv4 finding (whose repair serves both) says it all.
fn check_ipv6(facts: &Facts, syn: &Packet, ipv4_open: bool, stopped: &[String]) -> Vec<Draft> {
    let over = |finding: Draft| {
        let finding = finding.var("over", " over IPv6").evidence(
            format!(
                "an IPv6 SYN to [{}]:{}",
                syn.destination.map_or("?".into(), |a| a.to_string()),
                syn.port
            ),
            None,
        );
        match ipv4_open {
            true => finding.severity(super::Severity::Warning),
            false => finding,
        }
    };
    let mut findings = Vec::new();
    let mut covered = false;
    for judged in layers(facts, syn) {
        let name = judged.layer.name.clone();
        let Some(finding) =
            finding_for(&judged.layer, syn.port, judged.outcome, &judged.allowances)
        else {
            continue;
        };
        if stopped.contains(&name) {
            covered = true;
            continue;
        }
        findings.push(over(finding));
    }
    // A SYN that does not get in needs no answer nor neighbour discovery to fail.
    if !findings.is_empty() || covered {
        return findings;
    }
    for reply in check_replies(facts, syn) {
        if !reply
            .var_value("firewall")
            .is_some_and(|name| stopped.iter().any(|known| known == name))
        {
            findings.push(over(reply));
        }
    }
    if !findings.is_empty() {
        return findings;
    }
    for kind in [Kind::NeighbourSolicitation, Kind::NeighbourAdvertisement] {
        let packet = Packet {
            kind,
            ..syn.clone()
        };
        for judged in layers(facts, &packet) {
            let Outcome::Dropped(hit) = judged.outcome else {
                continue;
            };
            if findings
                .iter()
                .any(|known| known.var_value("firewall") == Some(&judged.layer.name))
            {
                continue;
            }
            let finding = Draft::new(RuleId::FirewallDropsNeighbourDiscovery)
                .var("firewall", judged.layer.name.clone())
                .var("port", syn.port.to_string())
                .var("list_command", judged.layer.list_command.clone())
                .var(
                    "allow_command",
                    judged.layer.allow_neighbours.clone().unwrap_or_default(),
                );
            let finding = evidence(finding, &hit, &format!("drops an ICMPv6 {}", kind.name()));
            findings.push(match ipv4_open {
                true => finding.severity(super::Severity::Warning),
                false => finding,
            });
        }
    }
    findings
}

/// sshd listens on `port` at an IPv6 address other clients can reach.
fn listens_on_ipv6(view: &SshView, port: u16) -> bool {
    view.ssh_sockets.iter().any(|socket| {
        socket.port == port && socket.address.is_ipv6() && !socket.address.is_loopback()
    })
}

/// The ports SSH listens on, else the configured ones, else sshd's default; and which.
fn ssh_ports(view: &SshView) -> (Vec<u16>, &'static str) {
    let listening: Vec<u16> = {
        let mut ports: Vec<u16> = view
            .ssh_sockets
            .iter()
            .filter(|socket| !socket.address.is_loopback())
            .map(|socket| socket.port)
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    };
    if !listening.is_empty() {
        (listening, "sshd listens on it")
    } else if !view.configured_ports.is_empty() {
        (view.configured_ports.clone(), "configured in sshd_config")
    } else {
        (
            vec![22],
            "sshd's default: neither listening sockets nor a Port line known",
        )
    }
}

/// The interface remote clients reach, the first non-loopback one holding an address of
/// `family` (a global one for IPv6, not fe80::/10), and that address, where the packet
/// is sent.
fn primary_address(facts: &Facts, family: Family) -> Option<(String, IpAddr)> {
    let addresses = &facts.interfaces.addresses;
    addresses
        .iter()
        .filter(|address| !address.loopback && address.interface != "lo")
        .find(|address| match (family, address.address) {
            (Family::Ipv4, IpAddr::V4(_)) => true,
            (Family::Ipv6, IpAddr::V6(v6)) => (v6.segments()[0] & 0xffc0) != 0xfe80,
            _ => false,
        })
        .map(|address| (address.interface.clone(), address.address))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Ipv4,
    Ipv6,
}

/// What the packet is: the SSH connection's SYN, or one of the neighbour discovery
/// messages IPv6 needs before any packet of it can arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Syn,
    /// sshd's answer to the SYN, on its way out: conntrack state established, reply
    /// direction. Without it every client times out as if the SYN were dropped.
    SynAck,
    NeighbourSolicitation,
    NeighbourAdvertisement,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Syn => "SYN",
            Kind::SynAck => "SYN-ACK",
            Kind::NeighbourSolicitation => "neighbour solicitation",
            Kind::NeighbourAdvertisement => "neighbour advertisement",
        }
    }

    /// A TCP segment of the SSH connection (else ICMPv6).
    pub fn is_tcp(self) -> bool {
        matches!(self, Kind::Syn | Kind::SynAck)
    }

    /// The packet leaves this machine (output and postrouting hooks), rather than
    /// arriving (prerouting and input).
    pub fn outgoing(self) -> bool {
        self == Kind::SynAck
    }

    /// Its TCP flags, by nft's names; none for ICMPv6.
    pub fn tcp_flags(self) -> &'static [&'static str] {
        match self {
            Kind::Syn => &["syn"],
            Kind::SynAck => &["syn", "ack"],
            _ => &[],
        }
    }

    /// ICMPv6 type number and nft's name for it; None for the SYN.
    pub fn icmpv6_type(self) -> Option<(u64, &'static str, &'static str)> {
        match self {
            Kind::Syn | Kind::SynAck => None,
            Kind::NeighbourSolicitation => {
                Some((135, "nd-neighbor-solicit", "neighbour-solicitation"))
            }
            Kind::NeighbourAdvertisement => {
                Some((136, "nd-neighbor-advert", "neighbour-advertisement"))
            }
        }
    }
}

/// The simulated connection attempt: TCP SYN, ct state new, arbitrary IPv4 source.
#[derive(Debug, Clone)]
pub(super) struct Packet {
    pub port: u16,
    /// The interface it arrives on; None when this machine's interfaces are unknown.
    pub interface: Option<String>,
    /// The address it is sent to: that interface's; None when unknown.
    pub destination: Option<IpAddr>,
    /// The client it comes from: one known to have come in before; None for an
    /// arbitrary client, which no specific source list holds.
    pub source: Option<IpAddr>,
    pub family: Family,
    pub kind: Kind,
}

/// The source ports clients pick: Linux's default ephemeral range to the top (Windows
/// and macOS use 49152 and above).
const CLIENT_PORTS: std::ops::RangeInclusive<u16> = 32768..=65535;

/// The maximum segment size a client's SYN offers: a 1500-byte MTU (Ethernet, Azure's
/// networks) less 40 bytes of IPv4 and TCP headers. Rules on the MSS (iptables tcpmss,
/// nft tcp option maxseg) drop bogus values far below it.
const CLIENT_MSS: u16 = 1460;

/// "10.0.0.0/8" as its address parsed, as written, and its prefix length ("32" or "128"
/// for a bare address); None when the address is not one.
fn split_network(network: &str) -> Option<(IpAddr, &str, &str)> {
    let (address, prefix) = network.split_once('/').unwrap_or((network, ""));
    let parsed = address.parse::<IpAddr>().ok()?;
    let prefix = match prefix {
        "" if parsed.is_ipv4() => "32",
        "" => "128",
        prefix => prefix,
    };
    Some((parsed, address, prefix))
}

impl Packet {
    /// Is the packet sent to an address in `network` ("10.0.0.0/8", "10.0.0.4")? A
    /// remote client never sends to a loopback address, whatever else is unknown.
    fn sent_to(&self, network: &str) -> Test {
        let Some((parsed, address, prefix)) = split_network(network) else {
            return Test::Unknown(format!("destination {network}"));
        };
        match self.destination {
            Some(destination) => Test::from(in_network(destination, address, prefix)),
            None if parsed.is_loopback() && prefix.parse::<u8>().is_ok_and(|len| len >= 8) => {
                Test::No
            }
            None => Test::Unknown(format!(
                "destination {network}: this machine's address unknown"
            )),
        }
    }

    /// Does the packet come from `network` ("10.0.0.0/8", "192.0.2.5")? For an
    /// arbitrary client, only where the network holds every address.
    fn sent_from(&self, network: &str) -> Test {
        let Some((_, address, prefix)) = split_network(network) else {
            return match self.source {
                Some(_) => Test::Unknown(format!("source {network}")),
                None => Test::FromOnly(network.to_string()),
            };
        };
        match self.source {
            Some(source) => Test::from(in_network(source, address, prefix)),
            None if prefix == "0" => Test::Yes,
            None => Test::FromOnly(network.to_string()),
        }
    }

    /// Is the client's source port in `low..=high`? Yes when the range holds every port
    /// a client picks, no when it holds none; otherwise it depends on the client.
    fn source_port_in(&self, low: u16, high: u16) -> Test {
        if low <= *CLIENT_PORTS.start() && high >= *CLIENT_PORTS.end() {
            Test::Yes
        } else if high < 1024 || (low > high) {
            Test::No
        } else {
            Test::Unknown(format!(
                "source port {low}-{high}: it depends on the port the client picks"
            ))
        }
    }

    /// Does an interface name (with a trailing `*` or `+` wildcard) name ours?
    fn arrives_on(&self, pattern: &str) -> Test {
        let matches = |name: &str| match pattern.strip_suffix(['*', '+']) {
            Some(prefix) => name.starts_with(prefix),
            None => name == pattern,
        };
        match &self.interface {
            Some(name) => Test::from(matches(name)),
            // Remote clients never arrive on loopback, whatever else is unknown.
            None if matches("lo") => Test::No,
            None => Test::Unknown(format!("interface {pattern}: primary interface unknown")),
        }
    }
}

/// A rule, or a chain's policy, that the packet met: what evidence shows.
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub chain: String,
    pub text: String,
    /// Where it is: "nft inet filter input handle 7", "iptables-nft-save:12".
    pub source: String,
}

/// What one condition of a rule says about the packet.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Test {
    Yes,
    No,
    /// True only for clients in these sources.
    FromOnly(String),
    /// True for every client but these sources.
    ExceptFrom(String),
    Unknown(String),
}

impl From<bool> for Test {
    fn from(value: bool) -> Test {
        if value {
            Test::Yes
        } else {
            Test::No
        }
    }
}

impl Test {
    /// Whether any of `tests` holds: yes if one does, unknown if one is, else no.
    pub fn any(tests: impl IntoIterator<Item = Test>) -> Test {
        let mut unknown = None;
        for test in tests {
            match test {
                Test::Yes => return Test::Yes,
                Test::Unknown(why) => unknown = unknown.or(Some(why)),
                _ => {}
            }
        }
        unknown.map_or(Test::No, Test::Unknown)
    }

    pub fn negate(self) -> Test {
        match self {
            Test::Yes => Test::No,
            Test::No => Test::Yes,
            Test::FromOnly(sources) => Test::ExceptFrom(sources),
            Test::ExceptFrom(sources) => Test::FromOnly(sources),
            unknown @ Test::Unknown(_) => unknown,
        }
    }
}

/// The clients a rate limit with one bucket for all (iptables' `-m limit`, nft's
/// `limit rate` outside a meter or set) lets by, as "allowed only from" names them:
/// scanners hitting a public SSH port use the bucket up for everyone else.
pub(super) fn shared_rate(rate: &str, burst: &str) -> String {
    format!("clients within {rate} (burst {burst}), a rate all clients share")
}

/// The same for a count of open connections kept for all clients (nft's `ct count`
/// outside a meter or set).
pub(super) fn shared_count(count: &str) -> String {
    let plural = if count == "1" { "" } else { "s" };
    format!("clients up to {count} open connection{plural} at a time, a count all clients share")
}

/// Whether a whole rule applies to the packet: all its conditions together.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Applies {
    /// To an arbitrary client; not to `except` sources.
    Always {
        except: Vec<String>,
    },
    Never,
    OnlyFrom(String),
    Unknown(String),
}

impl Applies {
    /// The same as one condition.
    pub fn test(self) -> Test {
        match self {
            Applies::Always { except } if except.is_empty() => Test::Yes,
            Applies::Always { except } => Test::ExceptFrom(except.join(", ")),
            Applies::Never => Test::No,
            Applies::OnlyFrom(sources) => Test::FromOnly(sources),
            Applies::Unknown(why) => Test::Unknown(why),
        }
    }

    /// One false condition rules the rule out even when another is not understood.
    pub fn all(tests: impl IntoIterator<Item = Test>) -> Applies {
        let mut except = Vec::new();
        let mut only_from = Vec::new();
        let mut unknown = None;
        for test in tests {
            match test {
                Test::Yes => {}
                Test::No => return Applies::Never,
                Test::FromOnly(sources) => only_from.push(sources),
                Test::ExceptFrom(sources) => except.push(sources),
                Test::Unknown(why) => unknown = unknown.or(Some(why)),
            }
        }
        match (unknown, only_from.is_empty()) {
            (Some(why), _) => Applies::Unknown(why),
            (None, false) => Applies::OnlyFrom(only_from.join(" and ")),
            (None, true) => Applies::Always { except },
        }
    }
}

/// What a rule does when it applies.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Action {
    Accept,
    /// Drop or reject: the client gets no connection either way.
    Drop,
    Jump(String),
    Goto(String),
    Return,
    /// No verdict (counter, log): the next rule decides.
    Continue,
    Unknown(String),
}

/// A ruleset the walker can follow: each chain's rules judged for the packet.
pub(super) trait Chains {
    fn rules(&self, chain: &str) -> Option<Vec<(Hit, Applies, Action)>>;
}

/// How a chain ended for the packet.
#[derive(Debug)]
pub(super) enum Flow {
    Accept,
    Drop(Hit),
    Uncertain(Hit, String),
    /// Fell off the end or hit `return`: the caller continues.
    Return,
}

/// Sources a rule lets in although an arbitrary client is not among them.
#[derive(Debug, Clone)]
pub(super) struct Allowance {
    pub hit: Hit,
    pub sources: String,
}

/// nft's limit on nested jumps; deeper means a loop.
const MAX_DEPTH: usize = 16;

/// Unknown matches whose two outcomes are both followed, per walk: each doubles the work.
const MAX_BRANCHES: usize = 16;

/// `policy_drops`: for a base chain, whether falling off its end drops the packet.
fn walk_chain(
    chains: &impl Chains,
    chain: &str,
    allowances: &mut Vec<Allowance>,
    depth: usize,
    branches: &mut usize,
    policy_drops: Option<bool>,
) -> Flow {
    let unreadable = |why: String| {
        Flow::Uncertain(
            Hit {
                chain: chain.to_string(),
                text: format!("chain {chain}"),
                source: format!("chain {chain}"),
            },
            why,
        )
    };
    if depth > MAX_DEPTH {
        return unreadable(format!("jumps nest deeper than {MAX_DEPTH}"));
    }
    let Some(rules) = chains.rules(chain) else {
        return unreadable(format!("chain {chain} is jumped to but not listed"));
    };
    let walk = Walk {
        chains,
        depth,
        policy_drops,
    };
    walk.rules(&rules, allowances, branches)
}

/// One chain's walk: the ruleset, how deep in jumps, and for a base chain its policy.
struct Walk<'c, C: Chains> {
    chains: &'c C,
    depth: usize,
    policy_drops: Option<bool>,
}

impl<C: Chains> Walk<'_, C> {
    /// The packet through `rules`, in order. A rule whose match is not understood is
    /// followed both ways: where both end alike the walk knows the outcome; otherwise
    /// it says what each way gives ("dropped if it matches, accepted if not").
    fn rules(
        &self,
        rules: &[(Hit, Applies, Action)],
        allowances: &mut Vec<Allowance>,
        branches: &mut usize,
    ) -> Flow {
        for (index, (hit, applies, action)) in rules.iter().enumerate() {
            let rest = &rules[index + 1..];
            let except = match applies {
                Applies::Never => continue,
                Applies::Unknown(_) if *action == Action::Continue => continue,
                Applies::Unknown(why) if *branches >= MAX_BRANCHES => {
                    return Flow::Uncertain(hit.clone(), why.clone())
                }
                Applies::Unknown(why) => {
                    *branches += 1;
                    let mut taken_allowances = Vec::new();
                    let taken = match self.take(hit, action, &[], &mut taken_allowances, branches) {
                        Some(flow) => flow,
                        None => self.rules(rest, &mut taken_allowances, branches),
                    };
                    let mut skipped_allowances = Vec::new();
                    let skipped = self.rules(rest, &mut skipped_allowances, branches);
                    let (taken_end, skipped_end) = (self.ending(&taken), self.ending(&skipped));
                    if taken_end == skipped_end && !matches!(skipped, Flow::Uncertain(..)) {
                        allowances.extend(skipped_allowances);
                        return skipped;
                    }
                    return Flow::Uncertain(
                        hit.clone(),
                        format!("{why}: {taken_end} if it matches, {skipped_end} if not"),
                    );
                }
                Applies::OnlyFrom(sources) => {
                    if matches!(action, Action::Accept | Action::Jump(_) | Action::Goto(_)) {
                        allowances.push(Allowance {
                            hit: hit.clone(),
                            sources: sources.clone(),
                        });
                    }
                    continue;
                }
                Applies::Always { except } => except,
            };
            if let Some(flow) = self.take(hit, action, except, allowances, branches) {
                return flow;
            }
        }
        Flow::Return
    }

    /// What a rule that applies does: how the walk ends, or None to go on with the next
    /// rule (no verdict, or a jump that returned). `except`: sources a drop spares.
    fn take(
        &self,
        hit: &Hit,
        action: &Action,
        except: &[String],
        allowances: &mut Vec<Allowance>,
        branches: &mut usize,
    ) -> Option<Flow> {
        let depth = self.depth + 1;
        Some(match action {
            Action::Continue => return None,
            Action::Accept => Flow::Accept,
            Action::Drop => {
                allowances.extend(except.iter().map(|sources| Allowance {
                    hit: hit.clone(),
                    sources: sources.clone(),
                }));
                Flow::Drop(hit.clone())
            }
            Action::Return => Flow::Return,
            Action::Jump(target) => {
                match walk_chain(self.chains, target, allowances, depth, branches, None) {
                    Flow::Return => return None,
                    ended => ended,
                }
            }
            Action::Goto(target) => {
                walk_chain(self.chains, target, allowances, depth, branches, None)
            }
            Action::Unknown(why) => Flow::Uncertain(hit.clone(), why.clone()),
        })
    }

    /// How a walk ended, in a few words; falling off a base chain's end is its policy.
    fn ending(&self, flow: &Flow) -> &'static str {
        match (flow, self.policy_drops) {
            (Flow::Accept, _) | (Flow::Return, Some(false)) => "accepted",
            (Flow::Drop(_), _) | (Flow::Return, Some(true)) => "dropped",
            (Flow::Uncertain(..), _) => "not known",
            (Flow::Return, None) => "passed on",
        }
    }
}

/// How a base chain (or a whole firewall layer) ends for the packet.
#[derive(Debug)]
pub(super) enum Outcome {
    Accepted,
    Dropped(Hit),
    Uncertain(Hit, String),
}

/// Walks a base chain; falling off its end applies the policy.
pub(super) fn walk_base(
    chains: &impl Chains,
    chain: &str,
    policy_drops: bool,
    policy: Hit,
    allowances: &mut Vec<Allowance>,
) -> Outcome {
    let mut branches = 0;
    match walk_chain(
        chains,
        chain,
        allowances,
        0,
        &mut branches,
        Some(policy_drops),
    ) {
        Flow::Accept => Outcome::Accepted,
        Flow::Drop(hit) => Outcome::Dropped(hit),
        Flow::Uncertain(hit, why) => Outcome::Uncertain(hit, why),
        Flow::Return if policy_drops => Outcome::Dropped(policy),
        Flow::Return => Outcome::Accepted,
    }
}

/// One layer's outcome for a packet, with the sources it lets in besides.
pub(super) struct Judged {
    pub layer: Layer,
    pub outcome: Outcome,
    pub allowances: Vec<Allowance>,
}

/// What each layer fills into its findings.
pub(super) struct Layer {
    /// "nftables inet filter input", "iptables (nf_tables) filter INPUT", ...
    pub name: String,
    pub drop_rule: RuleId,
    /// Variables of the drop rule's text (table, chain, ...).
    pub vars: Vec<(&'static str, String)>,
    /// Shows the layer's rules, for an uncertain outcome.
    pub list_command: String,
    /// Lets every client in on the port.
    pub allow_command: String,
    /// Lets IPv6 neighbour discovery in, where the layer judges IPv6.
    pub allow_neighbours: Option<String>,
    /// Lets the packet's own client in on the port, where the packet has a known one.
    pub allow_client: Option<String>,
}

/// The finding for one layer's outcome: drop → the layer's critical rule; drop of all but
/// some sources → "allowed only from"; not understood → uncertain.
pub(super) fn finding_for(
    layer: &Layer,
    port: u16,
    outcome: Outcome,
    allowances: &[Allowance],
) -> Option<Draft> {
    let (mut finding, last, role) = match outcome {
        Outcome::Accepted => return None,
        Outcome::Dropped(hit) if allowances.is_empty() => {
            let mut finding = Draft::new(layer.drop_rule);
            for (name, value) in &layer.vars {
                finding = finding.var(name, value.clone());
            }
            (finding, hit, "drops it")
        }
        Outcome::Dropped(hit) => {
            let sources: Vec<&str> = allowances
                .iter()
                .map(|allowance| allowance.sources.as_str())
                .collect();
            let reason = format!("allowed only from {}", sources.join(", "));
            (uncertain(layer, &reason), hit, "drops it")
        }
        Outcome::Uncertain(hit, why) => (
            uncertain(layer, &format!("not evaluated: {why}")),
            hit,
            "decides",
        ),
    };
    for allowance in allowances {
        let role = format!("allows only {}", allowance.sources);
        finding = evidence(finding, &allowance.hit, &role);
    }
    Some(evidence(finding.var("port", port.to_string()), &last, role))
}

fn uncertain(layer: &Layer, reason: &str) -> Draft {
    Draft::new(RuleId::FirewallUncertain)
        .var("firewall", layer.name.clone())
        .var("reason", reason.to_string())
        .var("list_command", layer.list_command.clone())
        .var("allow_command", layer.allow_command.clone())
}

fn evidence(finding: Draft, hit: &Hit, role: &str) -> Draft {
    finding.evidence(
        format!("chain {} {role}: {}", hit.chain, hit.text),
        Some(hit.source.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_false_condition_beats_an_unknown_one() {
        let unknown = || Test::Unknown("fib".into());
        assert_eq!(Applies::all([unknown(), Test::No]), Applies::Never);
        assert_eq!(
            Applies::all([unknown(), Test::Yes]),
            Applies::Unknown("fib".into())
        );
        assert_eq!(
            Applies::all([Test::FromOnly("10.0.0.0/8".into()), Test::Yes]),
            Applies::OnlyFrom("10.0.0.0/8".into())
        );
        assert_eq!(
            Applies::all([Test::FromOnly("10.0.0.0/8".into()).negate()]),
            Applies::Always {
                except: vec!["10.0.0.0/8".into()]
            }
        );
    }

    #[test]
    fn interface_wildcards_and_unknown_interfaces() {
        let on = |interface: Option<&str>| Packet {
            port: 22,
            interface: interface.map(str::to_string),
            destination: None,
            source: None,
            family: Family::Ipv4,
            kind: Kind::Syn,
        };
        assert_eq!(on(Some("eth0")).arrives_on("eth*"), Test::Yes);
        assert_eq!(on(Some("eth0")).arrives_on("eth+"), Test::Yes);
        assert_eq!(on(Some("eth0")).arrives_on("lo"), Test::No);
        assert_eq!(on(None).arrives_on("lo"), Test::No);
        assert!(matches!(on(None).arrives_on("eth0"), Test::Unknown(_)));
    }
}
