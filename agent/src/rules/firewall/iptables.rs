//! iptables: the packet through the base chains it passes (raw and mangle PREROUTING,
//! mangle and filter INPUT) of each ruleset of its family that `*-save` printed
//! (nf_tables and legacy backends each filter on their own).

use super::{
    walk_base, Action, Allowance, Applies, Chains, Family, Hit, Judged, Kind, Layer, Packet, Test,
};
use crate::facts::{Facts, IpFamily, IptablesRuleset, IptablesTable};
use crate::rules::RuleId;

/// Targets that log or mark and let the next rule decide.
const NON_TERMINATING: &[&str] = &["LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "TRACE", "AUDIT"];
/// Match modules whose options are judged below, or that only annotate.
const KNOWN_MODULES: &[&str] = &[
    "tcp",
    "multiport",
    "conntrack",
    "state",
    "comment",
    "limit",
    "set",
    "recent",
    "hashlimit",
    "connlimit",
    "addrtype",
    "icmp6",
    "tcpmss",
];
/// Options that only name or tune (a list, a table, a mask) and take one value.
const TUNING_OPTIONS: &[&str] = &[
    "--comment",
    "--limit-burst",
    "--name",
    "--seconds",
    "--mask",
    "--hashlimit-burst",
    "--hashlimit-mode",
    "--hashlimit-srcmask",
    "--hashlimit-dstmask",
    "--hashlimit-name",
    "--hashlimit-htable-size",
    "--hashlimit-htable-max",
    "--hashlimit-htable-expire",
    "--hashlimit-htable-gcinterval",
    "--connlimit-mask",
];
/// Options that only name or tune and take no value.
const TUNING_FLAGS: &[&str] = &[
    "--rsource",
    "--rdest",
    "--rttl",
    "--reap",
    "--connlimit-saddr",
    "--connlimit-daddr",
];

/// The base chains an arriving packet for this host passes, in the kernel's order
/// (raw, then mangle, at prerouting; mangle, then filter, at input): a DROP in any of
/// them ends it. The nat table cannot drop, and SSH's packets are not redirected here.
const BASE_CHAINS: &[(&str, &str)] = &[
    ("raw", "PREROUTING"),
    ("mangle", "PREROUTING"),
    ("mangle", "INPUT"),
    ("filter", "INPUT"),
];
/// The base chains a packet this machine sends passes (nat's see no reply).
const OUTGOING_CHAINS: &[(&str, &str)] = &[
    ("raw", "OUTPUT"),
    ("mangle", "OUTPUT"),
    ("filter", "OUTPUT"),
    ("mangle", "POSTROUTING"),
];

/// Each base chain's outcome for the packet, in each ruleset of its family: the filter
/// table's INPUT always, the others where they hold a rule or drop by policy.
pub fn judge(facts: &Facts, packet: &Packet) -> Vec<Judged> {
    let ufw_active = facts.firewall.ufw.as_ref().is_some_and(|ufw| ufw.active);
    let family = match packet.family {
        Family::Ipv4 => IpFamily::Ipv4,
        Family::Ipv6 => IpFamily::Ipv6,
    };
    let mut judged = Vec::new();
    for ruleset in facts
        .firewall
        .iptables
        .iter()
        .filter(|ruleset| ruleset.family == family)
    {
        let chains = match packet.kind.outgoing() {
            true => OUTGOING_CHAINS,
            false => BASE_CHAINS,
        };
        for (table_name, chain) in chains {
            let Some(table) = ruleset
                .tables
                .iter()
                .find(|table| table.name == *table_name)
            else {
                continue;
            };
            let policy = table
                .chains
                .iter()
                .find(|known| known.name == *chain)
                .and_then(|known| known.policy.clone())
                .unwrap_or_else(|| "ACCEPT".into());
            let holds_rules = table.rules.iter().any(|rule| rule.chain == *chain);
            let always = *table_name == "filter" && !packet.kind.outgoing();
            if !always && !holds_rules && policy != "DROP" {
                continue;
            }
            let view = TableView {
                ruleset,
                table,
                packet,
            };
            let policy_hit = Hit {
                chain: chain.to_string(),
                text: format!(":{chain} {policy}"),
                source: format!("{} {table_name} {chain} policy", ruleset.command),
            };
            let mut allowances: Vec<Allowance> = Vec::new();
            let outcome = walk_base(&view, chain, policy == "DROP", policy_hit, &mut allowances);
            // ufw's own chains and the INPUT policy it sets are judged from ufw's rules.
            if *table_name == "filter" && ufw_active && decided_by_ufw(&outcome) {
                continue;
            }
            judged.push(Judged {
                layer: layer(facts, ruleset, table_name, chain, packet),
                outcome,
                allowances,
            });
        }
    }
    judged
}

/// The layer of one base chain: its name in findings, and the commands that list it and
/// let the port in there.
fn layer(
    facts: &Facts,
    ruleset: &IptablesRuleset,
    table: &str,
    chain: &str,
    packet: &Packet,
) -> Layer {
    let port = packet.port;
    let tool = iptables_tool(ruleset);
    // "-t filter" is what iptables assumes; said only for the other tables.
    let table_option = match table {
        "filter" => String::new(),
        other => format!("-t {other} "),
    };
    Layer {
        name: format!("iptables ({}) {table} {chain}", ruleset.command),
        drop_rule: RuleId::IptablesDrops,
        vars: vec![
            ("iptables", tool.clone()),
            ("table", table.to_string()),
            ("chain", chain.to_string()),
            ("save_command", ruleset.command.clone()),
            ("persist_command", persist_command(facts, ruleset.family)),
        ],
        list_command: format!("{} -t {table}", ruleset.command),
        // sshd's replies leave from the port; clients' packets arrive to it.
        allow_command: match packet.kind.outgoing() {
            true => format!("{tool} {table_option}-I {chain} -p tcp --sport {port} -j ACCEPT"),
            false => format!("{tool} {table_option}-I {chain} -p tcp --dport {port} -j ACCEPT"),
        },
        allow_neighbours: Some(format!(
            "{tool} {table_option}-I {chain} -p ipv6-icmp --icmpv6-type neighbour-solicitation -j ACCEPT && \
             {tool} {table_option}-I {chain} -p ipv6-icmp --icmpv6-type neighbour-advertisement -j ACCEPT"
        )),
        allow_client: packet.source.map(|client| {
            format!("{tool} {table_option}-I {chain} -s {client} -p tcp --dport {port} -j ACCEPT")
        }),
    }
}

/// The command that keeps the rules as they are now after a reboot, where this
/// distribution loads them at boot: netfilter-persistent on Debian and Ubuntu,
/// iptables-services on RHEL, Azure Linux's iptables.service and its ip4save.
fn persist_command(facts: &Facts, family: IpFamily) -> String {
    let host = &facts.host;
    let six = family == IpFamily::Ipv6;
    if host.is_azure_linux() {
        match six {
            false => "iptables-save > /etc/systemd/scripts/ip4save".into(),
            true => "ip6tables-save > /etc/systemd/scripts/ip6save".into(),
        }
    } else if host.is_debian_like() {
        "netfilter-persistent save".into()
    } else if host.is_rhel_like() {
        match six {
            false => "service iptables save".into(),
            true => "service ip6tables save".into(),
        }
    } else {
        "# save the rules where this system loads them at boot".into()
    }
}

fn decided_by_ufw(outcome: &super::Outcome) -> bool {
    match outcome {
        super::Outcome::Dropped(hit) | super::Outcome::Uncertain(hit, _) => {
            hit.chain.starts_with("ufw") || hit.text.starts_with(":INPUT")
        }
        super::Outcome::Accepted => false,
    }
}

/// The command that changes the backend this ruleset came from.
fn iptables_tool(ruleset: &IptablesRuleset) -> String {
    ruleset
        .command
        .strip_suffix("-save")
        .unwrap_or("iptables")
        .to_string()
}

struct TableView<'a> {
    ruleset: &'a IptablesRuleset,
    table: &'a IptablesTable,
    packet: &'a Packet,
}

