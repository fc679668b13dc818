//! The evaluator against real packets: each ruleset (our own, one construct or trigger
//! each) is loaded into the VM's network namespace, a real sshd listens there, and a
//! real TCP connection from the client namespace (192.0.2.2, or 192.0.2.3 where the
//! ruleset tells sources apart) is the ground truth: the SSH banner arrives, or not.
//! The verdict must agree: no firewall finding where the banner came, a critical one
//! where it did not, "allowed only from" where only some sources get in.

use super::firewall_findings;
use crate::support;
use serde_json::Value;
use support::vm_net::{VmNet, SERVER};

const NEEDS_ROOT: &str = "rulesets, sshd and a client in network namespaces need root";
/// The client's second address, which no ruleset here allows by name.
const OTHER_CLIENT: &str = "192.0.2.3";

#[derive(Clone, Copy)]
enum Loader {
    Nft,
    Iptables,
    /// iptables' legacy backend (x_tables), beside whatever nftables holds.
    IptablesLegacy,
}

/// What the verdict must say of the SSH port.
#[derive(Debug, PartialEq)]
enum Expect {
    Open,
    /// Blocked, by the rule or policy whose evidence source starts with this.
    Blocked(&'static str),
    /// Open to 192.0.2.2 only, and the verdict says so.
    OnlyFrom(&'static str),
    /// Open to all but 192.0.2.3, which never logged in: a ban working as meant, of
    /// which the verdict says nothing.
    Banned,
}

/// Whether sshd's banner reaches the client from `source` (IPv4) within 3 s.
fn banner_reaches(network: &VmNet, source: &str) -> bool {
    banner(network, SERVER, &format!("('{source}', 0)"))
}

/// Whether sshd's banner reaches the client over IPv6 within 3 s.
fn banner_over_ipv6(network: &VmNet) -> bool {
    banner(network, SERVER6, "None")
}

/// A real TCP connection from the client to `server`:22, bound to `bind` (a Python
/// address tuple, or None), and whether the SSH banner came.
fn banner(network: &VmNet, server: &str, bind: &str) -> bool {
    let script = format!(
        "import socket\n\
         s = socket.create_connection(('{server}', 22), 3, {bind})\n\
         s.settimeout(3)\n\
         print(s.recv(64).decode(errors='replace'))"
    );
    client_says(network, &script).starts_with("SSH-2.0-")
}

/// What a Python `script` run in the client namespace printed.
fn client_says(network: &VmNet, script: &str) -> String {
    let output = network
        .client
        .command("python3")
        .args(["-c", script])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Gives the client its second address, OTHER_CLIENT.
fn add_other_client(network: &VmNet) {
    let address = format!("{OTHER_CLIENT}/24");
    network
        .client
        .ip(&["address", "add", &address, "dev", "eth0"]);
}

/// Loads `ruleset` into the VM's namespace with the loader's own tool.
fn load(network: &VmNet, ruleset: &str, loader: Loader) {
    match loader {
        Loader::Nft => network.server.exec(&["nft", "-f", "-"], ruleset),
        Loader::Iptables => network.server.exec(&["iptables-nft-restore"], ruleset),
        Loader::IptablesLegacy => network.server.exec(&["iptables-legacy-restore"], ruleset),
    };
}

/// Loads `ruleset`, checks real connections from both client addresses against
/// `expect`, then the verdict.
fn judged(ruleset: &str, loader: Loader, expect: Expect) {
    judged_on(|_| vec![(ruleset.to_string(), loader)], expect);
}

/// As `judged`, for rulesets loaded together (nftables and iptables' legacy backend both
/// filter), or that name something of the namespaces (an interface's index): `layers`
/// writes them once the namespaces exist.
fn judged_on(layers: impl FnOnce(&VmNet) -> Vec<(String, Loader)>, expect: Expect) {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let network = VmNet::new();
    add_other_client(&network);
    let sshd = network.start_sshd(&[]);
    let layers = layers(&network);
    for (ruleset, loader) in &layers {
        load(&network, ruleset, *loader);
    }
    let ruleset = layers
        .iter()
        .map(|(ruleset, _)| ruleset.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let ruleset = &ruleset;
    let (first, other) = (
        banner_reaches(&network, "192.0.2.2"),
        banner_reaches(&network, OTHER_CLIENT),
    );
    let truth = match (first, other) {
        (true, true) => "open",
        (false, false) => "blocked",
        (true, false) => "only 192.0.2.2",
        (false, true) => "only the other",
    };
    let wanted = match expect {
        Expect::Open => "open",
        Expect::Blocked(_) => "blocked",
        Expect::OnlyFrom(_) | Expect::Banned => "only 192.0.2.2",
    };
    assert_eq!(truth, wanted, "the real packets for {ruleset}");
    let verdict = verdict_of(&network, &sshd);
    let findings = firewall_findings(&verdict);
    match expect {
        Expect::Open | Expect::Banned => {
            assert!(findings.is_empty(), "{ruleset}\n{findings:#?}")
        }
        Expect::Blocked(source) => {
            assert_eq!(findings.len(), 1, "{ruleset}\n{findings:#?}");
            assert_eq!(findings[0]["severity"], "critical", "{findings:#?}");
            let sources = findings[0]["evidence"].to_string();
            assert!(sources.contains(source), "{source} not in {sources}");
        }
        Expect::OnlyFrom(sources) => {
            assert_eq!(findings.len(), 1, "{ruleset}\n{findings:#?}");
            let title = findings[0]["title"].as_str().unwrap();
            assert!(
                title.ends_with(&format!("allowed only from {sources}")),
                "{title}"
            );
        }
    }
}

/// A native nftables table that happens to be called "filter": iptables-nft-save shows
/// an empty skeleton of it, which is not the table that drops.
#[test]
fn a_native_table_named_filter_is_judged_by_its_own_rules() {
    judged(
        "table ip filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n }\n}\n",
        Loader::Nft,
        Expect::Blocked("nft ip filter chain input policy"),
    );
}

/// A dynamic set update with a rate limit drops only clients over the rate.
#[test]
fn a_rate_limited_set_update_drops_only_over_the_rate() {
    judged(
        "table inet guard {\n set flood { type ipv4_addr; flags dynamic; }\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  ct state new add @flood { ip saddr limit rate over 6000/minute } drop\n  tcp dport 22 accept\n }\n}\n",
        Loader::Nft,
        Expect::Open,
    );
}

/// Anti-spoofing, fragments, conntrack status, reverse-path and bogus-MSS lines concern
/// other packets: the walk goes on to the SSH accept.
#[test]
fn lines_for_other_packets_do_not_stop_the_walk() {
    judged(
        "table inet guard {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  iif != lo ip daddr 127.0.0.0/8 drop\n  ip frag-off & 0x1fff != 0 drop\n  ct status dnat drop\n  fib saddr . iif oif missing drop\n  tcp flags syn tcp option maxseg size 1-535 drop\n  fib daddr type local tcp dport 22 accept\n }\n}\n",
        Loader::Nft,
        Expect::Open,
    );
}

/// A concatenated set of source and port: only the listed client gets in.
#[test]
fn a_concatenated_set_lets_only_its_sources_in() {
    judged(
        "table inet guard {\n set admins { type ipv4_addr . inet_service; elements = { 192.0.2.2 . 22, 198.51.100.7 . 443 } }\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  ip saddr . tcp dport @admins accept\n }\n}\n",
        Loader::Nft,
        Expect::OnlyFrom("192.0.2.2"),
    );
}

/// The same set without the SSH port in it lets nobody in.
#[test]
fn a_concatenated_set_without_the_port_blocks() {
    judged(
        "table inet guard {\n set admins { type ipv4_addr . inet_service; elements = { 192.0.2.2 . 443 } }\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  ip saddr . tcp dport @admins accept\n }\n}\n",
        Loader::Nft,
        Expect::Blocked("nft inet guard chain input policy"),
    );
}

const IPTABLES_HEAD: &str =
    "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n";

/// The anti-spoofing line, an upper-case user chain, a brute-force guard by hit count,
/// a source-port range, hashlimit and connlimit: none stops a first connection.
#[test]
fn iptables_guards_let_a_first_connection_in() {
    let ruleset = format!(
        "{IPTABLES_HEAD}:TCP - [0:0]\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A INPUT -d 127.0.0.0/8 ! -i lo -j REJECT --reject-with icmp-port-unreachable\n\
         -A INPUT -f -j DROP\n\
         -A INPUT -p tcp --syn -m conntrack --ctstate NEW -j TCP\n\
         -A TCP -p tcp --dport 22 -m recent --set --name SSH --rsource\n\
         -A TCP -p tcp --dport 22 -m recent --update --seconds 60 --hitcount 4 --name SSH --rsource -j DROP\n\
         -A TCP -p tcp --dport 22 -m hashlimit --hashlimit-above 20/min --hashlimit-mode srcip --hashlimit-name ssh -j DROP\n\
         -A TCP -p tcp --dport 22 -m connlimit --connlimit-above 3 --connlimit-mask 32 -j REJECT --reject-with tcp-reset\n\
         -A TCP -p tcp --sport 1024:65535 --dport 22 -j ACCEPT\n\
         COMMIT\n"
    );
    judged(&ruleset, Loader::Iptables, Expect::Open);
}

/// The upper-case user chain that rejects: the verdict follows the jump and names it.
#[test]
fn iptables_upper_case_chain_that_rejects_is_followed() {
    let ruleset = format!(
        "{IPTABLES_HEAD}:TCP - [0:0]\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A INPUT -p tcp -j TCP\n\
         -A INPUT -p tcp --dport 22 -j ACCEPT\n\
         -A TCP -p tcp --dport 22 -j REJECT --reject-with tcp-reset\n\
         COMMIT\n"
    );
    judged(
        &ruleset,
        Loader::Iptables,
        Expect::Blocked("iptables-nft-save:"),
    );
}

const SERVER6: &str = "2001:db8::1";

/// The VM and client with IPv6 too (2001:db8::1 and ::2 on the same link, no duplicate
/// address detection to wait for), sshd listening on both families, `ruleset` loaded.
fn dual_stack(ruleset: &str, loader: Loader) -> (VmNet, support::Sshd) {
    let network = VmNet::new();
    network.server.ip(&[
        "-6",
        "address",
        "add",
        &format!("{SERVER6}/64"),
        "dev",
        "eth0",
        "nodad",
    ]);
    network.client.ip(&[
        "-6",
        "address",
        "add",
        "2001:db8::2/64",
        "dev",
        "eth0",
        "nodad",
    ]);
    let sshd = network.start_sshd(&[]);
    match loader {
        Loader::Nft => network.server.exec(&["nft", "-f", "-"], ruleset),
        Loader::Iptables => network.server.exec(&["ip6tables-nft-restore"], ruleset),
        Loader::IptablesLegacy => network.server.exec(&["ip6tables-legacy-restore"], ruleset),
    };
    (network, sshd)
}

fn verdict_of(network: &VmNet, sshd: &support::Sshd) -> Value {
    let config = sshd.config_path().display().to_string();
    network
        .server
        .diagnose(&["--no-probe", "--config", &config])
}

/// A policy drop with only TCP 22 accepted: IPv4 SSH works, IPv6's neighbour discovery
/// is swallowed, so no IPv6 SYN ever arrives. The verdict says so, as a warning while
/// IPv4 works, and its command makes IPv6 work.
#[test]
fn neighbour_discovery_dropped_by_the_policy_breaks_ipv6_only() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let (network, sshd) = dual_stack(
        "table inet guard {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  tcp dport 22 accept\n }\n}\n",
        Loader::Nft,
    );
    assert!(banner_reaches(&network, "192.0.2.2"), "IPv4 gets in");
    assert!(!banner_over_ipv6(&network), "IPv6 does not");
    let verdict = verdict_of(&network, &sshd);
    let findings = firewall_findings(&verdict);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let ndp = findings[0];
    assert_eq!(ndp["id"], "SSH-FWL-006");
    assert_eq!(ndp["severity"], "warning");
    assert_eq!(
        ndp["title"],
        "nftables inet guard input drops IPv6 neighbour discovery: no IPv6 client reaches TCP 22"
    );
    let command = ndp["remediation"]["guest"][0].as_str().unwrap();
    network.server.exec(&["sh", "-c", command], "");
    assert!(banner_over_ipv6(&network), "after {command}");
    assert!(firewall_findings(&verdict_of(&network, &sshd)).is_empty());
}

/// Conntrack does not track neighbour discovery: "ct state invalid drop" before the
/// ICMPv6 accept leaves IPv6 working, and the verdict agrees.
#[test]
fn neighbour_discovery_accepted_after_invalid_drop_works() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let (network, sshd) = dual_stack(
        "table inet guard {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state invalid drop\n  ct state established,related accept\n  icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n  tcp dport 22 accept\n }\n}\n",
        Loader::Nft,
    );
    assert!(banner_over_ipv6(&network));
    let findings_now = verdict_of(&network, &sshd);
    assert!(
        firewall_findings(&findings_now).is_empty(),
        "{findings_now:#}"
    );
}

/// An ip6 table that lets neighbour discovery in but not SSH: IPv6 is blocked by its
/// policy, IPv4 is not; the finding says IPv6 and is a warning.
#[test]
fn an_ipv6_only_drop_is_named_as_ipv6() {
    ipv6_alone_blocked(
        "table ip6 guard {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n }\n}\n",
        "SSH-FWL-001",
        "nftables drops or rejects new connections to TCP 22 over IPv6 (ip6 guard input)",
    );
}

/// `ruleset` (nft) keeps IPv6 clients out and lets IPv4 ones in, as real connections
/// show: the one firewall finding is `id`, a warning titled `title`, and its first
/// command makes IPv6 work.
fn ipv6_alone_blocked(ruleset: &str, id: &str, title: &str) {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let (network, sshd) = dual_stack(ruleset, Loader::Nft);
    assert!(banner_reaches(&network, "192.0.2.2"));
    assert!(!banner_over_ipv6(&network));
    let verdict = verdict_of(&network, &sshd);
    let findings = firewall_findings(&verdict);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["id"], id);
    assert_eq!(findings[0]["severity"], "warning");
    assert_eq!(findings[0]["title"], title);
    let command = findings[0]["remediation"]["guest"][0].as_str().unwrap();
    network.server.exec(&["sh", "-c", command], "");
    assert!(banner_over_ipv6(&network), "after {command}");
}

/// ip6tables with the same mistake: the neighbour discovery finding names ip6tables and
/// its commands, which make IPv6 work.
#[test]
fn ip6tables_dropping_neighbour_discovery_is_named() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let (network, sshd) = dual_stack(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
        Loader::Iptables,
    );
    assert!(!banner_over_ipv6(&network));
    let verdict = verdict_of(&network, &sshd);
    let findings = firewall_findings(&verdict);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["id"], "SSH-FWL-006");
    let command = findings[0]["remediation"]["guest"][0].as_str().unwrap();
    assert!(
        command.starts_with("ip6tables-nft -I INPUT -p ipv6-icmp"),
        "{command}"
    );
    network.server.exec(&["sh", "-c", command], "");
    assert!(banner_over_ipv6(&network), "after {command}");
}

