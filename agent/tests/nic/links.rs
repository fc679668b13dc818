//! The VM's own network in real network namespaces: real veth links, addresses and
//! routes made with iproute2, judged by the real binary running inside the namespace.

use crate::support;

use support::NetNs;

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str = "links, addresses and routes in a network namespace (ip netns) need root";

fn diagnose_in(ns: &NetNs) -> serde_json::Value {
    ns.diagnose(&["--no-sshd-run"])
}

fn nic_findings(verdict: &serde_json::Value) -> Vec<(String, String)> {
    verdict["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["id"].as_str().unwrap().starts_with("SSH-NIC"))
        .map(|finding| {
            (
                finding["id"].as_str().unwrap().to_string(),
                finding["title"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// eth0, one end of a veth pair: its carrier follows `eth0-peer`'s state.
fn add_eth0(ns: &NetNs) {
    ns.add_veth("eth0", None);
}

#[test]
fn only_loopback_means_nothing_reaches_sshd() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    let verdict = diagnose_in(&ns);
    assert_eq!(
        nic_findings(&verdict),
        [(
            "SSH-NIC-001".to_string(),
            "No network interface is up with a carrier".to_string()
        )]
    );
    let links = verdict["facts"]["interfaces"]["links"].as_array().unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["name"], "lo");
}

#[test]
fn link_without_carrier_is_named() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    add_eth0(&ns);
    ns.ip(&["link", "set", "eth0-peer", "down"]);
    let verdict = diagnose_in(&ns);
    let found = &verdict["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "SSH-NIC-001")
        .expect("NIC-001")["evidence"];
    let facts: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fact"].as_str().unwrap())
        .collect();
    assert!(
        facts.contains(&"eth0: UP, NO-CARRIER, operstate lowerlayerdown"),
        "{facts:?}"
    );
}

#[test]
fn ipv6_only_interface_has_no_ipv4_address() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    add_eth0(&ns);
    ns.ip(&["address", "add", "fd00:9::2/64", "dev", "eth0", "nodad"]);
    let verdict = diagnose_in(&ns);
    assert_eq!(nic_findings(&verdict)[0].0, "SSH-NIC-002", "{verdict:#}");
}

#[test]
fn address_without_gateway_cannot_answer_remote_clients() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    add_eth0(&ns);
    ns.ip(&["address", "add", "10.9.0.2/24", "dev", "eth0"]);
    let verdict = diagnose_in(&ns);
    assert_eq!(
        nic_findings(&verdict),
        [(
            "SSH-NIC-003".to_string(),
            "There is no IPv4 default route".to_string()
        )]
    );
    // The gateway fixes it, and the route is reported with its interface.
    ns.ip(&["route", "add", "default", "via", "10.9.0.1", "dev", "eth0"]);
    let verdict = diagnose_in(&ns);
    assert!(nic_findings(&verdict).is_empty(), "{verdict:#}");
    let routes = &verdict["facts"]["interfaces"]["default_routes"];
    assert_eq!(routes[0]["gateway"], "10.9.0.1");
    assert_eq!(routes[0]["interface"], "eth0");
    let eth0 = verdict["facts"]["interfaces"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|link| link["name"] == "eth0")
        .unwrap();
    assert_eq!(eth0["carrier"], true);
    assert!(eth0["mac"].as_str().unwrap().len() == 17);
}

/// A lost address or gateway comes back with a new DHCP lease, asked for through the
/// service that configures the link (a DHCP client of our own would fight it), else
/// through the DHCP client installed; NIC-002 and NIC-003 print the same command.
#[test]
fn the_lease_is_renewed_through_the_service_that_configures_the_link() {
    use sshdoctor::facts::{DhcpClient, LinkFacts, LinkManager};
    let renewal = |manager: Option<LinkManager>, client: Option<DhcpClient>, gateway_only: bool| {
        let mut facts = support::facts::healthy();
        facts.interfaces.links = vec![LinkFacts {
            index: 2,
            name: "eth0".into(),
            up: true,
            carrier: Some(true),
            oper_state: "up".into(),
            loopback: false,
            mac: None,
            managed_by: manager,
        }];
        facts.interfaces.dhcp_client = client;
        facts.interfaces.routes_read = true;
        if !gateway_only {
            facts
                .interfaces
                .addresses
                .retain(|address| address.loopback);
        }
        let id = if gateway_only {
            "SSH-NIC-003"
        } else {
            "SSH-NIC-002"
        };
        let findings = sshdoctor::rules::evaluate(&facts);
        let finding = findings
            .iter()
            .find(|finding| finding.id == id)
            .unwrap_or_else(|| panic!("{id}: {findings:#?}"));
        finding.remediation.guest[0].clone()
    };
    let dhclient = Some(DhcpClient::Dhclient);
    for gateway_only in [false, true] {
        assert_eq!(
            renewal(Some(LinkManager::SystemdNetworkd), dhclient, gateway_only),
            "networkctl reconfigure eth0"
        );
        assert_eq!(
            renewal(Some(LinkManager::NetworkManager), dhclient, gateway_only),
            "nmcli device connect eth0"
        );
        assert_eq!(
            renewal(Some(LinkManager::Ifupdown), dhclient, gateway_only),
            "ifdown --force eth0; ifup eth0"
        );
        assert_eq!(renewal(None, dhclient, gateway_only), "dhclient -v eth0");
        assert_eq!(
            renewal(None, Some(DhcpClient::Udhcpc), gateway_only),
            "udhcpc -i eth0"
        );
        assert!(renewal(None, None, gateway_only).starts_with("ip -brief address show eth0   # "));
    }
}
