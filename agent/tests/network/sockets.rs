//! The socket collector against real listeners (Debian's sshd, a Python server) in
//! throw-away network namespaces. Needs root and `ip netns`.

use crate::support;

use sshdoctor::collect::network::{self, find_owners, ListenerTable, OwnerHints};
use sshdoctor::collect::ProbeNotes;
use sshdoctor::facts::{
    ConnectionState, ListeningSocket, SocketFacts, SocketSource, TcpConnection,
};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Instant;
use support::verdict::findings_with;
use support::{NetNs, PortHolder, Sshd};

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str = "listeners in a network namespace (ip netns) need root";

const ANY_V4: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
const ANY_V6: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

/// Every port these tests listen on: owners are searched to the end for all of them.
const TEST_PORTS: &[u16] = &[22, 2222, 8022];

fn hints(likely_owners: &[u32]) -> OwnerHints<'_> {
    OwnerHints {
        likely_owners,
        ssh_ports: TEST_PORTS,
    }
}

/// The collector's view from inside `ns`, reading `table`.
fn collect_in(ns: &NetNs, table: ListenerTable, likely_owners: &[u32]) -> SocketFacts {
    ns.run(|| network::collect_from(table, hints(likely_owners), &mut ProbeNotes::default()))
}

fn listener_at(facts: &SocketFacts, address: IpAddr, port: u16) -> &ListeningSocket {
    facts
        .listeners
        .iter()
        .find(|listener| listener.address == address && listener.port == port)
        .unwrap_or_else(|| panic!("no listener at {address} port {port}: {facts:#?}"))
}

fn owner_pids_and_comms(listener: &ListeningSocket) -> Vec<(u32, &str)> {
    listener
        .owners
        .iter()
        .map(|owner| (owner.pid, owner.comm.as_str()))
        .collect()
}

#[test]
fn binary_reports_real_sshd_socket_with_its_pid() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    ns.add_addresses(&["10.77.0.1/32"]);
    let sshd = Sshd::start(&ns, 2222, &["ListenAddress 10.77.0.1"]);

    let output = ns
        .command(env!("CARGO_BIN_EXE_sshdoctor"))
        .args(["--format", "json", "--no-sshd-run"])
        .output()
        .expect("run sshdoctor in the namespace");
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "bad JSON ({err}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    let facts: SocketFacts =
        serde_json::from_value(verdict["facts"]["sockets"].clone()).expect("facts.sockets");

    assert_eq!(facts.source, SocketSource::Netlink);
    assert_eq!(
        facts.listeners.len(),
        1,
        "only sshd listens here: {facts:#?}"
    );
    let listener = listener_at(&facts, "10.77.0.1".parse().unwrap(), 2222);
    assert_eq!(owner_pids_and_comms(listener), [(sshd.pid(), "sshd")]);
    assert_eq!(listener.uid, 0);
    assert!(facts.owners_complete);
}

#[test]
fn another_program_on_port_22_is_named_as_its_owner() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    let sshd = Sshd::start(&ns, 2222, &["ListenAddress 0.0.0.0"]);
    let squatter = PortHolder::start(&ns, ANY_V4, 22);

    let facts = collect_in(&ns, ListenerTable::Netlink, &[sshd.pid()]);

    let port_22 = listener_at(&facts, ANY_V4, 22);
    assert_eq!(owner_pids_and_comms(port_22), [(squatter.pid(), "python3")]);
    let port_2222 = listener_at(&facts, ANY_V4, 2222);
    assert_eq!(owner_pids_and_comms(port_2222), [(sshd.pid(), "sshd")]);
    assert_ne!(port_22.inode, port_2222.inode);
    assert!(facts.owners_complete);
}

#[test]
fn ipv6_only_sshd_listens_v6only_on_the_wildcard() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    let sshd = Sshd::start(&ns, 2222, &["AddressFamily inet6", "ListenAddress ::"]);

    let facts = collect_in(&ns, ListenerTable::Netlink, &[sshd.pid()]);

    assert_eq!(facts.listeners.len(), 1, "no IPv4 socket: {facts:#?}");
    let listener = listener_at(&facts, ANY_V6, 2222);
    assert_eq!(listener.v6only, Some(true));
    assert_eq!(owner_pids_and_comms(listener), [(sshd.pid(), "sshd")]);
}