/// ufw allowing SSH by its application profile shows the row "22/tcp (OpenSSH)": the
/// port before the profile's name counts.
#[test]
fn ufw_rows_of_an_application_profile_are_judged() {
    if !support::requires_root(NEEDS_ROOT)
        || !support::requires_program("ufw", "a real ufw, whose status rows are judged")
    {
        return;
    }
    support::accounts::in_private_system("", || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[]);
        for rule in ["default deny incoming", "allow OpenSSH", "--force enable"] {
            let mut command = vec!["ufw"];
            command.extend(rule.split_whitespace());
            network.server.exec(&command, "");
        }
        let status = network.server.exec(&["ufw", "status", "verbose"], "");
        let status = String::from_utf8_lossy(&status.stdout).into_owned();
        assert!(status.contains("22/tcp (OpenSSH)"), "{status}");
        assert!(banner_reaches(&network, "192.0.2.2"));
        let verdict = verdict_of(&network, &sshd);
        assert!(
            firewall_findings(&verdict).is_empty(),
            "{status}\n{verdict:#}"
        );
    });
}

/// A drop on the prerouting hook stops the packet before any input chain accepts it;
/// the printed accept goes into that chain and opens the port.
#[test]
fn a_prerouting_drop_is_found_and_fixed_there() {
    let ruleset = "table inet early {\n chain pre {\n  type filter hook prerouting priority raw; policy accept;\n  tcp dport 22 drop\n }\n}\n\
                   table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  tcp dport 22 accept\n }\n}\n";
    let Some((_, command)) =
        fixed_as_printed(ruleset, Loader::Nft, "nft inet early chain pre handle")
    else {
        return;
    };
    assert!(
        command.starts_with("nft insert rule inet early pre tcp dport 22 accept"),
        "{command}"
    );
}

