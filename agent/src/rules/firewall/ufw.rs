//! ufw: its rules in order, first match wins; no match meets the default incoming policy.

use super::iptables::ports_test;
use super::{finding_for, Action, Allowance, Applies, Hit, Layer, Outcome, Packet, Test};
use crate::facts::{Facts, UfwFacts, UfwRule};
use crate::fix::Action as FixAction;
use crate::rules::{Draft, RuleId};

pub fn check(facts: &Facts, packet: &Packet, findings: &mut Vec<Draft>) {
    let Some(ufw) = facts.firewall.ufw.as_ref().filter(|ufw| ufw.active) else {
        return;
    };
    let port = packet.port;
    let mut allowances = Vec::new();
    let outcome = judge(ufw, packet, &mut allowances);
    // ufw takes the first rule that matches: the allow goes before the rule that
    // denies, except where that rule has the same port and sources (`ufw allow` then
    // changes it in place) or only the default policy denies (appended).
    let same_match = format!("{port}/tcp  DENY IN  Anywhere");
    let same_match_reject = format!("{port}/tcp  REJECT IN  Anywhere");
    let position = match &outcome {
        Outcome::Dropped(hit) if hit.text.starts_with("Default:") => 0,
        Outcome::Dropped(hit) if hit.text == same_match || hit.text == same_match_reject => 0,
        _ if ufw.rules.is_empty() => 0,
        _ => 1,
    };
    let allow = FixAction::UfwAllow { port, position };
    let layer = Layer {
        name: "ufw".into(),
        drop_rule: RuleId::UfwDenies,
        vars: vec![("ufw_position", position.to_string())],
        list_command: "ufw status verbose".into(),
        allow_command: allow.command(),
        allow_neighbours: None,
        allow_client: None,
    };
    findings.extend(finding_for(&layer, port, outcome, &allowances));
}

fn judge(ufw: &UfwFacts, packet: &Packet, allowances: &mut Vec<Allowance>) -> Outcome {
    for (index, rule) in ufw.rules.iter().enumerate() {
        let hit = Hit {
            chain: "ufw".into(),
            text: format!("{}  {}  {}", rule.to, rule.action, rule.from),
            source: format!("{} rule {}", ufw.source, index + 1),
        };
        let Some(action) = action_of(&rule.action) else {
            continue;
        };
        match (applies(rule, packet), action) {
            (Applies::Never, _) => {}
            (Applies::Unknown(why), _) => return Outcome::Uncertain(hit, why),
            (Applies::OnlyFrom(sources), Action::Accept) => {
                allowances.push(Allowance { hit, sources })
            }
            (Applies::OnlyFrom(_), _) => {}
            (Applies::Always { .. }, Action::Accept) => return Outcome::Accepted,
            (Applies::Always { .. }, _) => return Outcome::Dropped(hit),
        }
    }
    let default = Hit {
        chain: "ufw".into(),
        text: format!(
            "Default: {} (incoming)",
            ufw.default_incoming.as_deref().unwrap_or("unknown")
        ),
        source: ufw.source.clone(),
    };
    match ufw.default_incoming.as_deref() {
        Some("allow") => Outcome::Accepted,
        Some("deny" | "reject") => Outcome::Dropped(default),
        _ => Outcome::Uncertain(default, "default incoming policy unknown".into()),
    }
}

/// ALLOW/LIMIT let in (one connection is under LIMIT's rate), DENY/REJECT do not;
/// None for outgoing and routed rules.
fn action_of(action: &str) -> Option<Action> {
    let mut words = action.split_whitespace();
    let verb = words.next()?;
    if words.next().is_some_and(|direction| direction != "IN") {
        return None;
    }
    match verb {
        "ALLOW" | "LIMIT" => Some(Action::Accept),
        "DENY" | "REJECT" => Some(Action::Drop),
        _ => None,
    }
}

fn applies(rule: &UfwRule, packet: &Packet) -> Applies {
    if rule.to.contains("(v6)") || rule.from.contains("(v6)") {
        return Applies::Never;
    }
    let (to, interface) = match rule.to.split_once(" on ") {
        Some((to, interface)) => (to, Some(interface)),
        None => (rule.to.as_str(), None),
    };
    let from = rule.from.split(" #").next().unwrap_or_default().trim();
    Applies::all([
        destination_test(to.trim(), packet),
        interface.map_or(Test::Yes, |interface| packet.arrives_on(interface.trim())),
        match from {
            "Anywhere" => Test::Yes,
            sources => packet.sent_from(sources),
        },
    ])
}

/// "Anywhere", "22", "22/tcp", "80,443/tcp", "6000:6007/tcp", "OpenSSH", an
/// application's ports with its name ("22/tcp (OpenSSH)"), or an address before any of
/// these ("10.0.0.4 22/tcp").
fn destination_test(to: &str, packet: &Packet) -> Test {
    let port = packet.port;
    let to = match to.strip_suffix(')').and_then(|rest| rest.rsplit_once(" (")) {
        Some((ports, _application)) => ports.trim(),
        None => to,
    };
    if let Some((address, rest)) = to.split_once(' ') {
        let address = match address {
            "Anywhere" => Test::Yes,
            address => packet.sent_to(address),
        };
        return Applies::all([address, destination_test(rest.trim(), packet)]).test();
    }
    if to == "Anywhere" {
        return Test::Yes;
    }
    if to == "OpenSSH" {
        return Test::from(port == 22);
    }
    match to.split_once('/') {
        Some((ports, "tcp")) => ports_test(ports, port),
        Some(_) => Test::No,
        None if to.starts_with(|c: char| c.is_ascii_digit()) => ports_test(to, port),
        None => Test::Unknown(format!("application profile {to}")),
    }
}
