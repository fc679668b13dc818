//! The local firewall, for real: each test loads a ruleset with nft or iptables-restore into
//! its own network namespace (loopback plus an eth0 (one end of a veth pair) holding 192.0.2.10) and runs the
//! sshdoctor binary inside it. Needs root.

use crate::support;

use super::{firewall_findings, firewall_probe};
use serde_json::Value;
use support::NetNs;

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str = "rulesets loaded with nft or iptables into a network namespace need root";

const CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/firewall/sshd_config"
);

/// A namespace like a VM's network: loopback, and eth0 (one end of a veth pair)
/// holding 192.0.2.10; with helpers to load rulesets and diagnose.
struct FirewallNs {
    ns: NetNs,
}

impl FirewallNs {
    fn new() -> FirewallNs {
        let ns = NetNs::new();
        ns.add_veth("eth0", Some("192.0.2.10/24"));
        FirewallNs { ns }
    }

    fn run(&self, argv: &[&str], stdin: Option<&str>) -> std::process::Output {
        self.ns.exec(argv, stdin.unwrap_or_default())
    }

    fn nft(&self, ruleset: &str) {
        self.run(&["nft", "-f", "-"], Some(ruleset));
    }

    /// The handle nft gave the rule printed as `rule` in `chain`.
    fn nft_handle(&self, family_table_chain: &str, rule: &str) -> String {
        let mut argv = vec!["nft", "-a", "list", "chain"];
        argv.extend(family_table_chain.split(' '));
        let listing = String::from_utf8(self.run(&argv, None).stdout).unwrap();
        let line = listing
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with(&format!("{rule} # handle ")))
            .unwrap_or_else(|| panic!("{rule:?} not in {listing}"));
        line.rsplit(' ').next().unwrap().to_string()
    }

    /// sshdoctor's verdict for this namespace.
    fn diagnose(&self) -> Value {
        self.ns.diagnose(&["--no-sshd-run", "--config", CONFIG])
    }
}

/// The one firewall finding, which must have this id.
fn only_finding<'a>(verdict: &'a Value, id: &str) -> &'a Value {
    let findings = firewall_findings(verdict);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["id"], id, "{:#}", findings[0]);
    findings[0]
}

/// Evidence as "fact @ source" lines, to assert on.
fn evidence(finding: &Value) -> Vec<String> {
    finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            format!(
                "{} @ {}",
                item["fact"].as_str().unwrap(),
                item["source"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn has_evidence(finding: &Value, fact: &str, source: &str) -> bool {
    evidence(finding)
        .iter()
        .any(|line| line == &format!("{fact} @ {source}"))
}

#[test]
fn nft_policy_drop_without_an_ssh_accept_is_critical() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let netns = FirewallNs::new();
    netns.nft(
        "table inet filter {
           chain input {
             type filter hook input priority filter; policy drop;
             ct state established,related accept
             iifname \"lo\" accept
             tcp dport 80 accept
           }
         }",
    );
    let verdict = netns.diagnose();
    let finding = only_finding(&verdict, "SSH-FWL-001");
    assert_eq!(finding["severity"], "critical");
    assert_eq!(
        finding["title"],
        "nftables drops or rejects new connections to TCP 22 (inet filter input)"
    );
    assert!(
        has_evidence(
            finding,
            "chain input drops it: policy drop",
            "nft inet filter chain input policy"
        ),
        "{:?}",
        evidence(finding)
    );
    assert_eq!(
        finding["remediation"]["guest"][0],
        "nft insert rule inet filter input tcp dport 22 accept comment sshdoctor"
    );
}

#[test]
fn nft_explicit_drop_is_named_by_its_handle() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let netns = FirewallNs::new();
    netns.nft(
        "table ip guard {
           chain incoming {
             type filter hook input priority -10; policy accept;
             tcp dport 80 accept
             tcp dport 22 counter drop
           }
         }",
    );
    let handle = netns.nft_handle(
        "ip guard incoming",
        "tcp dport 22 counter packets 0 bytes 0 drop",
    );
    let verdict = netns.diagnose();
    let finding = only_finding(&verdict, "SSH-FWL-001");
    let source = format!("nft ip guard chain incoming handle {handle}");
    assert!(
        evidence(finding).iter().any(|line| line
            .starts_with("chain incoming drops it: tcp dport 22 counter packets")
            && line.ends_with(&format!("drop @ {source}"))),
        "{:?}",
        evidence(finding)
    );
}