/// `ruleset` blocks the port by the rule or policy at `blocked_by` (real packets and the
/// verdict agree), then, loaded again with a real sshd listening, the firewall finding's
/// first command run as printed must let the banner reach the client. The finding's
/// title and the command, for the caller to check; None without root.
fn fixed_as_printed(
    ruleset: &str,
    loader: Loader,
    blocked_by: &'static str,
) -> Option<(String, String)> {
    if !support::requires_root(NEEDS_ROOT) {
        return None;
    }
    judged(ruleset, loader, Expect::Blocked(blocked_by));
    let network = VmNet::new();
    let sshd = network.start_sshd(&[]);
    load(&network, ruleset, loader);
    let verdict = verdict_of(&network, &sshd);
    let findings = firewall_findings(&verdict);
    let title = findings[0]["title"].as_str().unwrap().to_string();
    let command = findings[0]["remediation"]["guest"][0]
        .as_str()
        .unwrap()
        .to_string();
    network.server.exec(&["sh", "-c", &command], "");
    assert!(banner_reaches(&network, "192.0.2.2"), "after {command}");
    Some((title, command))
}

/// A match the evaluator does not model, on a rule whose outcome a later rule gives
/// anyway: followed both ways, the walk ends in the same accept, so the verdict knows.
#[test]
fn an_unknown_match_that_changes_nothing_is_judged() {
    judged(
        "table inet guard {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  meta mark 0x00000001 accept\n  tcp dport 22 accept\n }\n}\n",
        Loader::Nft,
        Expect::Open,
    );
}