#[test]
fn dual_stack_shows_per_family_sockets_and_v6only_off() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    // sshd's default: one socket per family, the IPv6 one always IPV6_V6ONLY.
    let sshd = Sshd::start(&ns, 2222, &[]);
    // One socket serving both families.
    let dual = PortHolder::start_v6(&ns, ANY_V6, 8022, support::V6Only::Off);

    let facts = collect_in(&ns, ListenerTable::Netlink, &[sshd.pid()]);

    let sshd_v4 = listener_at(&facts, ANY_V4, 2222);
    assert_eq!(sshd_v4.v6only, None, "v6only means nothing for IPv4");
    let sshd_v6 = listener_at(&facts, ANY_V6, 2222);
    assert_eq!(sshd_v6.v6only, Some(true));
    assert_ne!(sshd_v4.inode, sshd_v6.inode);
    for listener in [sshd_v4, sshd_v6] {
        assert_eq!(owner_pids_and_comms(listener), [(sshd.pid(), "sshd")]);
    }
    let dual_stack = listener_at(&facts, ANY_V6, 8022);
    assert_eq!(dual_stack.v6only, Some(false));
    assert_eq!(owner_pids_and_comms(dual_stack), [(dual.pid(), "python3")]);
    assert!(
        !facts
            .listeners
            .iter()
            .any(|l| l.port == 8022 && l.address.is_ipv4()),
        "a dual-stack socket is one AF_INET6 socket: {facts:#?}"
    );
}

#[test]
fn proc_net_fallback_sees_what_netlink_sees() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    ns.add_addresses(&["10.77.0.1/32", "fd00:77::1/128"]);
    let sshd = Sshd::start(&ns, 2222, &[]);
    let _v4 = PortHolder::start(&ns, "10.77.0.1".parse().unwrap(), 22);
    let _v6 = PortHolder::start_v6(&ns, "fd00:77::1".parse().unwrap(), 22, support::V6Only::On);

    let (netlink, proc_net) = ns.run(|| {
        let mut notes = ProbeNotes::default();
        let likely = [sshd.pid()];
        let netlink = network::collect_from(ListenerTable::Netlink, hints(&likely), &mut notes);
        let proc_net = network::collect_from(
            ListenerTable::ProcNet(Path::new("/proc/thread-self/net")),
            hints(&likely),
            &mut notes,
        );
        (netlink, proc_net)
    });

    assert_eq!(netlink.source, SocketSource::Netlink);
    assert_eq!(proc_net.source, SocketSource::ProcNet);
    let identity = |facts: &SocketFacts| -> BTreeSet<(IpAddr, u16, u64, u32, Vec<u32>)> {
        facts
            .listeners
            .iter()
            .map(|l| {
                let pids = l.owners.iter().map(|owner| owner.pid).collect();
                (l.address, l.port, l.inode, l.uid, pids)
            })
            .collect()
    };
    assert_eq!(identity(&proc_net), identity(&netlink));
    assert_eq!(netlink.listeners.len(), 4, "{netlink:#?}");
    assert!(proc_net.listeners.iter().all(|l| l.v6only.is_none()));
}

#[test]
fn owner_search_reads_one_process_when_the_hint_is_right() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    let holder = PortHolder::start(&ns, ANY_V4, 22);
    let facts = collect_in(&ns, ListenerTable::Netlink, &[]);
    let inode = listener_at(&facts, ANY_V4, 22).inode;
    let vanished_pid = u32::MAX - 1;

    let started = Instant::now();
    let hinted = find_owners(&[inode], &[inode], &[vanished_pid, holder.pid()]);
    let hinted_time = started.elapsed();
    let started = Instant::now();
    let unhinted = find_owners(&[inode], &[inode], &[]);
    let unhinted_time = started.elapsed();
    let started = Instant::now();
    let full_scan = find_owners(&[u64::MAX], &[u64::MAX], &[]); // No such socket: reads every process.
    let full_scan_time = started.elapsed();
    eprintln!(
        "owner search: hinted {} process(es) in {hinted_time:?}, unhinted {} in \
         {unhinted_time:?}, full scan {} in {full_scan_time:?}",
        hinted.processes_examined, unhinted.processes_examined, full_scan.processes_examined
    );

    assert_eq!(hinted.processes_examined, 1, "{hinted:#?}");
    assert!(hinted.complete);
    for search in [&hinted, &unhinted] {
        let owners = &search.owners[&inode];
        assert_eq!(owners.len(), 1);
        assert_eq!(
            (owners[0].pid, owners[0].comm.as_str()),
            (holder.pid(), "python3")
        );
    }
    assert!(unhinted.processes_examined > 1, "{unhinted:#?}");
    assert!(full_scan.processes_examined >= unhinted.processes_examined);
    assert!(!full_scan.owners.contains_key(&u64::MAX));
}

