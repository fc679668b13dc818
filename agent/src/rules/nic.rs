//! The VM's own network: can any packet reach sshd, and can sshd's replies leave?

use super::{Draft, RuleId, SshView};
use crate::facts::{DhcpClient, Facts, InterfaceFacts, LinkFacts, LinkManager};

pub fn check(facts: &Facts, _view: &SshView, findings: &mut Vec<Draft>) {
    let interfaces = &facts.interfaces;
    if interfaces.links.is_empty() {
        return; // rtnetlink could not be read: the probe says why.
    }
    let external: Vec<&LinkFacts> = interfaces
        .links
        .iter()
        .filter(|link| !link.loopback)
        .collect();
    let usable: Vec<&LinkFacts> = external
        .iter()
        .copied()
        .filter(|link| link.up && link.carrier != Some(false))
        .collect();
    let interface = usable
        .first()
        .or(external.first())
        .map_or_else(|| "eth0".to_string(), |link| link.name.clone());
    if usable.is_empty() {
        let mut finding = Draft::new(RuleId::NoLinkUp).var("interface", interface).var(
            "fix",
            "ip -brief link   # no link is set down: the carrier is missing; restart or redeploy the VM",
        );
        // A link set down comes up with `ip link set`; one without a carrier does not.
        if let Some(down) = external.iter().find(|link| !link.up) {
            finding = finding.var("down_link", down.name.clone());
        }
        for link in &external {
            finding = finding.evidence(link_state(link), Some("rtnetlink".into()));
        }
        if external.is_empty() {
            finding = finding.evidence(
                "only the loopback interface exists",
                Some("rtnetlink".into()),
            );
        }
        findings.push(finding);
        return;
    }
    let ipv4: Vec<_> = interfaces
        .addresses
        .iter()
        .filter(|address| address.address.is_ipv4() && !address.loopback && address.up)
        .collect();
    if ipv4.is_empty() {
        let mut finding = Draft::new(RuleId::NoIpv4Address)
            .var("renew", renew_lease(interfaces, &interface))
            .var("interface", interface);
        for address in interfaces
            .addresses
            .iter()
            .filter(|address| !address.loopback)
        {
            finding = finding.evidence(
                format!("{} has {}", address.interface, address.address),
                Some("rtnetlink".into()),
            );
        }
        findings
            .push(finding.evidence(format!("up: {}", names(&usable)), Some("rtnetlink".into())));
        return;
    }
    let has_default = interfaces
        .default_routes
        .iter()
        .any(|route| route.family == "inet");
    if interfaces.routes_read && !has_default {
        let addresses: Vec<String> = ipv4
            .iter()
            .map(|address| format!("{} {}", address.interface, address.address))
            .collect();
        findings.push(
            Draft::new(RuleId::NoDefaultRoute)
                .var("renew", renew_lease(interfaces, &ipv4[0].interface))
                .var("interface", ipv4[0].interface.clone())
                .evidence(
                    "no default route in the main table",
                    Some("rtnetlink".into()),
                )
                .evidence(
                    format!("IPv4 addresses: {}", addresses.join(", ")),
                    Some("rtnetlink".into()),
                ),
        );
    }
}

/// The one command that makes `interface` ask DHCP again (the lease carries the address
/// and the gateway), through the service that configures it: handing it to a DHCP
/// client of its own would fight that service.
fn renew_lease(interfaces: &InterfaceFacts, interface: &str) -> String {
    let manager = interfaces
        .links
        .iter()
        .find(|link| link.name == interface)
        .and_then(|link| link.managed_by);
    match (manager, interfaces.dhcp_client) {
        (Some(LinkManager::SystemdNetworkd), _) => format!("networkctl reconfigure {interface}"),
        (Some(LinkManager::NetworkManager), _) => format!("nmcli device connect {interface}"),
        // ifup alone does nothing for an interface it believes is up.
        (Some(LinkManager::Ifupdown), _) => {
            format!("ifdown --force {interface}; ifup {interface}")
        }
        (None, Some(DhcpClient::Dhclient)) => format!("dhclient -v {interface}"),
        (None, Some(DhcpClient::Dhcpcd)) => format!("dhcpcd -n {interface}"),
        (None, Some(DhcpClient::Udhcpc)) => format!("udhcpc -i {interface}"),
        (None, None) => format!(
            "ip -brief address show {interface}   # no network service or DHCP client found: restart or redeploy the VM"
        ),
    }
}

fn link_state(link: &LinkFacts) -> String {
    let carrier = match link.carrier {
        Some(true) => "carrier",
        Some(false) => "NO-CARRIER",
        None => "carrier unknown",
    };
    let admin = if link.up { "UP" } else { "DOWN" };
    format!(
        "{}: {admin}, {carrier}, operstate {}",
        link.name, link.oper_state
    )
}

fn names(links: &[&LinkFacts]) -> String {
    links
        .iter()
        .map(|link| link.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