/// A verdict map on the port, a named interval set, and a jump to a chain that drops
/// other sources and returns: each followed to the accept.
#[test]
fn verdict_maps_interval_sets_and_returns_are_followed() {
    judged(
        "table inet guard {\n set admin_ports { type inet_service; flags interval; elements = { 20-25, 8000-8100 } }\n \
         chain screen {\n  ip saddr 198.51.100.0/24 drop\n  return\n }\n \
         chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  jump screen\n  \
         tcp dport vmap { 80 : drop, 443 : drop }\n  tcp dport @admin_ports accept\n }\n}\n",
        Loader::Nft,
        Expect::Open,
    );
}

/// A named verdict map, looked up by its elements: 22 : drop blocks, 22 : accept opens.
#[test]
fn a_named_verdict_map_is_looked_up() {
    let ruleset = |verdict: &str| {
        format!(
            "table inet guard {{\n map by_port {{ type inet_service : verdict; elements = {{ 22 : {verdict}, 80 : accept }} }}\n \
             chain input {{\n  type filter hook input priority 0; policy accept;\n  tcp dport vmap @by_port\n  tcp dport 22 drop\n }}\n}}\n"
        )
    };
    judged(
        &ruleset("drop"),
        Loader::Nft,
        Expect::Blocked("nft inet guard chain input handle"),
    );
    judged(&ruleset("accept"), Loader::Nft, Expect::Open);
}

/// A reject with a TCP reset refuses at once; the verdict says blocked all the same.
#[test]
fn a_reject_with_tcp_reset_blocks() {
    judged(
        "table inet guard {\n chain input {\n  type filter hook input priority 0; policy accept;\n  tcp dport 22 reject with tcp reset\n }\n}\n",
        Loader::Nft,
        Expect::Blocked("nft inet guard chain input handle"),
    );
}

/// An interface given by its index: nft shows the index's interface by name, and a
/// drop on the server's own interface blocks; an index no interface has (a NIC that is
/// gone) matches nothing, and the accept after it lets clients in.
#[test]
fn interfaces_given_by_index_are_judged_by_the_interface_that_has_it() {
    let ruleset = |index: &str| {
        format!(
            "table inet guard {{\n chain input {{\n  type filter hook input priority 0; policy drop;\n  \
             ct state established,related accept\n  iif {index} tcp dport 22 drop\n  tcp dport 22 accept\n }}\n}}\n"
        )
    };
    judged_on(
        |network| vec![(ruleset(&interface_index(network, "eth0")), Loader::Nft)],
        Expect::Blocked("nft inet guard chain input handle"),
    );
    judged(&ruleset("4000"), Loader::Nft, Expect::Open);
}

