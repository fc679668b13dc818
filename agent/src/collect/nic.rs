//! Links, addresses and default routes over rtnetlink, like `ip link`, `ip addr` and
//! `ip route`: whether the VM can be reached at all, and whether a ListenAddress can be
//! bound.

use super::{netlink, ProbeNotes};
use crate::facts::{
    DefaultRoute, DhcpClient, InterfaceAddress, InterfaceFacts, LinkFacts, LinkManager,
};
use netlink_packet_core::{
    parse_string, parse_u8, DecodeError, Emitable, NetlinkDeserializable, NetlinkHeader,
    NetlinkSerializable, NlasIterator, Parseable,
};
use netlink_packet_route::address::{AddressAttribute, AddressHeader, AddressMessage};
use netlink_packet_route::link::{LinkFlags, LinkHeader, State};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage};
use netlink_packet_route::AddressFamily;
use netlink_sys::protocols::NETLINK_ROUTE;
use std::net::IpAddr;
use std::path::Path;

/// The main routing table (RT_TABLE_MAIN); the local and default tables hold no
/// default route that matters for replies to clients.
const MAIN_TABLE: u32 = 254;

// rtnetlink message types (linux/rtnetlink.h).
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
// The link attributes read (linux/if_link.h).
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_CARRIER: u16 = 33;

/// The three dumps this collector asks for and their answers. `RouteNetlinkMessage`
/// would do, but its parser and emitter link in every rtnetlink family and every kind
/// of link (traffic control, neighbours, bonds, tunnels…): about 360 KB of a binary
/// that must fit Run Command's script limit. Links are read attribute by attribute for
/// the same reason; addresses and routes are small enough to parse whole.
enum RtMessage {
    GetLinks,
    GetAddresses,
    GetRoutes,
    Link(LinkFacts),
    Address(AddressMessage),
    Route(RouteMessage),
    /// Anything else the kernel sends in a dump; never expected.
    Other,
}

/// Only requests are sent; the answer variants share the route request's arm.
impl NetlinkSerializable for RtMessage {
    fn message_type(&self) -> u16 {
        match self {
            RtMessage::GetLinks => RTM_GETLINK,
            RtMessage::GetAddresses => RTM_GETADDR,
            _ => RTM_GETROUTE,
        }
    }

    fn buffer_len(&self) -> usize {
        match self {
            RtMessage::GetLinks => LinkHeader::default().buffer_len(),
            RtMessage::GetAddresses => AddressHeader::default().buffer_len(),
            _ => RouteHeader::default().buffer_len(),
        }
    }

    /// A dump request is the family's header with every field zero: all of them.
    fn serialize(&self, buffer: &mut [u8]) {
        match self {
            RtMessage::GetLinks => LinkHeader::default().emit(buffer),
            RtMessage::GetAddresses => AddressHeader::default().emit(buffer),
            _ => RouteHeader::default().emit(buffer),
        }
    }
}

impl NetlinkDeserializable for RtMessage {
    type Error = DecodeError;

    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, DecodeError> {
        Ok(match header.message_type {
            RTM_NEWLINK => RtMessage::Link(parse_link(payload)?),
            RTM_NEWADDR => RtMessage::Address(AddressMessage::parse(payload)?),
            RTM_NEWROUTE => RtMessage::Route(RouteMessage::parse(payload)?),
            _ => RtMessage::Other,
        })
    }
}

pub fn collect(notes: &mut ProbeNotes) -> InterfaceFacts {
    let socket = match netlink::open(NETLINK_ROUTE) {
        Ok(socket) => socket,
        Err(err) => {
            notes.unavailable(format!("rtnetlink unavailable: {err}"));
            return InterfaceFacts::default();
        }
    };
    let mut links = Vec::new();
    if let Err(err) = netlink::dump(&socket, RtMessage::GetLinks, |message| {
        if let RtMessage::Link(link) = message {
            links.push(link);
        }
    }) {
        notes.unavailable(format!("cannot list links: {err}"));
        return InterfaceFacts::default();
    }
    let mut addresses = Vec::new();
    if let Err(err) = netlink::dump(&socket, RtMessage::GetAddresses, |message| {
        if let RtMessage::Address(address) = message {
            addresses.extend(address_facts(&address, &links));
        }
    }) {
        notes.partial(format!("cannot list addresses: {err}"));
    }
    let mut default_routes = Vec::new();
    let routes_read = match netlink::dump(&socket, RtMessage::GetRoutes, |message| {
        if let RtMessage::Route(route) = message {
            default_routes.extend(default_route(&route, &links));
        }
    }) {
        Ok(()) => true,
        Err(err) => {
            notes.partial(format!("cannot list routes: {err}"));
            false
        }
    };
    for link in links.iter_mut().filter(|link| !link.loopback) {
        link.managed_by = link_manager(Path::new("/run"), link);
    }
    InterfaceFacts {
        addresses,
        links,
        default_routes,
        routes_read,
        dhcp_client: dhcp_client(),
    }
}

