//! nftables: the packet through every base chain on the input hook of ip and inet tables,
//! in priority order. Each base chain decides on its own: an accept ends only that chain,
//! a drop ends the packet.

use super::{
    walk_base, Action, Allowance, Applies, Chains, Family, Hit, Judged, Kind, Layer, Packet, Test,
};
use crate::facts::{Facts, IpFamily, NftChain, NftRule, NftTable};
use crate::rules::RuleId;
use serde_json::{Map, Value};

/// The hooks a packet for this machine passes, in the order the kernel runs them.
const HOOKS: &[&str] = &["prerouting", "input"];
/// The hooks a packet this machine sends passes.
const OUTGOING_HOOKS: &[&str] = &["output", "postrouting"];

/// Every base chain's outcome for the packet on the hooks it passes (prerouting and
/// input arriving, output and postrouting leaving), in the kernel's order.
pub fn judge(facts: &Facts, packet: &Packet) -> Vec<Judged> {
    let hooks = match packet.kind.outgoing() {
        true => OUTGOING_HOOKS,
        false => HOOKS,
    };
    let Some(ruleset) = &facts.firewall.nftables else {
        return Vec::new();
    };
    let own_family = match packet.family {
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ip6",
    };
    let mut base_chains: Vec<(&NftTable, &NftChain)> = ruleset
        .tables
        .iter()
        .filter(|table| table.family == own_family || table.family == "inet")
        .filter(|table| !judged_by_firewalld(facts, table))
        .flat_map(|table| {
            table
                .chains
                .iter()
                .filter(|chain| hooks.contains(&chain.hook.as_deref().unwrap_or_default()))
                // nat chains see only a connection's first packet, never a reply.
                .filter(|chain| {
                    !(packet.kind.outgoing() && chain.chain_type.as_deref() == Some("nat"))
                })
                .filter(move |chain| !judged_by_iptables(facts, table, chain))
                .map(move |chain| (table, chain))
        })
        .collect();
    // The kernel runs prerouting before input, each hook's chains by priority.
    base_chains.sort_by_key(|(_, chain)| {
        let hook = chain.hook.as_deref().unwrap_or_default();
        let order = hooks.iter().position(|known| *known == hook);
        (order, chain.priority.unwrap_or(0))
    });
    let mut judged = Vec::new();
    for (table, chain) in base_chains {
        let view = TableView { table, packet };
        let policy = chain.policy.as_deref().unwrap_or("accept");
        let policy_hit = Hit {
            chain: chain.name.clone(),
            text: format!("policy {policy}"),
            source: format!(
                "nft {} {} chain {} policy",
                table.family, table.name, chain.name
            ),
        };
        let mut allowances: Vec<Allowance> = Vec::new();
        let outcome = walk_base(
            &view,
            &chain.name,
            policy == "drop",
            policy_hit,
            &mut allowances,
        );
        let (family, name) = (&table.family, &table.name);
        let layer = Layer {
            name: match chain.hook.as_deref() {
                Some("input") | None => format!("nftables {family} {name} {}", chain.name),
                Some(hook) => format!("nftables {family} {name} {} ({hook})", chain.name),
            },
            drop_rule: RuleId::NftablesDrops,
            vars: vec![
                ("family", family.clone()),
                ("table", name.clone()),
                ("chain", chain.name.clone()),
            ],
            list_command: format!("nft -a list chain {family} {name} {}", chain.name),
            // sshd's replies leave from the port; clients' packets arrive to it.
            allow_command: format!(
                "nft insert rule {family} {name} {} tcp {} {} accept",
                chain.name,
                match packet.kind.outgoing() {
                    true => "sport",
                    false => "dport",
                },
                packet.port
            ),
            allow_neighbours: Some(format!(
                "nft insert rule {family} {name} {} icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept",
                chain.name
            )),
            allow_client: packet.source.map(|client| {
                let protocol = match client {
                    std::net::IpAddr::V4(_) => "ip",
                    std::net::IpAddr::V6(_) => "ip6",
                };
                format!(
                    "nft insert rule {family} {name} {} {protocol} saddr {client} tcp dport {} accept",
                    chain.name, packet.port
                )
            }),
        };
        judged.push(Judged {
            layer,
            outcome,
            allowances,
        });
    }
    judged
}