/// The index of the server namespace's interface `name`.
fn interface_index(network: &VmNet, name: &str) -> String {
    let listed = network.server.exec(&["ip", "-o", "link", "show", name], "");
    let line = String::from_utf8_lossy(&listed.stdout).into_owned();
    let index = line.split(':').next().unwrap().trim().to_string();
    assert!(index.parse::<u32>().is_ok(), "no index in {line:?}");
    index
}

/// multiport with a negation: "not 80 or 443" drops 22; "not 22 or 443" lets it by.
#[test]
fn multiport_negation_is_judged_both_ways() {
    let ruleset = |ports: &str| {
        format!(
            "{IPTABLES_HEAD}-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
             -A INPUT -p tcp -m multiport ! --dports {ports} -j DROP\n\
             -A INPUT -p tcp -j ACCEPT\nCOMMIT\n"
        )
    };
    judged(&ruleset("22,443"), Loader::Iptables, Expect::Open);
    judged(
        &ruleset("80,443"),
        Loader::Iptables,
        Expect::Blocked("iptables-nft-save:"),
    );
}

/// iptables' legacy backend and nftables both filter: a legacy drop blocks SSH while
/// nftables holds nothing, and the finding names the legacy tool.
#[test]
fn a_legacy_backend_drop_applies_beside_nftables() {
    if !support::requires_program("iptables-legacy-restore", "iptables' legacy backend") {
        return;
    }
    judged(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n",
        Loader::IptablesLegacy,
        Expect::Blocked("iptables-legacy-save:"),
    );
}

/// Both backends at once: an nftables table that accepts SSH does not open what the
/// legacy backend drops, nor the other way round. The finding names the one that drops.
#[test]
fn nftables_and_the_legacy_backend_both_filter() {
    if !support::requires_program("iptables-legacy-restore", "iptables' legacy backend") {
        return;
    }
    let nft_accepting = "table inet guard {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  tcp dport 22 accept\n }\n}\n";
    let legacy = |ssh: &str| {
        format!(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
             -A INPUT -p tcp --dport 22 -j {ssh}\nCOMMIT\n"
        )
    };
    judged_on(
        |_| {
            vec![
                (nft_accepting.to_string(), Loader::Nft),
                (legacy("DROP"), Loader::IptablesLegacy),
            ]
        },
        Expect::Blocked("iptables-legacy-save:"),
    );
    judged_on(
        |_| {
            vec![
                (
                    "table inet guard {\n chain input {\n  type filter hook input priority 0; policy drop;\n }\n}\n"
                        .to_string(),
                    Loader::Nft,
                ),
                (legacy("ACCEPT"), Loader::IptablesLegacy),
            ]
        },
        Expect::Blocked("nft inet guard chain input policy"),
    );
    judged_on(
        |_| {
            vec![
                (nft_accepting.to_string(), Loader::Nft),
                (legacy("ACCEPT"), Loader::IptablesLegacy),
            ]
        },
        Expect::Open,
    );
}

/// A rate limit with one bucket for every client (`-m limit`, nft's `limit rate`): the
/// first connections get in, the ones past the burst are dropped. The verdict says SSH
/// is let in only within that rate, and its accept for every client lets the next in.
#[test]
fn a_rate_all_clients_share_lets_only_the_first_in() {
    rate_shared(
        &format!(
            "{IPTABLES_HEAD}-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
             -A INPUT -p tcp --dport 22 -m conntrack --ctstate NEW -m limit --limit 1/hour --limit-burst 2 -j ACCEPT\n\
             COMMIT\n"
        ),
        Loader::Iptables,
        "1/hour (burst 2)",
    );
    rate_shared(
        "table inet guard {\n chain input {\n  type filter hook input priority 0; policy drop;\n  \
         ct state established,related accept\n  tcp dport 22 ct state new limit rate 1/hour burst 2 packets accept\n }\n}\n",
        Loader::Nft,
        "1/hour (burst 2)",
    );
}

/// A count of open connections kept for all clients (`ct count` outside a set): while
/// one connection is open, the next one is dropped. The verdict says SSH is let in only
/// while the count allows.
#[test]
fn a_connection_count_all_clients_share_lets_only_the_first_in() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let network = VmNet::new();
    let sshd = network.start_sshd(&[]);
    load(
        &network,
        "table inet guard {\n chain input {\n  type filter hook input priority 0; policy drop;\n  \
         ct state established,related accept\n  tcp dport 22 ct state new ct count 1 accept\n }\n}\n",
        Loader::Nft,
    );
    // The first connection stays open while the second tries.
    let script = format!(
        "import socket\n\
         first = socket.create_connection(('{SERVER}', 22), 3)\n\
         first.settimeout(3)\n\
         print(first.recv(64).decode(errors='replace').startswith('SSH-2.0-'))\n\
         try:\n    socket.create_connection(('{SERVER}', 22), 3).recv(64)\n    print(True)\n\
         except OSError:\n    print(False)\n"
    );
    assert_eq!(client_says(&network, &script), "True\nFalse\n");
    let verdict = verdict_of(&network, &sshd);
    let findings = firewall_findings(&verdict);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let title = findings[0]["title"].as_str().unwrap();
    assert!(
        title.ends_with("allowed only from clients up to 1 open connection at a time, a count all clients share"),
        "{title}"
    );
}