#[test]
fn nft_ssh_accept_before_drop_all_is_fine() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let netns = FirewallNs::new();
    netns.nft(
        "table inet filter {
           chain input {
             type filter hook input priority filter; policy accept;
             ct state established,related accept
             meta l4proto tcp tcp dport { 22, 443 } ct state new accept
             drop
           }
         }",
    );
    let verdict = netns.diagnose();
    assert!(
        firewall_findings(&verdict).is_empty(),
        "{:#?}",
        firewall_findings(&verdict)
    );
}

#[test]
fn nft_jump_to_a_chain_that_rejects_names_that_rule() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let netns = FirewallNs::new();
    netns.nft(
        "table inet filter {
           chain ssh_guard {
             ip saddr 203.0.113.0/24 drop
             reject with tcp reset
           }
           chain input {
             type filter hook input priority filter; policy accept;
             tcp dport 22 jump ssh_guard
             accept
           }
         }",
    );
    let handle = netns.nft_handle(
        "inet filter ssh_guard",
        "meta l4proto tcp reject with tcp reset",
    );
    let verdict = netns.diagnose();
    let finding = only_finding(&verdict, "SSH-FWL-001");
    assert!(
        has_evidence(
            finding,
            "chain ssh_guard drops it: meta l4proto tcp reject with tcp reset",
            &format!("nft inet filter chain ssh_guard handle {handle}")
        ),
        "{:?}",
        evidence(finding)
    );
    // The accept goes into the base chain, ahead of the jump.
    assert_eq!(
        finding["remediation"]["guest"][0],
        "nft insert rule inet filter input tcp dport 22 accept comment sshdoctor"
    );
}

#[test]
fn nft_ssh_allowed_only_from_a_subnet_is_a_warning() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let netns = FirewallNs::new();
    netns.nft(
        "table inet filter {
           chain input {
             type filter hook input priority filter; policy accept;
             ip saddr 10.0.0.0/8 tcp dport 22 accept
             tcp dport 22 drop
           }
         }",
    );
    let accept = netns.nft_handle(
        "inet filter input",
        "ip saddr 10.0.0.0/8 tcp dport 22 accept",
    );
    let verdict = netns.diagnose();
    let finding = only_finding(&verdict, "SSH-FWL-005");
    assert_eq!(finding["severity"], "warning");
    assert_eq!(
        finding["title"],
        "nftables inet filter input may block TCP 22: allowed only from 10.0.0.0/8"
    );
    assert!(
        has_evidence(
            finding,
            "chain input allows only 10.0.0.0/8: ip saddr 10.0.0.0/8 tcp dport 22 accept",
            &format!("nft inet filter chain input handle {accept}")
        ),
        "{:?}",
        evidence(finding)
    );
}

#[test]
fn iptables_drop_on_the_nft_backend_is_reported_once_as_iptables() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let netns = FirewallNs::new();
    netns.run(
        &["iptables-nft", "-A", "INPUT", "-i", "lo", "-j", "ACCEPT"],
        None,
    );
    netns.run(
        &[
            "iptables-nft",
            "-A",
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            "22",
            "-j",
            "DROP",
        ],
        None,
    );
    let saved = String::from_utf8(netns.run(&["iptables-nft-save"], None).stdout).unwrap();
    let line = saved
        .lines()
        .position(|line| line == "-A INPUT -p tcp -m tcp --dport 22 -j DROP")
        .unwrap()
        + 1;
    let verdict = netns.diagnose();
    // The same rule is visible to nft as table ip filter: judged once, by iptables.
    let finding = only_finding(&verdict, "SSH-FWL-002");
    assert!(
        has_evidence(
            finding,
            "chain INPUT drops it: -A INPUT -p tcp -m tcp --dport 22 -j DROP",
            &format!("iptables-nft-save:{line}")
        ),
        "{:?}",
        evidence(finding)
    );
    assert_eq!(
        finding["remediation"]["guest"][0],
        "iptables-nft -I INPUT -p tcp --dport 22 -j ACCEPT"
    );
    let probe = firewall_probe(&verdict);
    assert!(
        probe["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|note| note == "iptables-nft-save: 2 rules in the nf_tables backend"),
        "{probe:#}"
    );
}