impl TableView<'_> {
    /// The chains the table declares: a target naming one is a jump, whatever its case.
    fn chain_names(&self) -> Vec<&str> {
        self.table
            .chains
            .iter()
            .map(|chain| chain.name.as_str())
            .collect()
    }
}

impl Chains for TableView<'_> {
    fn rules(&self, chain: &str) -> Option<Vec<(Hit, Applies, Action)>> {
        if !self.table.chains.iter().any(|known| known.name == chain) {
            return None;
        }
        let rules = self.table.rules.iter().filter(|rule| rule.chain == chain);
        Some(
            rules
                .map(|rule| {
                    let hit = Hit {
                        chain: chain.to_string(),
                        text: rule.text.clone(),
                        source: format!("{}:{}", self.ruleset.command, rule.line),
                    };
                    let (applies, action) =
                        judge_rule(&rule.text, self.packet, &self.chain_names());
                    (hit, applies, action)
                })
                .collect(),
        )
    }
}

/// Splits a saved rule into words; iptables-save double-quotes words with spaces.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => current.extend(chars.next()),
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The conditions of one `-A CHAIN ...` line and its target; `chains` are the table's.
fn judge_rule(text: &str, packet: &Packet, chains: &[&str]) -> (Applies, Action) {
    let syn = packet.kind.is_tcp();
    // sshd's reply: from this machine's port to the client.
    let out = packet.kind.outgoing();
    let words = words(text);
    // recent --rcheck/--update: with a hit count above 1 a first connection is below
    // it, whatever the list holds.
    let hit_count = words
        .iter()
        .position(|word| word == "--hitcount")
        .and_then(|at| words.get(at + 1))
        .and_then(|count| count.parse::<u32>().ok());
    let limit_burst = words
        .iter()
        .position(|word| word == "--limit-burst")
        .and_then(|at| words.get(at + 1))
        .map(String::as_str);
    let mut tests = Vec::new();
    let mut action = Action::Continue;
    let mut negate = false;
    // Skip "-A CHAIN".
    let mut rest = words.iter().skip(2).map(String::as_str);
    while let Some(word) = rest.next() {
        if word == "!" {
            negate = true;
            continue;
        }
        let mut value = || rest.next().unwrap_or_default();
        let test = match word {
            "-p" | "--protocol" => Test::from(match syn {
                true => matches!(value(), "tcp" | "6" | "all" | "0"),
                false => matches!(value(), "ipv6-icmp" | "icmpv6" | "58" | "all" | "0"),
            }),
            "--icmpv6-type" => {
                let wanted = value();
                let number = wanted.split('/').next().unwrap_or_default();
                Test::from(
                    packet
                        .kind
                        .icmpv6_type()
                        .is_some_and(|(code, nft_name, name)| {
                            number == code.to_string() || wanted == name || wanted == nft_name
                        }),
                )
            }
            "-s" | "--source" if out => own_address_test(value(), packet),
            "-d" | "--destination" if out => source_test(value(), packet),
            "-s" | "--source" => source_test(value(), packet),
            "-d" | "--destination" => own_address_test(value(), packet),
            "--sport" | "--source-port" if out => port_test(value(), packet.port),
            "--sports" | "--source-ports" if out => ports_test(value(), packet.port),
            "--dport" | "--destination-port" if out => source_port_test(value(), packet),
            "--dports" | "--destination-ports" if out => Test::any(
                value()
                    .split(',')
                    .map(|spec| source_port_test(spec, packet)),
            ),
            "--sport" | "--source-port" => source_port_test(value(), packet),
            "--sports" | "--source-ports" => Test::any(
                value()
                    .split(',')
                    .map(|spec| source_port_test(spec, packet)),
            ),
            // A SYN is never a fragment.
            "-f" | "--fragment" => Test::No,
            "--set" => Test::Yes,
            "--rcheck" | "--update" | "--remove" => match hit_count {
                Some(count) if count > 1 => Test::No,
                _ => Test::Unknown("whether the client is on a recent list".into()),
            },
            "--hitcount" => {
                value();
                Test::Yes
            }
            // `-m limit` keeps one bucket for every packet the rule sees, whoever sends
            // it: scanners hitting a public SSH port use it up for everyone else.
            // Its burst is 5 when not given.
            "--limit" if !out => {
                Test::FromOnly(super::shared_rate(value(), limit_burst.unwrap_or("5")))
            }
            "--limit" => {
                value();
                Test::Yes
            }
            // One new connection stays under any rate or count above zero.
            "--hashlimit-above" | "--connlimit-above" => {
                Test::from(value().split('/').next() == Some("0"))
            }
            "--hashlimit-upto" | "--hashlimit" | "--connlimit-upto" => {
                value();
                Test::Yes
            }
            "--dst-type" => Test::from(
                value()
                    .split(',')
                    .any(|kind| kind == "LOCAL" || kind == "UNICAST"),
            ),
            "--src-type" => Test::from(value().split(',').any(|kind| kind == "UNICAST")),
            flag if TUNING_FLAGS.contains(&flag) => Test::Yes,
            // On the way out a packet has an output interface and no input one.
            "-i" | "--in-interface" if out => {
                value();
                Test::No
            }
            "-o" | "--out-interface" if out => packet.arrives_on(value()),
            "-i" | "--in-interface" => packet.arrives_on(value()),
            "-m" | "--match" => match value() {
                module if KNOWN_MODULES.contains(&module) => Test::Yes,
                module => Test::Unknown(format!("match module {module}")),
            },
            "--dport" | "--destination-port" => port_test(value(), packet.port),
            "--dports" | "--destination-ports" => ports_test(value(), packet.port),
            // Linux does not track neighbour discovery.
            "--ctstate" | "--state" => {
                let state = match (syn, out) {
                    (false, _) => "UNTRACKED",
                    (true, true) => "ESTABLISHED",
                    (true, false) => "NEW",
                };
                Test::from(
                    value()
                        .split(',')
                        .any(|known| known.eq_ignore_ascii_case(state)),
                )
            }
            // SYN set, ACK, RST and FIN clear: the client's SYN, not sshd's SYN-ACK.
            "--syn" => Test::from(packet.kind == Kind::Syn),
            "--mss" => match syn {
                true => port_test(value(), super::CLIENT_MSS),
                false => {
                    value();
                    Test::No
                }
            },
            "--tcp-flags" => {
                let mask = value().to_string();
                let comparison = value();
                match syn {
                    true => tcp_flags_test(&mask, comparison, packet.kind.tcp_flags()),
                    false => Test::No,
                }
            }
            "--match-set" => {
                let set = value().to_string();
                match value() {
                    "src" if packet.source.is_some() => {
                        Test::Unknown(format!("whether the client is in ipset {set}"))
                    }
                    "src" => Test::FromOnly(format!("ipset {set}")),
                    directions => Test::Unknown(format!("ipset {set} {directions}")),
                }
            }
            option if TUNING_OPTIONS.contains(&option) => {
                value();
                Test::Yes
            }
            "-j" | "--jump" => {
                action = target_action(value(), chains);
                break; // Target options follow; they do not change whether it matches.
            }
            "-g" | "--goto" => {
                action = Action::Goto(value().to_string());
                break;
            }
            other => Test::Unknown(format!("option {other}")),
        };
        tests.push(if std::mem::take(&mut negate) {
            test.negate()
        } else {
            test
        });
    }
    (Applies::all(tests), action)
}

