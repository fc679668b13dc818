//! The local firewall's rulesets, as its own tools print them.

use serde::{Deserialize, Serialize};

/// The local firewall's rulesets, as its own tools print them. Collected, not judged.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct FirewallFacts {
    /// `nft -j list ruleset`, None when nft is absent or could not list.
    pub nftables: Option<NftRuleset>,
    /// One ruleset per `*-save` tool that ran: iptables/ip6tables, nft and legacy backends.
    pub iptables: Vec<IptablesRuleset>,
    /// None when firewall-cmd is absent.
    pub firewalld: Option<FirewalldFacts>,
    /// None when ufw is not installed.
    pub ufw: Option<UfwFacts>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct NftRuleset {
    pub tables: Vec<NftTable>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NftTable {
    /// ip, ip6, inet, arp, bridge, netdev.
    pub family: String,
    pub name: String,
    pub chains: Vec<NftChain>,
    /// Named sets and maps, for `@name` references in rules.
    pub sets: Vec<NftSet>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NftChain {
    pub name: String,
    /// Base chains only: input, prerouting, ...
    pub hook: Option<String>,
    /// Base chains only: filter, nat, route.
    pub chain_type: Option<String>,
    pub priority: Option<i64>,
    /// Base chains only: accept or drop.
    pub policy: Option<String>,
    pub rules: Vec<NftRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NftRule {
    pub handle: u64,
    /// The rule as `nft -a list ruleset` prints it, when that listing worked.
    pub text: Option<String>,
    /// The statements of the rule, a libnftables JSON array (matches, counters, the
    /// verdict), kept as JSON text and parsed only while the rule is judged or printed:
    /// 10,000 rules as trees would take tens of MB.
    #[serde(with = "json_text")]
    pub expr: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NftSet {
    pub name: String,
    /// Elements in libnftables JSON: values, `{"range": [a, b]}`, `{"prefix": ...}`; a
    /// map's are `[key, value]` pairs.
    pub elements: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpFamily {
    Ipv4,
    Ipv6,
}

/// The output of one `iptables-save`-like tool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IptablesRuleset {
    /// The tool that printed it, e.g. `iptables-nft-save`.
    pub command: String,
    pub family: IpFamily,
    /// "nf_tables" or "legacy", from the tool's header line.
    pub backend: Option<String>,
    pub tables: Vec<IptablesTable>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IptablesTable {
    pub name: String,
    pub chains: Vec<IptablesChain>,
    pub rules: Vec<IptablesRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IptablesChain {
    pub name: String,
    /// ACCEPT or DROP for built-in chains, None for user chains ("-").
    pub policy: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IptablesRule {
    pub chain: String,
    /// Line number in the tool's output.
    pub line: u32,
    /// The `-A CHAIN ...` line as printed.
    pub text: String,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct FirewalldFacts {
    /// `firewall-cmd --state` says "running".
    pub running: bool,
    pub default_zone: Option<String>,
    pub active_zones: Vec<FirewalldActiveZone>,
    /// `--list-all` of every active zone (the default zone when none is active).
    pub zones: Vec<FirewalldZone>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FirewalldActiveZone {
    pub name: String,
    pub interfaces: Vec<String>,
    pub sources: Vec<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct FirewalldZone {
    pub name: String,
    /// default, ACCEPT, DROP, %%REJECT%%.
    pub target: Option<String>,
    pub interfaces: Vec<String>,
    pub sources: Vec<String>,
    pub services: Vec<String>,
    /// "2222/tcp", "60000-61000/udp".
    pub ports: Vec<String>,
    pub rich_rules: Vec<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct UfwFacts {
    /// `ufw status verbose`, or the files under /etc/ufw when it could not run.
    pub source: String,
    pub active: bool,
    /// allow, deny or reject.
    pub default_incoming: Option<String>,
    pub rules: Vec<UfwRule>,
}

/// One row of `ufw status verbose`: "22/tcp  ALLOW IN  Anywhere".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UfwRule {
    pub to: String,
    /// ALLOW IN, DENY IN, REJECT IN, LIMIT IN, ALLOW OUT, ...
    pub action: String,
    pub from: String,
}

/// A field kept as JSON text that appears in the verdict as the JSON value it holds.
mod json_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
        serde_json::from_str::<Value>(text)
            .unwrap_or_default()
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        Value::deserialize(deserializer).map(|value| value.to_string())
    }
}