#[test]
fn iptables_legacy_drop_names_the_legacy_tool() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let netns = FirewallNs::new();
    netns.run(
        &["iptables-legacy-restore"],
        Some("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT\nCOMMIT\n"),
    );
    let verdict = netns.diagnose();
    let finding = only_finding(&verdict, "SSH-FWL-002");
    assert!(
        has_evidence(
            finding,
            "chain INPUT drops it: :INPUT DROP",
            "iptables-legacy-save filter INPUT policy"
        ),
        "{:?}",
        evidence(finding)
    );
    assert_eq!(
        finding["remediation"]["guest"][0],
        "iptables-legacy -I INPUT -p tcp --dport 22 -j ACCEPT"
    );
}

#[test]
fn iptables_policy_drop_with_an_ssh_accept_is_fine() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let netns = FirewallNs::new();
    netns.run(
        &["iptables-nft-restore"],
        Some(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -i lo -j ACCEPT\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n",
        ),
    );
    let verdict = netns.diagnose();
    assert!(
        firewall_findings(&verdict).is_empty(),
        "{:#?}",
        firewall_findings(&verdict)
    );
}

#[test]
fn no_ruleset_means_no_finding_and_an_ok_probe() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let netns = FirewallNs::new();
    let verdict = netns.diagnose();
    assert!(
        firewall_findings(&verdict).is_empty(),
        "{:#?}",
        firewall_findings(&verdict)
    );
    let probe = firewall_probe(&verdict);
    assert_eq!(probe["outcome"], "ok", "{probe:#}");
    let firewall = &verdict["facts"]["firewall"];
    assert_eq!(firewall["nftables"]["tables"], serde_json::json!([]));
    assert!(firewall["iptables"]
        .as_array()
        .unwrap()
        .iter()
        .all(|ruleset| ruleset["tables"] == serde_json::json!([])));
}

/// Installed but off, as firewalld and ufw often are: a system bus on which nobody holds
/// firewalld's name, and ufw.conf's ENABLED=no, say so without their Python tools.
#[test]
fn firewalld_off_the_bus_and_ufw_disabled_are_read_without_their_tools() {
    if !support::requires_root(NEEDS_ROOT)
        || !support::requires_program("dbus-daemon", "a system bus without firewalld")
        || !support::requires_program("firewall-cmd", "firewalld installed and not running")
        || !support::requires_program("ufw", "ufw installed and disabled")
    {
        return;
    }
    let bus = support::dbus::TestBus::start();
    let netns = FirewallNs::new();
    let script = format!(
        "set -e; mount --make-rprivate /; mount -t tmpfs tmpfs /etc/ufw; \
         printf 'ENABLED=no\\nLOGLEVEL=low\\n' > /etc/ufw/ufw.conf; \
         exec ip netns exec {} \"$0\" --format json --imds never --no-sshd-run --config {CONFIG}",
        netns.ns.name()
    );
    let output = std::process::Command::new("unshare")
        .args(["--mount", "sh", "-c", &script, support::sshdoctor_exe()])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .output()
        .unwrap();
    let verdict: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
    let probe = firewall_probe(&verdict);
    let notes = probe["notes"].to_string();
    assert!(
        notes.contains(
            "firewalld is not running (org.fedoraproject.FirewallD1 is not on the system bus)"
        ),
        "{notes}"
    );
    assert!(
        notes.contains("ufw is disabled (/etc/ufw/ufw.conf)"),
        "{notes}"
    );
    assert_eq!(verdict["facts"]["firewall"]["ufw"]["active"], false);
}
