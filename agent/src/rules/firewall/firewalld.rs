//! firewalld: does the zone of the primary interface allow the SSH port? firewalld
//! applies a zone's deny rich rules first, then what it allows; anything else meets the
//! zone's target (default: reject).

use super::iptables::ports_test;
use super::{finding_for, Allowance, Hit, Layer, Outcome, Packet, Test};
use crate::facts::{Facts, FirewalldFacts, FirewalldZone};
use crate::fix::Action;
use crate::rules::{Draft, RuleId};

pub fn check(facts: &Facts, packet: &Packet, findings: &mut Vec<Draft>) {
    let Some(firewalld) = facts
        .firewall
        .firewalld
        .as_ref()
        .filter(|firewalld| firewalld.running)
    else {
        return;
    };
    let Some(zone) = zone_of(firewalld, packet) else {
        return; // No zone could be listed; the probe's notes say why.
    };
    let port = packet.port;
    let allow = Action::FirewalldAllow {
        zone: zone.name.clone(),
        port,
    };
    let layer = Layer {
        name: format!("firewalld zone {}", zone.name),
        drop_rule: RuleId::FirewalldBlocks,
        vars: vec![("zone", zone.name.clone())],
        list_command: format!("firewall-cmd --zone={} --list-all", zone.name),
        allow_command: allow.command(),
        allow_neighbours: None,
        allow_client: None,
    };
    let mut allowances = Vec::new();
    let outcome = judge_zone(zone, packet, &mut allowances);
    findings.extend(finding_for(&layer, port, outcome, &allowances));
}

/// The active zone holding the primary interface, else the default zone.
fn zone_of<'a>(firewalld: &'a FirewalldFacts, packet: &Packet) -> Option<&'a FirewalldZone> {
    let by_interface = packet.interface.as_ref().and_then(|interface| {
        firewalld
            .zones
            .iter()
            .find(|zone| zone.interfaces.contains(interface))
    });
    by_interface.or_else(|| {
        firewalld
            .zones
            .iter()
            .find(|zone| Some(&zone.name) == firewalld.default_zone.as_ref())
    })
}

fn judge_zone(zone: &FirewalldZone, packet: &Packet, allowances: &mut Vec<Allowance>) -> Outcome {
    let hit = |text: String| Hit {
        chain: format!("zone {}", zone.name),
        text,
        source: format!("firewall-cmd --zone={} --list-all", zone.name),
    };
    let target = zone.target.as_deref().unwrap_or("default");
    if target == "ACCEPT" {
        return Outcome::Accepted;
    }
    let rich: Vec<(&String, RichRule)> = zone
        .rich_rules
        .iter()
        .map(|text| (text, RichRule::parse(text, packet.port)))
        .collect();
    if let Some((text, _)) = rich
        .iter()
        .find(|(_, rule)| rule.covers_port && !rule.accepts && rule.source.is_none())
    {
        return Outcome::Dropped(hit(format!("rich rule: {text}")));
    }
    let by_service = packet.port == 22 && zone.services.iter().any(|service| service == "ssh");
    let by_port = zone.ports.iter().any(|spec| {
        spec.strip_suffix("/tcp")
            .is_some_and(|ports| ports_test(&ports.replace('-', ":"), packet.port) == Test::Yes)
    });
    let by_rich_rule = rich
        .iter()
        .any(|(_, rule)| rule.covers_port && rule.accepts && rule.source.is_none());
    if by_service || by_port || by_rich_rule {
        return Outcome::Accepted;
    }
    for (text, rule) in &rich {
        if let (true, true, Some(source)) = (rule.covers_port, rule.accepts, &rule.source) {
            allowances.push(Allowance {
                hit: hit(format!("rich rule: {text}")),
                sources: source.clone(),
            });
        }
    }
    Outcome::Dropped(hit(format!(
        "target {target}; services: {}; ports: {}",
        list(&zone.services),
        list(&zone.ports)
    )))
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(" ")
    }
}

/// The parts of a rich rule that decide for the SSH port.
struct RichRule {
    covers_port: bool,
    accepts: bool,
    source: Option<String>,
}

impl RichRule {
    /// `rule family="ipv4" source address="10.0.0.0/8" service name="ssh" accept`.
    fn parse(text: &str, port: u16) -> RichRule {
        let value = |key: &str| {
            let start = text.find(&format!("{key}=\""))? + key.len() + 2;
            let end = text[start..].find('"')? + start;
            Some(&text[start..end])
        };
        let ipv6_only = value("family") == Some("ipv6");
        let by_service = port == 22 && text.contains("service name=\"ssh\"");
        let by_port = value("port").is_some_and(|ports| {
            value("protocol") == Some("tcp")
                && ports_test(&ports.replace('-', ":"), port) == Test::Yes
        });
        let source = if text.contains("source NOT") {
            None
        } else {
            value("address").or(value("ipset")).map(str::to_string)
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        RichRule {
            covers_port: !ipv6_only && (by_service || by_port),
            accepts: words.contains(&"accept"),
            source,
        }
    }
}
