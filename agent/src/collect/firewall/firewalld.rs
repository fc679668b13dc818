//! firewalld: whether it runs, its active zones, and what each active zone allows.

use super::{ProbeNotes, Tools};
use crate::collect::command::run;
use crate::facts::{FirewalldActiveZone, FirewalldFacts, FirewalldZone};
use std::path::Path;

/// The name firewalld holds on the system bus while it runs.
const FIREWALLD_BUS_NAME: &str = "org.fedoraproject.FirewallD1";

pub fn collect(tools: &Tools, notes: &mut ProbeNotes) -> Option<FirewalldFacts> {
    let Some(firewall_cmd) = tools.find("firewall-cmd") else {
        notes.note("firewall-cmd is not installed: no firewalld");
        return None;
    };
    // firewall-cmd is a Python program (about 100 ms) that asks firewalld on the system
    // bus: where nobody holds firewalld's name there, or there is no bus to ask,
    // firewalld is not running (it cannot start without the bus).
    match crate::collect::service::systemd::bus_name_owned(FIREWALLD_BUS_NAME, tools.timeout) {
        Some(true) => {}
        owned => {
            let why = match owned {
                Some(_) => format!("{FIREWALLD_BUS_NAME} is not on the system bus"),
                None => "the system bus does not answer, and firewalld needs it".to_string(),
            };
            notes.note(format!("firewalld is not running ({why})"));
            return Some(FirewalldFacts::default());
        }
    }
    let ask = |args: &[&str]| run(&firewall_cmd, args, tools.timeout);
    // `--state` prints "running" (exit 0) or "not running" (exit 252).
    let state = match ask(&["--state"]) {
        Ok(output) => output.stdout.trim().to_string(),
        Err(err) => {
            notes.partial(err);
            return None;
        }
    };
    if state != "running" {
        notes.note(format!(
            "firewalld is not running (firewall-cmd --state: {state:?})"
        ));
        return Some(FirewalldFacts::default());
    }
    let mut facts = FirewalldFacts {
        running: true,
        ..FirewalldFacts::default()
    };
    match ask(&["--get-default-zone"]) {
        Ok(output) if output.success() => facts.default_zone = Some(output.stdout.trim().into()),
        Ok(output) => notes.partial(format!(
            "firewall-cmd --get-default-zone failed: {}",
            output.error_line()
        )),
        Err(err) => notes.partial(err),
    }
    match ask(&["--get-active-zones"]) {
        Ok(output) if output.success() => facts.active_zones = parse_active_zones(&output.stdout),
        Ok(output) => notes.partial(format!(
            "firewall-cmd --get-active-zones failed: {}",
            output.error_line()
        )),
        Err(err) => notes.partial(err),
    }
    let mut zone_names: Vec<String> = facts
        .active_zones
        .iter()
        .map(|zone| zone.name.clone())
        .collect();
    if zone_names.is_empty() {
        zone_names.extend(facts.default_zone.clone());
    }
    for name in zone_names {
        if let Some(zone) = list_zone(&firewall_cmd, tools, &name, notes) {
            facts.zones.push(zone);
        }
    }
    Some(facts)
}

fn list_zone(
    firewall_cmd: &Path,
    tools: &Tools,
    name: &str,
    notes: &mut ProbeNotes,
) -> Option<FirewalldZone> {
    let zone_arg = format!("--zone={name}");
    match run(firewall_cmd, &[&zone_arg, "--list-all"], tools.timeout) {
        Ok(output) if output.success() => Some(parse_list_all(&output.stdout)),
        Ok(output) => {
            notes.partial(format!(
                "firewall-cmd {zone_arg} --list-all failed: {}",
                output.error_line()
            ));
            None
        }
        Err(err) => {
            notes.partial(err);
            None
        }
    }
}

/// A zone name line, without the "(active)" or "(default)" firewall-cmd may append.
fn zone_name(line: &str) -> String {
    line.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn words(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_string).collect()
}

/// `--get-active-zones`: a zone name, then indented "interfaces: ..." and "sources: ...".
pub fn parse_active_zones(text: &str) -> Vec<FirewalldActiveZone> {
    let mut zones: Vec<FirewalldActiveZone> = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        if !line.starts_with(char::is_whitespace) {
            zones.push(FirewalldActiveZone {
                name: zone_name(line),
                interfaces: Vec::new(),
                sources: Vec::new(),
            });
            continue;
        }
        let (Some(zone), Some((key, value))) = (zones.last_mut(), line.trim().split_once(':'))
        else {
            continue;
        };
        match key {
            "interfaces" => zone.interfaces = words(value),
            "sources" => zone.sources = words(value),
            _ => {}
        }
    }
    zones
}

/// `--zone=NAME --list-all`: "key: values" lines; rich rules follow "rich rules:" one a line.
pub fn parse_list_all(text: &str) -> FirewalldZone {
    let mut zone = FirewalldZone::default();
    let mut in_rich_rules = false;
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        if !line.starts_with(char::is_whitespace) {
            zone.name = zone_name(line);
            continue;
        }
        let trimmed = line.trim();
        if in_rich_rules && trimmed.starts_with("rule ") {
            zone.rich_rules.push(trimmed.to_string());
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        in_rich_rules = key == "rich rules";
        match key {
            "target" => zone.target = Some(value.trim().to_string()),
            "interfaces" => zone.interfaces = words(value),
            "sources" => zone.sources = words(value),
            "services" => zone.services = words(value),
            "ports" => zone.ports = words(value),
            _ => {}
        }
    }
    zone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_zones_with_and_without_default_marker() {
        let zones = parse_active_zones(
            "public (default)\n  interfaces: eth0 eth1\ntrusted\n  sources: 10.0.0.0/8\n",
        );
        assert_eq!(zones[0].name, "public");
        assert_eq!(zones[0].interfaces, ["eth0", "eth1"]);
        assert_eq!(zones[1].name, "trusted");
        assert_eq!(zones[1].sources, ["10.0.0.0/8"]);
    }
}