/// Who configures `link`, by the state each network service keeps under `run`:
/// systemd-networkd's and NetworkManager's files named by the link's index (each marks a
/// link it leaves alone), ifupdown's named by the link's name.
pub fn link_manager(run: &Path, link: &LinkFacts) -> Option<LinkManager> {
    let read = |relative: String| std::fs::read_to_string(run.join(relative));
    if let Ok(state) = read(format!("systemd/netif/links/{}", link.index)) {
        let admin_state = state
            .lines()
            .find_map(|line| line.strip_prefix("ADMIN_STATE="));
        if admin_state.is_some_and(|admin_state| admin_state != "unmanaged") {
            return Some(LinkManager::SystemdNetworkd);
        }
    }
    if let Ok(state) = read(format!("NetworkManager/devices/{}", link.index)) {
        if !state.lines().any(|line| line.trim() == "managed=false") {
            return Some(LinkManager::NetworkManager);
        }
    }
    // Debian's ifupdown: ifstate.NAME; Alpine's ifupdown-ng: NAME=... lines in ifstate.
    let ifupdown_ng = read("ifstate".into()).is_ok_and(|state| {
        state
            .lines()
            .any(|line| line.split('=').next() == Some(link.name.as_str()))
    });
    if run.join(format!("network/ifstate.{}", link.name)).exists() || ifupdown_ng {
        return Some(LinkManager::Ifupdown);
    }
    None
}

/// The first DHCP client installed: ISC's, dhcpcd, busybox's.
fn dhcp_client() -> Option<DhcpClient> {
    const CLIENTS: &[(&str, DhcpClient)] = &[
        ("dhclient", DhcpClient::Dhclient),
        ("dhcpcd", DhcpClient::Dhcpcd),
        ("udhcpc", DhcpClient::Udhcpc),
    ];
    CLIENTS.iter().find_map(|(program, client)| {
        ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
            .iter()
            .any(|dir| Path::new(dir).join(program).exists())
            .then_some(*client)
    })
}

/// The facts one rtnetlink datagram holds, its links first (addresses and routes name
/// them): what `collect` gathers from its three dumps, for a datagram read elsewhere.
pub fn facts_of_datagram(datagram: &[u8]) -> std::io::Result<InterfaceFacts> {
    let mut messages = Vec::new();
    netlink::read_datagram(datagram, &mut |message: RtMessage| messages.push(message))?;
    let links: Vec<LinkFacts> = messages
        .iter()
        .filter_map(|message| match message {
            RtMessage::Link(link) => Some(link.clone()),
            _ => None,
        })
        .collect();
    let mut facts = InterfaceFacts {
        routes_read: true,
        ..InterfaceFacts::default()
    };
    for message in &messages {
        match message {
            RtMessage::Address(address) => facts.addresses.extend(address_facts(address, &links)),
            RtMessage::Route(route) => facts.default_routes.extend(default_route(route, &links)),
            _ => {}
        }
    }
    facts.links = links;
    Ok(facts)
}

/// An RTM_NEWLINK message: the ifinfomsg header, then the four attributes we need.
fn parse_link(payload: &[u8]) -> Result<LinkFacts, DecodeError> {
    let header = LinkHeader::parse(payload)?;
    let mut facts = LinkFacts {
        index: header.index,
        name: format!("if{}", header.index),
        up: header.flags.contains(LinkFlags::Up),
        // IFF_LOWER_UP is the carrier as the driver reports it.
        carrier: Some(header.flags.contains(LinkFlags::LowerUp)),
        oper_state: String::from("unknown"),
        loopback: header.flags.contains(LinkFlags::Loopback),
        mac: None,
        managed_by: None,
    };
    let attributes = payload.get(header.buffer_len()..).unwrap_or_default();
    for attribute in NlasIterator::new(attributes) {
        let attribute = attribute?;
        let value = attribute.value();
        match attribute.kind() {
            IFLA_IFNAME => facts.name = parse_string(value)?,
            IFLA_OPERSTATE => {
                facts.oper_state = format!("{:?}", State::from(parse_u8(value)?)).to_lowercase()
            }
            IFLA_CARRIER => facts.carrier = Some(parse_u8(value)? != 0),
            IFLA_ADDRESS if value.len() == 6 && !facts.loopback => {
                let hex: Vec<String> = value.iter().map(|byte| format!("{byte:02x}")).collect();
                facts.mac = Some(hex.join(":"));
            }
            _ => {}
        }
    }
    Ok(facts)
}

fn link_named(links: &[LinkFacts], index: u32) -> Option<&LinkFacts> {
    links.iter().find(|link| link.index == index)
}