#[test]
fn a_socket_shared_by_parent_and_child_lists_both() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    let holder = PortHolder::start_shared(&ns, ANY_V4, 22);
    let child = holder.child_pid().expect("forked child");
    let facts = collect_in(&ns, ListenerTable::Netlink, &[holder.pid(), child]);

    let listener = listener_at(&facts, ANY_V4, 22);
    let mut pids: Vec<u32> = listener.owners.iter().map(|owner| owner.pid).collect();
    pids.sort_unstable();
    let mut expected = vec![holder.pid(), child];
    expected.sort_unstable();
    assert_eq!(pids, expected);
    assert!(listener.owners.iter().all(|owner| owner.comm == "python3"));
}

/// An ownerless socket on a port SSH does not use must not cost a read of every fd
/// table: only SSH's ports are searched to the end.
#[test]
fn unrelated_sockets_do_not_force_a_full_scan() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    let sshd = Sshd::start(&ns, 22, &[]);
    let unrelated = PortHolder::start(&ns, ANY_V4, 8022);
    let facts = collect_in(&ns, ListenerTable::Netlink, &[]);
    let unrelated_inode = listener_at(&facts, ANY_V4, 8022).inode;
    let ssh_inode = listener_at(&facts, ANY_V4, 22).inode;

    let search = find_owners(&[ssh_inode, unrelated_inode], &[ssh_inode], &[sshd.pid()]);
    assert_eq!(search.processes_examined, 1, "{search:#?}");
    assert!(search.complete);
    assert_eq!(search.owners[&ssh_inode][0].pid, sshd.pid());
    assert!(!search.owners.contains_key(&unrelated_inode));
    // Required, the same socket is searched for until found.
    let search = find_owners(
        &[ssh_inode, unrelated_inode],
        &[ssh_inode, unrelated_inode],
        &[sshd.pid()],
    );
    assert_eq!(search.owners[&unrelated_inode][0].pid, unrelated.pid());
}

/// The diagnosis in `ns`, reading sshd's config from `sshd`.
fn diagnose_sshd_in(ns: &NetNs, sshd: &Sshd) -> serde_json::Value {
    let config = sshd.config_path();
    ns.diagnose(&["--no-sshd-run", "--config", config.to_str().unwrap()])
}

/// A client holding a connection to sshd: the connection is in the table with its peer
/// (not loopback), and the verdict says clients reach sshd.
#[test]
fn an_open_client_connection_is_evidence_that_clients_reach_sshd() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    ns.add_addresses(&["10.77.0.1/32"]);
    let sshd = Sshd::start(&ns, 2222, &["ListenAddress 10.77.0.1"]);
    // Reading the banner makes sure sshd has accepted the connection.
    let client = ns.run(|| {
        use std::io::Read;
        let mut client = std::net::TcpStream::connect("10.77.0.1:2222").expect("connect");
        let mut banner = [0u8; 4];
        client.read_exact(&mut banner).expect("sshd's banner");
        assert_eq!(&banner, b"SSH-");
        client
    });
    let client_port = client.local_addr().unwrap().port();

    let facts = collect_in(&ns, ListenerTable::Netlink, &[sshd.pid()]);
    let connection = TcpConnection {
        local_address: "10.77.0.1".parse().unwrap(),
        local_port: 2222,
        remote_address: "10.77.0.1".parse().unwrap(),
        remote_port: client_port,
        state: ConnectionState::Established,
        retransmits: Some(0),
        half_open_ms: None,
        accepted: Some(true),
    };
    assert_eq!(
        facts.connections,
        std::slice::from_ref(&connection),
        "{facts:#?}"
    );
    assert_eq!(facts.connections_total, 1);
    let proc_net = collect_in(
        &ns,
        ListenerTable::ProcNet(Path::new("/proc/thread-self/net")),
        &[sshd.pid()],
    );
    assert_eq!(
        proc_net.connections,
        [TcpConnection {
            retransmits: None,
            ..connection
        }]
    );

    let verdict = diagnose_sshd_in(&ns, &sshd);
    let reached = findings_with(&verdict, "SSH-NET-010");
    assert_eq!(reached.len(), 1, "{verdict:#}");
    assert_eq!(
        reached[0]["title"],
        "Clients reach sshd on port 2222: 1 connection(s) from 10.77.0.1"
    );
    assert_eq!(
        reached[0]["evidence"][0]["fact"],
        format!("10.77.0.1:{client_port} connected")
    );
    assert!(findings_with(&verdict, "SSH-NET-009").is_empty());
    drop(client);
}