/// A base chain iptables-nft made, judged from iptables-save and fixed with iptables:
/// iptables-nft-save lists it in a table of the same name. A chain of a native nftables
/// table that happens to be called "filter" is not listed there (iptables-nft-save
/// prints the table's skeleton and says its base chains are incompatible): nft judges it.
fn judged_by_iptables(facts: &Facts, table: &NftTable, chain: &NftChain) -> bool {
    let family = match table.family.as_str() {
        "ip" => IpFamily::Ipv4,
        "ip6" => IpFamily::Ipv6,
        _ => return false,
    };
    facts.firewall.iptables.iter().any(|ruleset| {
        ruleset.family == family
            && ruleset.backend.as_deref() == Some("nf_tables")
            && ruleset
                .tables
                .iter()
                .filter(|saved| saved.name == table.name)
                .any(|saved| saved.chains.iter().any(|listed| listed.name == chain.name))
    })
}

/// firewalld's own table, judged from its zones.
fn judged_by_firewalld(facts: &Facts, table: &NftTable) -> bool {
    table.name == "firewalld"
        && facts
            .firewall
            .firewalld
            .as_ref()
            .is_some_and(|firewalld| firewalld.running)
}

struct TableView<'a> {
    table: &'a NftTable,
    packet: &'a Packet,
}

impl Chains for TableView<'_> {
    fn rules(&self, chain: &str) -> Option<Vec<(Hit, Applies, Action)>> {
        let chain = self.table.chains.iter().find(|known| known.name == chain)?;
        Some(
            chain
                .rules
                .iter()
                .map(|rule| self.judge(chain, rule))
                .collect(),
        )
    }
}