fn rate_shared(ruleset: &str, loader: Loader, rate: &str) {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let network = VmNet::new();
    let sshd = network.start_sshd(&[]);
    load(&network, ruleset, loader);
    let tries: Vec<bool> = (0..3)
        .map(|_| banner_reaches(&network, "192.0.2.2"))
        .collect();
    assert_eq!(tries, [true, true, false], "the real packets for {ruleset}");
    let verdict = verdict_of(&network, &sshd);
    let findings = firewall_findings(&verdict);
    assert_eq!(findings.len(), 1, "{ruleset}\n{findings:#?}");
    assert_eq!(findings[0]["id"], "SSH-FWL-005");
    let title = findings[0]["title"].as_str().unwrap();
    assert!(
        title.ends_with(&format!(
            "allowed only from clients within {rate}, a rate all clients share"
        )),
        "{title}"
    );
    let command = findings[0]["remediation"]["guest"][1].as_str().unwrap();
    let accept = command.split("   #").next().unwrap();
    network.server.exec(&["sh", "-c", accept], "");
    assert!(banner_reaches(&network, "192.0.2.2"), "after {accept}");
}

/// firewalld as configured with firewall-cmd, each step checked with real connections
/// from both clients: the ssh service, then a port instead of it, then a rich rule for
/// one source, then nothing (blocked, with the command that opens it).
#[test]
fn firewalld_services_ports_and_rich_rules_are_judged() {
    if !support::requires_root(NEEDS_ROOT)
        || !support::requires_program("firewalld", "a real firewalld to judge")
    {
        return;
    }
    use support::firewalld::{firewall_cmd, with_firewalld};
    with_firewalld(|network, sshd| {
        add_other_client(network);
        let verdict = || {
            firewall_findings(&verdict_of(network, sshd))
                .into_iter()
                .cloned()
                .collect::<Vec<Value>>()
        };
        let reaches = || {
            (
                banner_reaches(network, "192.0.2.2"),
                banner_reaches(network, OTHER_CLIENT),
            )
        };
        assert_eq!(
            reaches(),
            (true, true),
            "the ssh service of the public zone"
        );
        assert_eq!(verdict(), Vec::<Value>::new());

        // A direct rule lands in iptables' own tables, where it drops before the zone.
        let direct = [
            "ipv4", "filter", "INPUT", "0", "-p", "tcp", "--dport", "22", "-j", "DROP",
        ];
        firewall_cmd(
            network,
            &[&["--direct", "--add-rule"][..], &direct].concat(),
        );
        assert_eq!(reaches(), (false, false), "a direct rule's drop");
        let dropped = verdict();
        assert_eq!(dropped.len(), 1, "{dropped:#?}");
        assert_eq!(dropped[0]["severity"], "critical", "{dropped:#?}");
        assert!(
            dropped[0]["evidence"]
                .to_string()
                .contains("-A INPUT -p tcp -m tcp --dport 22 -j DROP"),
            "{dropped:#?}"
        );
        firewall_cmd(
            network,
            &[&["--direct", "--remove-rule"][..], &direct].concat(),
        );

        firewall_cmd(network, &["--zone=public", "--remove-service=ssh"]);
        firewall_cmd(network, &["--zone=public", "--add-port=22/tcp"]);
        assert_eq!(
            reaches(),
            (true, true),
            "port 22/tcp instead of the service"
        );
        assert_eq!(verdict(), Vec::<Value>::new());

        firewall_cmd(network, &["--zone=public", "--remove-port=22/tcp"]);
        let rich_rule = |change: &str| {
            let rule =
                "rule family=\"ipv4\" source address=\"192.0.2.2/32\" service name=\"ssh\" accept";
            firewall_cmd(
                network,
                &["--zone=public", &format!("--{change}-rich-rule={rule}")],
            );
        };
        rich_rule("add");
        assert_eq!(reaches(), (true, false), "a rich rule for 192.0.2.2");
        let only = verdict();
        assert_eq!(only.len(), 1, "{only:#?}");
        let title = only[0]["title"].as_str().unwrap();
        assert!(title.ends_with("allowed only from 192.0.2.2/32"), "{title}");

        rich_rule("remove");
        assert_eq!(reaches(), (false, false), "nothing lets SSH in");
        let blocked = verdict();
        assert_eq!(blocked.len(), 1, "{blocked:#?}");
        assert_eq!(blocked[0]["severity"], "critical", "{blocked:#?}");
        let command = blocked[0]["remediation"]["guest"][0].as_str().unwrap();
        network.server.exec(&["sh", "-c", command], "");
        assert_eq!(reaches(), (true, true), "after {command}");
    });
}

/// fail2ban's way: INPUT jumps to a chain that rejects the banned addresses and returns
/// for the rest, which the INPUT accept lets in. (A banned address that had logged in
/// before is SSH-FWL-007's, tested with the clients that logged in.)
#[test]
fn a_ban_chain_that_returns_lets_the_others_in() {
    judged(
        &format!(
            "{IPTABLES_HEAD}:f2b-sshd - [0:0]\n\
             -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
             -A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd\n\
             -A INPUT -p tcp --dport 22 -j ACCEPT\n\
             -A f2b-sshd -s {OTHER_CLIENT}/32 -j REJECT --reject-with icmp-port-unreachable\n\
             -A f2b-sshd -j RETURN\nCOMMIT\n"
        ),
        Loader::Iptables,
        Expect::Banned,
    );
}