fn target_action(target: &str, chains: &[&str]) -> Action {
    match target {
        "ACCEPT" => Action::Accept,
        "DROP" | "REJECT" => Action::Drop,
        "RETURN" => Action::Return,
        target if chains.contains(&target) => Action::Jump(target.into()),
        target if NON_TERMINATING.contains(&target) => Action::Continue,
        // User chains are not upper-case by convention only; extension targets are.
        target if target.chars().any(|c| c.is_ascii_lowercase()) => Action::Jump(target.into()),
        target => Action::Unknown(format!("target {target}")),
    }
}

/// "22,80,1000:2000": any of them.
pub(super) fn ports_test(list: &str, port: u16) -> Test {
    Test::any(list.split(',').map(|item| port_test(item, port)))
}

/// "22", "1000:2000" (":2000" and "1000:" leave a side open): the range it names.
fn port_range(spec: &str) -> Option<(u16, u16)> {
    let parse = |text: &str, default: u16| {
        if text.is_empty() {
            Some(default)
        } else {
            text.parse::<u16>().ok()
        }
    };
    match spec.split_once(':') {
        Some((low, high)) => parse(low, 0).zip(parse(high, u16::MAX)),
        None => spec.parse::<u16>().ok().map(|single| (single, single)),
    }
}

/// The client's source port against "1024:65535" and the like.
fn source_port_test(spec: &str, packet: &Packet) -> Test {
    match port_range(spec) {
        Some((low, high)) => packet.source_port_in(low, high),
        None => Test::Unknown(format!("source port {spec}")),
    }
}