/// What the left side of a match reads from the packet.
enum Field {
    /// A value of the packet: the port, "tcp" (6), "new", "ipv4" (2), ...
    Value(Option<&'static str>, Option<u64>),
    /// The interface by name (`iifname`, `oifname`): any string is a name.
    Interface,
    /// The interface by index (`iif`, `oif`): nft shows the name of the interface that
    /// has the index, and the bare number only when none has it any more.
    InterfaceIndex,
    /// The packet's TCP flags, after any mask.
    Flags(Vec<&'static str>),
    Source,
    Destination,
    /// The client's port: one it picks from the ephemeral range.
    ClientPort,
    /// Several fields at once (`ip saddr . tcp dport`), matched against concatenations.
    Concat(Vec<Field>),
    /// A header the packet does not have (ip6, udp, icmp): the rule cannot match.
    Absent,
    Unknown(String),
}

/// Headers no packet here carries; nft adds an implicit protocol check.
const ABSENT_HEADERS: &[&str] = &[
    "udp", "udplite", "icmp", "sctp", "dccp", "ah", "esp", "comp", "arp", "igmp",
];

impl TableView<'_> {
    fn judge(&self, chain: &NftChain, rule: &NftRule) -> (Hit, Applies, Action) {
        let hit = Hit {
            chain: chain.name.clone(),
            text: rule.text.clone().unwrap_or_else(|| rule.expr.clone()),
            source: format!(
                "nft {} {} chain {} handle {}",
                self.table.family, self.table.name, chain.name, rule.handle
            ),
        };
        let mut tests = Vec::new();
        let mut action = Action::Continue;
        let statements = serde_json::from_str::<Value>(&rule.expr).unwrap_or_default();
        for statement in statements.as_array().into_iter().flatten() {
            let Some((kind, body)) = statement
                .as_object()
                .and_then(|object| object.iter().next())
            else {
                tests.push(Test::Unknown(format!("statement {statement}")));
                continue;
            };
            if let Some(verdict) = verdict_of(kind, body) {
                action = verdict;
                continue;
            }
            match kind.as_str() {
                "match" => tests.push(self.test_match(body)),
                // An update of a set or meter with a limit or a count matches only past
                // it; one without is a side effect, and the next statement decides.
                "set" | "meter" => {
                    if let Some(over) = rate_or_count(body) {
                        tests.push(Test::from(!over));
                    }
                }
                // Side effects only: the next statement decides.
                "counter" | "log" | "mangle" | "notrack" => {}
                // "over" matches only above the rate, which one new connection is not.
                "limit" if body.get("inv") == Some(&Value::Bool(true)) => tests.push(Test::No),
                "limit" if self.packet.kind.outgoing() => {}
                "limit" => tests.push(Test::FromOnly(shared_limit(body))),
                // Outside a meter or set, a count of the connections the rule let open,
                // whoever opened them: like a limit, "over" matches only past it.
                "ct count" if body.get("inv") == Some(&Value::Bool(true)) => tests.push(Test::No),
                "ct count" if self.packet.kind.outgoing() => {}
                "ct count" => tests.push(Test::FromOnly(super::shared_count(
                    &body.get("val").map_or("?".into(), Value::to_string),
                ))),
                "vmap" => match self.lookup_vmap(body) {
                    Ok(Some(verdict)) => action = verdict,
                    Ok(None) => tests.push(Test::No),
                    Err(why) => tests.push(Test::Unknown(why)),
                },
                "xt" => tests.push(Test::Unknown(format!(
                    "iptables extension {} (see iptables-save)",
                    body.get("name").and_then(Value::as_str).unwrap_or("?")
                ))),
                other => tests.push(Test::Unknown(format!("statement {other}"))),
            }
        }
        (hit, Applies::all(tests), action)
    }

    fn test_match(&self, body: &Value) -> Test {
        let op = body.get("op").and_then(Value::as_str).unwrap_or("==");
        let right = &body["right"];
        let field = self.field(&body["left"]);
        let equal = match &field {
            Field::Absent => return Test::No,
            Field::Unknown(why) => return Test::Unknown(why.clone()),
            Field::Source => return self.source_test(op, right),
            Field::Destination => {
                let sent = self.destination_test(right);
                return match op {
                    "==" | "in" => sent,
                    "!=" => sent.negate(),
                    other => Test::Unknown(format!("ip daddr {other}")),
                };
            }
            Field::Concat(fields) => {
                let found = self.concat_test(fields, right);
                return match op {
                    "==" | "in" => found,
                    "!=" => found.negate(),
                    other => Test::Unknown(format!("concatenation {other}")),
                };
            }
            Field::Flags(flags) => return flags_test(flags, op, right),
            _ => self.contains(&field, right),
        };
        match op {
            "==" | "in" => equal,
            "!=" => equal.negate(),
            "<" | ">" | "<=" | ">=" => ordered(&field, op, right),
            other => Test::Unknown(format!("operator {other}")),
        }
    }

    fn field(&self, left: &Value) -> Field {
        if let Some(key) = left.pointer("/meta/key").and_then(Value::as_str) {
            return match key {
                "l4proto" => self.l4proto(),
                "nfproto" => match self.packet.family {
                    Family::Ipv4 => Field::Value(Some("ipv4"), Some(2)),
                    Family::Ipv6 => Field::Value(Some("ipv6"), Some(10)),
                },
                "protocol" => match self.packet.family {
                    Family::Ipv4 => Field::Value(Some("ip"), Some(0x0800)),
                    Family::Ipv6 => Field::Value(Some("ip6"), Some(0x86dd)),
                },
                // On the way out a packet has an output interface and no input one.
                "iifname" | "iif" if self.packet.kind.outgoing() => Field::Absent,
                "oifname" if self.packet.kind.outgoing() => Field::Interface,
                "oif" if self.packet.kind.outgoing() => Field::InterfaceIndex,
                "iifname" => Field::Interface,
                "iif" => Field::InterfaceIndex,
                // A neighbour solicitation goes to the solicited-node multicast address.
                "pkttype" => match self.packet.kind {
                    Kind::NeighbourSolicitation => Field::Value(Some("multicast"), Some(2)),
                    _ => Field::Value(Some("host"), Some(0)),
                },
                "iiftype" => Field::Value(Some("ether"), Some(1)),
                other => Field::Unknown(format!("meta {other}")),
            };
        }
        if let Some(payload) = left.get("payload") {
            let protocol = payload
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("");
            let name = payload.get("field").and_then(Value::as_str).unwrap_or("");
            let family = self.packet.family;
            let kind = self.packet.kind;
            let syn = kind.is_tcp();
            // Field::Source is the client's side, Field::Destination this machine's:
            // sshd's reply goes from this machine to the client.
            let (client, server) = match kind.outgoing() {
                false => (Field::Source, Field::Destination),
                true => (Field::Destination, Field::Source),
            };
            return match (protocol, name) {
                ("ip", _) if family == Family::Ipv6 => Field::Absent,
                ("ip6", _) if family == Family::Ipv4 => Field::Absent,
                ("tcp" | "th", _) if !syn => Field::Absent,
                ("icmpv6", _) if syn => Field::Absent,
                ("tcp" | "th", "sport") if kind.outgoing() => {
                    Field::Value(None, Some(u64::from(self.packet.port)))
                }
                ("tcp" | "th", "dport") if kind.outgoing() => Field::ClientPort,
                ("icmpv6", "type") => match self.packet.kind.icmpv6_type() {
                    Some((number, name, _)) => Field::Value(Some(name), Some(number)),
                    None => Field::Absent,
                },
                ("icmpv6", "code") => Field::Value(None, Some(0)),
                ("tcp" | "th", "dport") => Field::Value(None, Some(u64::from(self.packet.port))),
                ("tcp", "flags") => Field::Flags(kind.tcp_flags().to_vec()),
                ("ip", "protocol") | ("ip6", "nexthdr") => self.l4proto(),
                ("ip" | "ip6", "saddr") => client,
                ("ip" | "ip6", "daddr") => server,
                // Don't Fragment set, no offset: a SYN is never a fragment.
                ("ip", "frag-off") => Field::Value(None, Some(0x4000)),
                ("ip", "version") => Field::Value(None, Some(4)),
                ("ip6", "version") => Field::Value(None, Some(6)),
                // Neighbour discovery is valid only from the link: hop limit 255.
                ("ip6", "hoplimit") if !syn => Field::Value(None, Some(255)),
                ("tcp" | "th", "sport") => Field::ClientPort,
                (protocol, _) if ABSENT_HEADERS.contains(&protocol) => Field::Absent,
                _ => Field::Unknown(format!("{protocol} {name}").trim().to_string()),
            };
        }
        if let Some(option) = left.get("tcp option") {
            let name = option.get("name").and_then(Value::as_str).unwrap_or("");
            let field = option.get("field").and_then(Value::as_str).unwrap_or("");
            return match (self.packet.kind.is_tcp(), name, field) {
                (false, _, _) => Field::Absent,
                (true, "maxseg", "size") => Field::Value(None, Some(u64::from(super::CLIENT_MSS))),
                (true, name, field) => Field::Unknown(format!("tcp option {name} {field}")),
            };
        }
        if let Some(key) = left.pointer("/ct/key").and_then(Value::as_str) {
            return match key {
                // Linux does not track neighbour discovery.
                "state" if !self.packet.kind.is_tcp() => Field::Value(Some("untracked"), None),
                // The reply makes the entry established.
                "state" if self.packet.kind.outgoing() => Field::Value(Some("established"), None),
                "state" => Field::Value(Some("new"), None),
                // The reply's entry is confirmed and has seen a reply (set before the
                // filter hooks run).
                "status" if self.packet.kind.outgoing() => {
                    Field::Flags(vec!["confirmed", "seen-reply"])
                }
                // A first packet's conntrack entry: not yet confirmed, no reply seen,
                // no NAT: no status bit is set.
                "status" => Field::Flags(Vec::new()),
                "direction" if self.packet.kind.outgoing() => Field::Value(Some("reply"), Some(1)),
                "direction" => Field::Value(Some("original"), Some(0)),
                other => Field::Unknown(format!("ct {other}")),
            };
        }
        if let Some(fib) = left.get("fib") {
            return self.fib(fib);
        }
        if let Some(Value::Array(parts)) = left.get("concat") {
            return Field::Concat(parts.iter().map(|part| self.field(part)).collect());
        }
        if let Some([masked, mask]) = left.get("&").and_then(Value::as_array).map(Vec::as_slice) {
            if masked.pointer("/payload/field").and_then(Value::as_str) == Some("flags") {
                if !self.packet.kind.is_tcp() {
                    return Field::Absent;
                }
                let mask = names(mask);
                return Field::Flags(
                    self.packet
                        .kind
                        .tcp_flags()
                        .iter()
                        .copied()
                        .filter(|flag| mask.contains(&flag.to_string()))
                        .collect(),
                );
            }
            return match (self.field(masked), mask.as_u64()) {
                (Field::Absent, _) => Field::Absent,
                (Field::Value(_, Some(value)), Some(mask)) => {
                    Field::Value(None, Some(value & mask))
                }
                // nft lists a contiguous mask as a prefix: this one picks scattered bits
                // (`ip saddr & 0.0.0.255 == 0.0.0.3`). Which sources it holds is a
                // condition on the source all the same; whether one given address is among
                // them is not modelled.
                (Field::Source, _) if self.packet.source.is_some() => {
                    Field::Unknown(format!("source address masked by {}", describe(mask)))
                }
                (Field::Source, _) => Field::Source,
                (Field::Unknown(why), _) => Field::Unknown(why),
                _ => Field::Unknown(format!("masked {masked}")),
            };
        }
        let kind = left
            .as_object()
            .and_then(|object| object.keys().next().cloned());
        Field::Unknown(format!(
            "{} expression",
            kind.unwrap_or_else(|| left.to_string())
        ))
    }

    /// The elements of the named set or map that `reference` ("@name") names; None for
    /// a reference to none listed, or no reference at all.
    fn named(&self, reference: &str) -> Option<&[Value]> {
        let name = reference.strip_prefix('@')?;
        let set = self.table.sets.iter().find(|set| set.name == name)?;
        Some(&set.elements)
    }

    /// Is the field's value in `right` (a value, a range, a list, a set, or `@set`)?
    fn contains(&self, field: &Field, right: &Value) -> Test {
        match right {
            Value::String(name) if name.starts_with('@') => match self.named(name) {
                Some(elements) => self.any(field, elements),
                None => Test::Unknown(format!("set {name} not listed")),
            },
            Value::Array(items) => self.any(field, items),
            Value::Object(object) if object.contains_key("set") => match &object["set"] {
                Value::Array(items) => self.any(field, items),
                single => self.element(field, single),
            },
            element => self.element(field, element),
        }
    }

    fn any(&self, field: &Field, elements: &[Value]) -> Test {
        let mut unknown = None;
        for element in elements {
            match self.element(field, element) {
                Test::Yes => return Test::Yes,
                Test::Unknown(why) => unknown = unknown.or(Some(why)),
                _ => {}
            }
        }
        unknown.map_or(Test::No, Test::Unknown)
    }

    fn element(&self, field: &Field, element: &Value) -> Test {
        if let Some(value) = element.pointer("/elem/val") {
            return self.element(field, value);
        }
        match (field, element) {
            (Field::Interface, Value::String(pattern)) => self.packet.arrives_on(pattern),
            // An index no interface has (the NIC the rule was written for is gone, or
            // came back under a new index): no packet arrives or leaves through it.
            (Field::InterfaceIndex, Value::Number(_)) => Test::No,
            (Field::InterfaceIndex, Value::String(index))
                if index.bytes().all(|byte| byte.is_ascii_digit()) =>
            {
                Test::No
            }
            (Field::InterfaceIndex, Value::String(name)) => self.packet.arrives_on(name),
            (Field::ClientPort, Value::Number(port)) => match port.as_u64().map(u16::try_from) {
                Some(Ok(port)) => self.packet.source_port_in(port, port),
                _ => Test::Unknown(format!("port {element}")),
            },
            (Field::ClientPort, Value::Object(object)) if object.contains_key("range") => {
                match bounds(&object["range"]) {
                    Some((low, high)) => match (u16::try_from(low), u16::try_from(high)) {
                        (Ok(low), Ok(high)) => self.packet.source_port_in(low, high),
                        _ => Test::Unknown(format!("range {element}")),
                    },
                    None => Test::Unknown(format!("range {element}")),
                }
            }
            (Field::Value(_, Some(number)), Value::Object(object))
                if object.contains_key("range") =>
            {
                match bounds(&object["range"]) {
                    Some((low, high)) => Test::from((low..=high).contains(number)),
                    None => Test::Unknown(format!("range {element}")),
                }
            }
            // `fib ... oif missing` compares with false.
            (Field::Value(_, Some(number)), Value::Bool(exists)) => {
                Test::from((*number != 0) == *exists)
            }
            (Field::Value(_, number), Value::Number(value)) => {
                Test::from(number.is_some() && value.as_u64() == *number)
            }
            (Field::Value(name, number), Value::String(value)) => Test::from(
                name.is_some_and(|name| name.eq_ignore_ascii_case(value))
                    || (number.is_some() && value.parse::<u64>().ok() == *number),
            ),
            _ => Test::Unknown(format!("value {element}")),
        }
    }

    /// The layer-4 protocol: TCP for the SYN, ICMPv6 for neighbour discovery.
    fn l4proto(&self) -> Field {
        match self.packet.kind.is_tcp() {
            true => Field::Value(Some("tcp"), Some(6)),
            false => Field::Value(Some("ipv6-icmp"), Some(58)),
        }
    }

    /// A routing lookup for the packet (`fib`): a client's source is reachable back
    /// through the interface it came in on (what rpfilter checks), its destination is
    /// this machine's own address, its source an ordinary unicast one.
    fn fib(&self, fib: &Value) -> Field {
        let result = fib.get("result").and_then(Value::as_str).unwrap_or("");
        let flags = names(fib.get("flags").unwrap_or(&Value::Null));
        let has = |flag: &str| flags.iter().any(|known| known == flag);
        match result {
            "oif" | "oifname" if has("saddr") && has("iif") => {
                Field::Value(Some("present"), Some(1))
            }
            "type" if has("daddr") => Field::Value(Some("local"), None),
            "type" if has("saddr") => Field::Value(Some("unicast"), None),
            _ => Field::Unknown(format!("fib {} {result}", flags.join(" . "))),
        }
    }

    /// Is the packet's destination in `right` (an address, a prefix, a range, a list, a
    /// set or `@set`)?
    fn destination_test(&self, right: &Value) -> Test {
        self.address_test(right, "ip daddr", &|network| self.packet.sent_to(network))
    }

    /// `ip saddr X`: for a known client, whether X holds its address; for an arbitrary
    /// one, only if X is everyone.
    fn source_test(&self, op: &str, right: &Value) -> Test {
        if self.packet.source.is_none() {
            return arbitrary_source_test(op, right);
        }
        let from = self.address_test(right, "ip saddr", &|network| self.packet.sent_from(network));
        match op {
            "==" | "in" => from,
            "!=" => from.negate(),
            other => Test::Unknown(format!("ip saddr {other}")),
        }
    }

    /// Whether an address expression (an address, a prefix, a range, a set, a named
    /// set) holds the packet's address that `holds` checks against one network.
    fn address_test(&self, right: &Value, what: &str, holds: &dyn Fn(&str) -> Test) -> Test {
        match right {
            Value::String(name) if name.starts_with('@') => match self.named(name) {
                Some(elements) => Test::any(
                    elements
                        .iter()
                        .map(|one| self.address_test(one, what, holds)),
                ),
                None => Test::Unknown(format!("set {name} not listed")),
            },
            Value::String(address) => holds(address),
            Value::Array(items) => {
                Test::any(items.iter().map(|one| self.address_test(one, what, holds)))
            }
            Value::Object(object) => {
                if let Some(inner) = right.pointer("/elem/val") {
                    return self.address_test(inner, what, holds);
                }
                if let Some(items) = object.get("set") {
                    return self.address_test(items, what, holds);
                }
                match (
                    right.pointer("/prefix/addr").and_then(Value::as_str),
                    right.pointer("/prefix/len").and_then(Value::as_u64),
                ) {
                    (Some(address), Some(length)) => holds(&format!("{address}/{length}")),
                    _ => Test::Unknown(format!("{what} {right}")),
                }
            }
            other => Test::Unknown(format!("{what} {other}")),
        }
    }

    /// Is the concatenation of `fields` one of `right`'s elements? An element whose
    /// source part names sources lets only those in.
    fn concat_test(&self, fields: &[Field], right: &Value) -> Test {
        let elements: Vec<&Value> = match right {
            Value::String(name) if name.starts_with('@') => match self.named(name) {
                Some(elements) => elements.iter().collect(),
                None => return Test::Unknown(format!("set {name} not listed")),
            },
            Value::Object(object) if object.contains_key("set") => match &object["set"] {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            },
            single => vec![single],
        };
        let mut only_from = Vec::new();
        let mut unknown = None;
        for element in elements {
            let element = element.pointer("/elem/val").unwrap_or(element);
            let Some(parts) = element.get("concat").and_then(Value::as_array) else {
                unknown = unknown.or(Some(format!("concatenation element {element}")));
                continue;
            };
            if parts.len() != fields.len() {
                unknown = unknown.or(Some(format!("concatenation element {element}")));
                continue;
            }
            let tests = fields.iter().zip(parts).map(|(field, part)| match field {
                Field::Source => self.source_test("==", part),
                Field::Destination => self.destination_test(part),
                other => self.contains(other, part),
            });
            match Applies::all(tests) {
                Applies::Always { .. } => return Test::Yes,
                Applies::OnlyFrom(sources) => only_from.push(sources),
                Applies::Unknown(why) => unknown = unknown.or(Some(why)),
                Applies::Never => {}
            }
        }
        match (unknown, only_from.is_empty()) {
            (Some(why), _) => Test::Unknown(why),
            (None, false) => Test::FromOnly(only_from.join(", ")),
            (None, true) => Test::No,
        }
    }

    /// A verdict map: the verdict of the element the packet's value hits, None when none.
    fn lookup_vmap(&self, body: &Value) -> Result<Option<Action>, String> {
        let field = self.field(&body["key"]);
        match &field {
            Field::Absent => return Ok(None),
            Field::Unknown(why) => return Err(why.clone()),
            Field::Source => return Err("verdict map on the source address".into()),
            Field::Flags(_) => return Err("verdict map on TCP flags".into()),
            _ => {}
        }
        let pairs = match &body["data"] {
            Value::String(name) => self.named(name),
            data => data
                .pointer("/set")
                .and_then(Value::as_array)
                .map(Vec::as_slice),
        };
        let Some(pairs) = pairs else {
            return Err(format!("verdict map {}", body["data"]));
        };
        for pair in pairs {
            let Some([key, verdict]) = pair.as_array().map(Vec::as_slice) else {
                return Err(format!("verdict map element {pair}"));
            };
            match self.contains(&field, key) {
                Test::Yes => {
                    let verdict = verdict
                        .as_object()
                        .and_then(|object| object.iter().next())
                        .and_then(|(kind, body)| verdict_of(kind, body));
                    return verdict
                        .map(Some)
                        .ok_or(format!("verdict map element {pair}"));
                }
                Test::Unknown(why) => return Err(why),
                _ => {}
            }
        }
        Ok(None)
    }
}

/// A set or meter update's limit or connection count, anywhere in its statement: whether
/// it matches only over the rate or count ("over"). None without either.
fn rate_or_count(body: &Value) -> Option<bool> {
    match body {
        Value::Object(object) => {
            for key in ["limit", "ct count"] {
                if let Some(limit) = object.get(key) {
                    return Some(limit.get("inv") == Some(&Value::Bool(true)));
                }
            }
            object.values().find_map(rate_or_count)
        }
        Value::Array(items) => items.iter().find_map(rate_or_count),
        _ => None,
    }
}

fn verdict_of(kind: &str, body: &Value) -> Option<Action> {
    let target = || {
        body.get("target")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Some(match kind {
        "accept" => Action::Accept,
        "drop" | "reject" => Action::Drop,
        "jump" => Action::Jump(target()),
        "goto" => Action::Goto(target()),
        "return" => Action::Return,
        "continue" => Action::Continue,
        "queue" => Action::Unknown("queue: a userspace program decides".into()),
        _ => return None,
    })
}

fn bounds(range: &Value) -> Option<(u64, u64)> {
    let [low, high] = range.as_array()?.as_slice() else {
        return None;
    };
    Some((low.as_u64()?, high.as_u64()?))
}

fn ordered(field: &Field, op: &str, right: &Value) -> Test {
    let (Field::Value(_, Some(value)), Some(bound)) = (field, right.as_u64()) else {
        return Test::Unknown(format!("comparison {op} {right}"));
    };
    Test::from(match op {
        "<" => *value < bound,
        ">" => *value > bound,
        "<=" => *value <= bound,
        _ => *value >= bound,
    })
}

/// Strings of a value or a list: "syn" → ["syn"], ["fin", "syn"] → both.
fn names(value: &Value) -> Vec<String> {
    match value {
        Value::String(name) => vec![name.clone()],
        Value::Array(items) => items.iter().flat_map(names).collect(),
        Value::Object(object) => object.get("set").map(names).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// `tcp flags syn` (op "in": any of them set) or `tcp flags & (fin|syn) == syn` (exact).
fn flags_test(flags: &[&str], op: &str, right: &Value) -> Test {
    let wanted = names(right);
    if wanted.is_empty() {
        return Test::Unknown(format!("tcp flags {right}"));
    }
    let exact = || {
        let mut ours: Vec<String> = flags.iter().map(|flag| flag.to_string()).collect();
        let mut theirs = wanted.clone();
        ours.sort();
        theirs.sort();
        ours == theirs
    };
    match op {
        "in" => Test::from(wanted.iter().any(|flag| flags.contains(&flag.as_str()))),
        "==" => Test::from(exact()),
        "!=" => Test::from(!exact()),
        other => Test::Unknown(format!("tcp flags {other} {right}")),
    }
}

/// `ip saddr X` for an arbitrary client: in no specific X, but X = 0.0.0.0/0 is everyone.
fn arbitrary_source_test(op: &str, right: &Value) -> Test {
    let everyone = right.pointer("/prefix/len").and_then(Value::as_u64) == Some(0);
    let sources = describe(right);
    match (op, everyone) {
        ("==" | "in", true) => Test::Yes,
        ("!=", true) => Test::No,
        ("==" | "in", false) => Test::FromOnly(sources),
        ("!=", false) => Test::ExceptFrom(sources),
        (other, _) => Test::Unknown(format!("ip saddr {other} {sources}")),
    }
}

/// A `limit` statement's rate and burst as nft prints them: "3/minute", "10 kbytes/second".
fn shared_limit(limit: &Value) -> String {
    let text = |key: &str| match limit.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => "?".into(),
    };
    let unit = |key: &str| {
        limit
            .get(key)
            .and_then(Value::as_str)
            .map(|unit| format!(" {unit}"))
            .unwrap_or_default()
    };
    super::shared_rate(
        &format!("{}{}/{}", text("rate"), unit("rate_unit"), text("per")),
        &format!("{}{}", text("burst"), unit("burst_unit")),
    )
}

/// An address expression as nft prints it: 10.0.0.0/8, 192.0.2.1-192.0.2.9, { a, b }, @set.
fn describe(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Object(object) => describe_object(object, value),
        Value::Array(items) => items.iter().map(describe).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn describe_object(object: &Map<String, Value>, value: &Value) -> String {
    if let (Some(address), Some(length)) = (
        value.pointer("/prefix/addr").and_then(Value::as_str),
        value.pointer("/prefix/len"),
    ) {
        return format!("{address}/{length}");
    }
    if let Some(Value::Array(ends)) = object.get("range") {
        return ends.iter().map(describe).collect::<Vec<_>>().join("-");
    }
    if let Some(items) = object.get("set") {
        return format!("{{ {} }}", describe(items));
    }
    if let Some(inner) = value.pointer("/elem/val") {
        return describe(inner);
    }
    value.to_string()
}