/// A goto to a chain that ends without a verdict falls back to the base chain's policy,
/// not to the rule after the goto; an icmpx reject there blocks.
#[test]
fn a_goto_ends_at_the_base_chain_policy() {
    judged(
        "table inet guard {\n chain screen {\n  ip saddr 198.51.100.0/24 drop\n }\n \
         chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  \
         tcp dport 22 goto screen\n  tcp dport 22 accept\n }\n}\n",
        Loader::Nft,
        Expect::Blocked("nft inet guard chain input policy"),
    );
    judged(
        "table inet guard {\n chain input {\n  type filter hook input priority 0; policy accept;\n  \
         tcp dport 22 reject with icmpx type admin-prohibited\n }\n}\n",
        Loader::Nft,
        Expect::Blocked("nft inet guard chain input handle"),
    );
}

/// A hand-written `table ip filter` whose chain is called INPUT, like iptables-nft's,
/// but holds native nft rules: its drop is judged, by one layer.
#[test]
fn a_native_table_with_an_upper_case_input_chain_is_judged() {
    judged(
        "table ip filter {\n chain INPUT {\n  type filter hook input priority 0; policy accept;\n  tcp dport 22 counter drop\n }\n}\n",
        Loader::Nft,
        Expect::Blocked(""),
    );
}

/// A drop in the raw table's PREROUTING stops the packet before filter's INPUT accepts
/// it; the printed accept goes first in that chain and opens the port.
#[test]
fn an_iptables_raw_prerouting_drop_is_found_and_fixed_there() {
    let ruleset = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                   -A PREROUTING -p tcp -m tcp --dport 22 -j DROP\nCOMMIT\n\
                   *filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                   -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
                   -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let Some((title, command)) = fixed_as_printed(ruleset, Loader::Iptables, "iptables-nft-save:")
    else {
        return;
    };
    assert_eq!(
        title,
        "iptables drops or rejects new connections to TCP 22 (raw PREROUTING)"
    );
    assert_eq!(
        command,
        "iptables-nft -t raw -I PREROUTING -p tcp --dport 22 -j ACCEPT"
    );
}

/// The mangle table's PREROUTING guards of anti-flood guides (invalid state, a new
/// connection without SYN, a bogus MSS, spoofed sources) drop other packets: a
/// client's first SYN passes them to filter's accept.
#[test]
fn iptables_mangle_guards_let_a_first_connection_in() {
    let ruleset = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
                   :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                   -A PREROUTING -m conntrack --ctstate INVALID -j DROP\n\
                   -A PREROUTING -p tcp ! --syn -m conntrack --ctstate NEW -j DROP\n\
                   -A PREROUTING -p tcp -m conntrack --ctstate NEW -m tcpmss ! --mss 536:65535 -j DROP\n\
                   -A PREROUTING -s 224.0.0.0/3 -j DROP\n\
                   -A PREROUTING -s 127.0.0.0/8 ! -i lo -j DROP\n\
                   -A INPUT -p tcp --tcp-flags FIN,SYN FIN,SYN -j DROP\nCOMMIT\n\
                   *filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                   -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
                   -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    judged(ruleset, Loader::Iptables, Expect::Open);
}