fn address_facts(message: &AddressMessage, links: &[LinkFacts]) -> Option<InterfaceAddress> {
    // IFA_LOCAL is the interface's own address on point-to-point links; IFA_ADDRESS
    // otherwise (they are equal on broadcast links).
    let address = message
        .attributes
        .iter()
        .find_map(|attribute| match attribute {
            AddressAttribute::Local(address) => Some(*address),
            _ => None,
        })
        .or_else(|| {
            message
                .attributes
                .iter()
                .find_map(|attribute| match attribute {
                    AddressAttribute::Address(address) => Some(*address),
                    _ => None,
                })
        })?;
    let link = link_named(links, message.header.index);
    Some(InterfaceAddress {
        interface: link.map_or_else(
            || format!("if{}", message.header.index),
            |link| link.name.clone(),
        ),
        address,
        up: link.is_some_and(|link| link.up),
        loopback: link.is_some_and(|link| link.loopback),
    })
}

fn default_route(message: &RouteMessage, links: &[LinkFacts]) -> Option<DefaultRoute> {
    let header = &message.header;
    if header.destination_prefix_length != 0 {
        return None;
    }
    let mut table = u32::from(header.table);
    let mut gateway = None;
    let mut interface = None;
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Table(id) => table = *id,
            RouteAttribute::Gateway(RouteAddress::Inet(address)) => {
                gateway = Some(IpAddr::V4(*address))
            }
            RouteAttribute::Gateway(RouteAddress::Inet6(address)) => {
                gateway = Some(IpAddr::V6(*address))
            }
            RouteAttribute::Oif(index) => {
                interface = Some(
                    link_named(links, *index)
                        .map_or_else(|| format!("if{index}"), |link| link.name.clone()),
                );
            }
            _ => {}
        }
    }
    if table != MAIN_TABLE {
        return None;
    }
    let family = match header.address_family {
        AddressFamily::Inet => "inet",
        AddressFamily::Inet6 => "inet6",
        _ => return None,
    };
    Some(DefaultRoute {
        family: family.to_string(),
        gateway,
        interface,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::{LinkAttribute, LinkMessage};

    /// A link message as the kernel sends it, emitted by the crate's full encoder.
    fn kernel_link_message() -> Vec<u8> {
        let mut message = LinkMessage::default();
        message.header.index = 7;
        message.header.flags = LinkFlags::Up | LinkFlags::LowerUp;
        message.attributes = vec![
            LinkAttribute::Mtu(1500),
            LinkAttribute::IfName("eth9".into()),
            LinkAttribute::OperState(State::LowerLayerDown),
            LinkAttribute::Carrier(0),
            LinkAttribute::Address(vec![0x00, 0x0d, 0x3a, 0x01, 0x02, 0xff]),
        ];
        let mut bytes = vec![0; message.buffer_len()];
        message.emit(&mut bytes);
        bytes
    }

    #[test]
    fn link_attributes_are_read_by_kind() {
        let facts = parse_link(&kernel_link_message()).unwrap();
        assert_eq!(facts.index, 7);
        assert_eq!(facts.name, "eth9");
        assert!(facts.up);
        // IFLA_CARRIER, when present, overrides the header's IFF_LOWER_UP.
        assert_eq!(facts.carrier, Some(false));
        assert_eq!(facts.oper_state, "lowerlayerdown");
        assert_eq!(facts.mac.as_deref(), Some("00:0d:3a:01:02:ff"));
        assert!(!facts.loopback);
    }

    #[test]
    fn truncated_link_messages_are_errors_not_panics() {
        let bytes = kernel_link_message();
        for length in 0..bytes.len() {
            // Any prefix either parses (attributes cut at a boundary) or is an error.
            if let Ok(facts) = parse_link(&bytes[..length]) {
                assert_eq!(facts.index, 7, "prefix of {length} bytes");
            }
        }
        assert!(parse_link(&bytes[..8]).is_err());
    }

    /// The state files of each network service, in a directory standing in for /run.
    #[test]
    fn the_service_that_configures_a_link_is_read_from_run() {
        let run = tempfile::tempdir().unwrap();
        let write = |relative: &str, text: &str| {
            let path = run.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let link = |index: u32, name: &str| LinkFacts {
            index,
            name: name.into(),
            up: true,
            carrier: Some(true),
            oper_state: "up".into(),
            loopback: false,
            mac: None,
            managed_by: None,
        };
        write(
            "systemd/netif/links/2",
            "# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\n",
        );
        write("systemd/netif/links/3", "ADMIN_STATE=unmanaged\n");
        write("NetworkManager/devices/3", "[device]\nmanaged=true\n");
        write("NetworkManager/devices/4", "[device]\nmanaged=false\n");
        write("network/ifstate.eth4", "eth4\n");
        write("ifstate", "eth5=eth5 1\n");
        let managers: Vec<Option<LinkManager>> = [
            (2, "eth0"),
            (3, "eth1"),
            (4, "eth4"),
            (5, "eth5"),
            (6, "eth6"),
        ]
        .into_iter()
        .map(|(index, name)| link_manager(run.path(), &link(index, name)))
        .collect();
        assert_eq!(
            managers,
            [
                Some(LinkManager::SystemdNetworkd),
                Some(LinkManager::NetworkManager),
                Some(LinkManager::Ifupdown),
                Some(LinkManager::Ifupdown),
                None,
            ]
        );
    }
}
