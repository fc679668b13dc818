//! SSH-FWL: the local firewall (nftables, iptables, firewalld, ufw) and the SSH port.

mod firewall_eval;
mod packets;
mod rulesets;

/// The firewall findings of a verdict.
fn firewall_findings(verdict: &serde_json::Value) -> Vec<&serde_json::Value> {
    verdict["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["id"].as_str().unwrap().starts_with("SSH-FWL-"))
        .collect()
}

/// The firewall probe's report in a verdict.
fn firewall_probe(verdict: &serde_json::Value) -> &serde_json::Value {
    verdict["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|probe| probe["name"] == "firewall")
        .unwrap()
}