/// alice logged in from 192.0.2.3; then a blocklist set drops that address while the
/// port stays open to others. The real connections agree (192.0.2.2 gets the banner,
/// 192.0.2.3 does not); the verdict names the address, alice's login from it and the
/// rule, and the printed accept for that address lets it in again.
#[test]
fn a_client_that_logged_in_before_and_is_now_dropped_is_named() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    use support::accounts::{in_private_system, ALICE};
    in_private_system(ALICE, || {
        let network = VmNet::new();
        add_other_client(&network);
        let sshd = network.start_sshd(&["UsePAM no"]);
        let login = network
            .client
            .command("ssh")
            .args([
                "-F",
                "/dev/null",
                "-i",
                "/tmp/alice_key",
                "-b",
                OTHER_CLIENT,
            ])
            .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"])
            .args([
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=5",
            ])
            .arg(format!("alice@{SERVER}"))
            .arg("true")
            .output()
            .unwrap();
        assert!(login.status.success(), "{login:?}");
        network.server.exec(
            &["nft", "-f", "-"],
            "table inet guard {\n set blocked { type ipv4_addr; elements = { 203.0.113.9, 192.0.2.3 } }\n chain input {\n  type filter hook input priority 0; policy accept;\n  ip saddr @blocked drop\n }\n}\n",
        );
        assert!(banner_reaches(&network, "192.0.2.2"));
        assert!(!banner_reaches(&network, OTHER_CLIENT));
        let (verdict, _) = network.diagnose_with_log(&sshd);
        let findings = firewall_findings(&verdict);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let dropped = findings[0];
        assert_eq!(dropped["id"], "SSH-FWL-007");
        assert_eq!(
            dropped["severity"], "critical",
            "alice's newest login came from there"
        );
        assert_eq!(
            dropped["title"],
            "nftables inet guard input drops TCP 22 from 192.0.2.3, where alice logged in from"
        );
        let evidence = dropped["evidence"].to_string();
        assert!(evidence.contains("ip saddr @blocked drop"), "{evidence}");
        let command = dropped["remediation"]["guest"][0].as_str().unwrap();
        assert_eq!(
            command,
            "nft insert rule inet guard input ip saddr 192.0.2.3 tcp dport 22 accept"
        );
        network.server.exec(&["sh", "-c", command], "");
        assert!(banner_reaches(&network, OTHER_CLIENT), "after {command}");
        // A mask of scattered bits, which nft cannot show as a prefix, drops .3 too:
        // whether it holds that one address is not modelled, and "open" would be wrong.
        network.server.exec(
            &["nft", "-f", "-"],
            "flush ruleset\ntable inet guard {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ip saddr & 0.0.0.255 == 0.0.0.3 drop\n }\n}\n",
        );
        assert!(!banner_reaches(&network, OTHER_CLIENT));
        // The log as before, without the first diagnosis's probes: the test's log gives
        // every line the listener's pid, where each connection's own would tell them apart.
        let lines: Vec<String> = support::as_auth_log(&sshd.log(), sshd.pid())
            .into_iter()
            .filter(|line| !line.contains(" 127."))
            .collect();
        std::fs::write("/var/log/auth.log", lines.join("\n") + "\n").unwrap();
        let (verdict, _) = network.diagnose(&sshd);
        let findings = firewall_findings(&verdict);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0]["id"], "SSH-FWL-005");
        assert_eq!(
            findings[0]["title"],
            "nftables inet guard input may block TCP 22 from 192.0.2.3: not evaluated: \
             source address masked by 0.0.0.255: dropped if it matches, accepted if not"
        );
        let command = findings[0]["remediation"]["guest"][1].as_str().unwrap();
        let accept = command.split("   #").next().unwrap();
        network.server.exec(&["sh", "-c", accept], "");
        assert!(banner_reaches(&network, OTHER_CLIENT), "after {accept}");
    });
}

/// filter INPUT lets the SYN in, but OUTPUT's policy drops everything and nothing
/// accepts established connections: sshd's SYN-ACK never leaves, and the client times
/// out. The verdict names OUTPUT's policy; the printed accept of packets from the SSH
/// port lets the answer out.
#[test]
fn an_output_policy_drop_swallows_the_syn_ack_and_is_fixed_there() {
    let ruleset = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
                   -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
                   -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
                   -A OUTPUT -o lo -j ACCEPT\nCOMMIT\n";
    let Some((title, command)) = fixed_as_printed(
        ruleset,
        Loader::Iptables,
        "iptables-nft-save filter OUTPUT policy",
    ) else {
        return;
    };
    assert_eq!(
        title,
        "iptables (iptables-nft-save) filter OUTPUT drops sshd's replies on TCP 22: every client times out"
    );
    assert_eq!(
        command,
        "iptables-nft -I OUTPUT -p tcp --sport 22 -j ACCEPT"
    );
}

/// The same closed OUTPUT with established connections accepted: the SYN-ACK leaves.
#[test]
fn an_output_policy_drop_with_established_accepted_lets_replies_out() {
    judged(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
         -A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n",
        Loader::Iptables,
        Expect::Open,
    );
}

/// nftables' output hook: a policy drop without `ct state established accept` swallows
/// the SYN-ACK, and the printed `tcp sport` accept lets it out; with the established
/// accept, replies leave and nothing is said.
#[test]
fn an_nftables_output_chain_is_judged_for_the_reply() {
    let closed = "table inet guard {\n chain out {\n  type filter hook output priority 0; policy drop;\n  oifname lo accept\n  tcp dport 443 accept\n }\n}\n";
    let Some((_, command)) =
        fixed_as_printed(closed, Loader::Nft, "nft inet guard chain out policy")
    else {
        return;
    };
    assert_eq!(
        command,
        "nft insert rule inet guard out tcp sport 22 accept"
    );
    judged(
        "table inet guard {\n chain out {\n  type filter hook output priority 0; policy drop;\n  ct state established,related accept\n }\n}\n",
        Loader::Nft,
        Expect::Open,
    );
}

/// An ip6 table whose output chain drops all but neighbour discovery: IPv4 SSH works,
/// IPv6 clients' SYNs get in and sshd's answers do not get out. The warning names the
/// chain over IPv6, and its accept of the SSH source port makes IPv6 work.
#[test]
fn an_ipv6_output_drop_swallows_only_ipv6_answers() {
    ipv6_alone_blocked(
        "table ip6 guard {\n chain out {\n  type filter hook output priority 0; policy drop;\n  icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n }\n}\n",
        "SSH-FWL-008",
        "nftables ip6 guard out (output) drops sshd's replies on TCP 22 over IPv6: every client times out",
    );
}

/// A meter (nft's older name for a dynamic set with a limit) drops only clients over
/// the rate: a first connection gets in.
#[test]
fn a_meter_over_a_rate_drops_only_over_it() {
    judged(
        "table inet guard {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  tcp dport 22 ct state new meter ssh_flood { ip saddr limit rate over 10/minute burst 5 packets } drop\n  tcp dport 22 accept\n }\n}\n",
        Loader::Nft,
        Expect::Open,
    );
}