/// An output rule drops sshd's SYN-ACKs: the client's SYN arrives, the kernel answers,
/// and the handshake stays half-open. The verdict says the way back is broken and names
/// the peer.
#[test]
fn dropped_syn_acks_leave_handshakes_half_open() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    ns.add_addresses(&["10.77.0.1/32"]);
    let sshd = Sshd::start(&ns, 2222, &["ListenAddress 10.77.0.1"]);
    ns.exec(
        &["nft", "-f", "-"],
        "table inet lab {\n chain out {\n  type filter hook output priority 0;\n  tcp sport 2222 tcp flags & (syn | ack) == syn | ack drop\n }\n}\n",
    );
    std::thread::scope(|scope| {
        // Gives up after 8 s; the handshake stays half-open until then.
        scope.spawn(|| {
            ns.run(|| {
                let address = "10.77.0.1:2222".parse().unwrap();
                std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(8))
                    .expect_err("the SYN-ACK never arrives")
            })
        });
        let half_open = support::wait_for(std::time::Duration::from_secs(3), || {
            let facts = collect_in(&ns, ListenerTable::Netlink, &[sshd.pid()]);
            facts
                .connections
                .into_iter()
                .find(|c| c.state == ConnectionState::SynRecv)
        })
        .expect("a half-open handshake");
        assert_eq!(half_open.local_port, 2222);
        assert_eq!(
            half_open.remote_address,
            "10.77.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            half_open.half_open_ms,
            Some(1500),
            "read again 1.5 s later, it is still there"
        );

        let verdict = diagnose_sshd_in(&ns, &sshd);
        let stalled = findings_with(&verdict, "SSH-NET-009");
        assert_eq!(stalled.len(), 1, "{verdict:#}");
        assert_eq!(
            stalled[0]["title"],
            "Clients' SYNs reach port 2222, but the handshake never completes (1 half-open)"
        );
        assert_eq!(
            stalled[0]["evidence"][0]["fact"],
            format!(
                "10.77.0.1:{} still half-open after 1500 ms",
                half_open.remote_port
            )
        );
        assert!(stalled[0]["remediation"]["guest"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("ip route get 10.77.0.1")));
        assert!(findings_with(&verdict, "SSH-NET-010").is_empty());
    });
}

/// A handshake that completes is not half-open when read again, and costs no finding.
#[test]
fn a_completed_handshake_is_not_reported_half_open() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    let ns = NetNs::new();
    ns.add_addresses(&["10.77.0.1/32"]);
    let sshd = Sshd::start(&ns, 2222, &["ListenAddress 10.77.0.1"]);
    let client = ns.run(|| std::net::TcpStream::connect("10.77.0.1:2222").expect("connect"));
    let verdict = diagnose_sshd_in(&ns, &sshd);
    assert!(
        findings_with(&verdict, "SSH-NET-009").is_empty(),
        "{verdict:#}"
    );
    let connections = verdict["facts"]["sockets"]["connections"]
        .as_array()
        .unwrap();
    assert!(connections.iter().all(|c| c["half_open_ms"].is_null()));
    drop(client);
}

/// ListenAddress 127.0.0.1 in a drop-in: sshd answers only on loopback and alice's login
/// from the client is refused. The printed fix comments out the drop-in's line (the main
/// file has none), tests the config sshd runs with, and makes sshd (outside systemd here)
/// re-execute itself on SIGHUP; alice gets in.
#[test]
fn a_loopback_listen_address_in_a_drop_in_is_fixed_where_it_is_set() {
    if !support::requires_root(NEEDS_ROOT) {
        return;
    }
    use support::accounts::in_private_system;
    use support::verdict::{first_command, only, problems};
    use support::vm_net::VmNet;
    let drop_in = "/etc/ssh/sshd_config.d/10-lab.conf";
    let setup = format!(
        "{}; mkdir -p /etc/ssh/sshd_config.d; echo 'ListenAddress 127.0.0.1' > {drop_in}",
        support::accounts::ALICE
    );
    in_private_system(&setup, || {
        let network = VmNet::new();
        let sshd = network.start_sshd(&[&format!("Include {drop_in}")]);
        assert!(!network.login().0);
        let (verdict, code) = network.diagnose(&sshd);
        assert_eq!(code, 2, "{verdict:#}");
        assert_eq!(problems(&verdict), ["SSH-NET-002"], "{verdict:#}");
        let loopback = only(&verdict, "SSH-NET-002");
        let config = sshd.config_path().display().to_string();
        assert_eq!(
            first_command(loopback),
            format!(
                "sed -i '1s/^/# /' {drop_in} && /usr/sbin/sshd -t -f {config} \
                 && kill -HUP {}",
                sshd.pid()
            )
        );
        network.apply_reload_fix(&sshd, first_command(loopback));
        network.assert_healthy(&sshd);
    });
}