/// "22", "1000:2000", or a service name.
fn port_test(spec: &str, port: u16) -> Test {
    match port_range(spec) {
        Some((low, high)) => Test::from((low..=high).contains(&port)),
        None if spec == "ssh" => Test::from(port == 22),
        None => Test::Unknown(format!("port {spec}")),
    }
}

/// `--tcp-flags MASK COMP`: of the MASK flags, exactly COMP are set. A SYN sets only SYN.
fn tcp_flags_test(mask: &str, comparison: &str, flags: &[&str]) -> Test {
    let set = |list: &str| -> Vec<String> {
        list.split(',')
            .map(|flag| flag.to_ascii_uppercase())
            .filter(|flag| flag != "NONE")
            .collect()
    };
    let mask = set(mask);
    let all = mask.iter().any(|flag| flag == "ALL");
    let mut ours: Vec<String> = flags
        .iter()
        .map(|flag| flag.to_ascii_uppercase())
        .filter(|flag| all || mask.contains(flag))
        .collect();
    ours.sort();
    let mut wanted = set(comparison);
    wanted.sort();
    Test::from(ours == wanted)
}

/// `-d` of an arriving packet, `-s` of a leaving one: this machine's own address.
fn own_address_test(spec: &str, packet: &Packet) -> Test {
    match spec {
        "0.0.0.0/0" | "::/0" => Test::Yes,
        network => Test::any(network.split(',').map(|one| packet.sent_to(one))),
    }
}

/// `-s 10.0.0.0/8,192.0.2.5`: for an arbitrary client, only the sources named.
fn source_test(spec: &str, packet: &Packet) -> Test {
    match (spec, packet.source) {
        ("0.0.0.0/0" | "::/0", _) => Test::Yes,
        (sources, None) => Test::FromOnly(sources.to_string()),
        (sources, Some(_)) => Test::any(sources.split(',').map(|one| packet.sent_from(one))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_eth0(port: u16) -> Packet {
        Packet {
            port,
            interface: Some("eth0".into()),
            destination: Some("10.0.0.4".parse().unwrap()),
            family: Family::Ipv4,
            source: None,
            kind: Kind::Syn,
        }
    }

    #[test]
    fn saved_rules_are_judged_option_by_option() {
        let judge22 = |text: &str| judge_rule(text, &on_eth0(22), &["INPUT", "TCP"]);
        let always = Applies::Always { except: vec![] };
        assert_eq!(
            judge22("-A INPUT -p tcp -m tcp --dport 22 -j DROP"),
            (always.clone(), Action::Drop)
        );
        assert_eq!(
            judge22("-A INPUT -p udp -m udp --dport 22 -j DROP").0,
            Applies::Never
        );
        assert_eq!(
            judge22("-A INPUT -p tcp -m multiport --dports 80,443,20:30 -m comment --comment \"web and ssh\" -j ACCEPT"),
            (always.clone(), Action::Accept)
        );
        assert_eq!(
            judge22("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT").0,
            Applies::Never
        );
        assert_eq!(
            judge22("-A INPUT -p tcp ! --dport 22 -j DROP").0,
            Applies::Never
        );
        assert_eq!(
            judge22("-A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT").0,
            Applies::OnlyFrom("10.0.0.0/8".into())
        );
        assert_eq!(
            judge22("-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j sshguard"),
            (always.clone(), Action::Jump("sshguard".into()))
        );
        assert_eq!(
            judge22("-A INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset").1,
            Action::Drop
        );
        assert!(matches!(
            judge22("-A INPUT -p tcp -m recent --update --seconds 60 -j DROP").0,
            Applies::Unknown(_)
        ));
        assert_eq!(
            judge22("-A INPUT -p tcp --dport 22 -m recent --update --seconds 60 --hitcount 4 --rttl --name SSH --mask 255.255.255.255 --rsource -j DROP").0,
            Applies::Never
        );
        assert_eq!(
            judge22("-A INPUT -p tcp --dport 22 -m recent --set --name SSH --mask 255.255.255.255 --rsource").0,
            always
        );
        assert_eq!(
            judge22(
                "-A INPUT -d 127.0.0.0/8 ! -i lo -j REJECT --reject-with icmp-port-unreachable"
            )
            .0,
            Applies::Never
        );
        assert_eq!(
            judge22("-A INPUT -d 10.0.0.4/32 -p tcp -j TCP").1,
            Action::Jump("TCP".into())
        );
        assert_eq!(
            judge22("-A INPUT -p tcp --sport 1024:65535 --dport 22 -j ACCEPT").0,
            always
        );
        assert_eq!(
            judge22("-A INPUT -p tcp --sport 22 -j ACCEPT").0,
            Applies::Never
        );
        assert!(matches!(
            judge22("-A INPUT -p tcp --sport 40000:50000 -j DROP").0,
            Applies::Unknown(_)
        ));
        assert_eq!(judge22("-A INPUT -f -j DROP").0, Applies::Never);
        assert_eq!(
            judge22("-A INPUT -p tcp --dport 22 -m hashlimit --hashlimit-above 10/min --hashlimit-mode srcip --hashlimit-name ssh -j DROP").0,
            Applies::Never
        );
        assert_eq!(
            judge22("-A INPUT -p tcp --dport 22 -m connlimit --connlimit-above 3 --connlimit-mask 32 --connlimit-saddr -j REJECT").0,
            Applies::Never
        );
        assert!(matches!(
            judge22("-A INPUT -p tcp --dport 22 -j NFQUEUE").1,
            Action::Unknown(_)
        ));
    }

    #[test]
    fn port_specs() {
        assert_eq!(port_test("1000:2000", 1500), Test::Yes);
        assert_eq!(port_test(":1024", 22), Test::Yes);
        assert_eq!(port_test("1024:", 22), Test::No);
        assert_eq!(port_test("ssh", 22), Test::Yes);
        assert!(matches!(port_test("http-alt", 22), Test::Unknown(_)));
    }
}
