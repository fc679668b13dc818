//! Links, addresses and default routes over rtnetlink, like `ip link`, `ip addr` and
//! `ip route`: whether the VM can be reached at all, and whether a ListenAddress can be
//! bound.

use super::{netlink, ProbeNotes};
use crate::facts::{DefaultRoute, InterfaceAddress, InterfaceFacts, LinkFacts};
use netlink_packet_core::{
    DecodeError, Emitable, NetlinkDeserializable, NetlinkHeader, NetlinkSerializable, Parseable,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use netlink_packet_route::AddressFamily;
use netlink_sys::protocols::NETLINK_ROUTE;
use std::net::IpAddr;

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

/// The three dumps this collector asks for and their answers. `RouteNetlinkMessage`
/// would do, but its parser links in every rtnetlink family (traffic control,
/// neighbours, rules…): about 250 KB of a binary that must fit Run Command's limit.
enum RtMessage {
    GetLinks,
    GetAddresses,
    GetRoutes,
    Link(LinkMessage),
    Address(AddressMessage),
    Route(RouteMessage),
    /// Anything else the kernel sends in a dump; never expected.
    Other,
}

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
            RtMessage::GetLinks => LinkMessage::default().buffer_len(),
            RtMessage::GetAddresses => AddressMessage::default().buffer_len(),
            _ => RouteMessage::default().buffer_len(),
        }
    }

    /// A dump request is the family's header with every field zero: all of them.
    fn serialize(&self, buffer: &mut [u8]) {
        match self {
            RtMessage::GetLinks => LinkMessage::default().emit(buffer),
            RtMessage::GetAddresses => AddressMessage::default().emit(buffer),
            _ => RouteMessage::default().emit(buffer),
        }
    }
}

impl NetlinkDeserializable for RtMessage {
    type Error = DecodeError;

    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, DecodeError> {
        Ok(match header.message_type {
            RTM_NEWLINK => RtMessage::Link(LinkMessage::parse(payload)?),
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
            links.push(link_facts(&link));
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
    InterfaceFacts {
        addresses,
        links,
        default_routes,
        routes_read,
    }
}

fn link_facts(link: &LinkMessage) -> LinkFacts {
    let mut facts = LinkFacts {
        index: link.header.index,
        name: format!("if{}", link.header.index),
        up: link.header.flags.contains(LinkFlags::Up),
        // IFF_LOWER_UP is the carrier as the driver reports it.
        carrier: Some(link.header.flags.contains(LinkFlags::LowerUp)),
        oper_state: String::from("unknown"),
        loopback: link.header.flags.contains(LinkFlags::Loopback),
        mac: None,
    };
    for attribute in &link.attributes {
        match attribute {
            LinkAttribute::IfName(name) => facts.name = name.clone(),
            LinkAttribute::OperState(state) => {
                facts.oper_state = format!("{state:?}").to_lowercase()
            }
            LinkAttribute::Carrier(carrier) => facts.carrier = Some(*carrier != 0),
            LinkAttribute::Address(bytes) if bytes.len() == 6 && !facts.loopback => {
                let hex: Vec<String> = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
                facts.mac = Some(hex.join(":"));
            }
            _ => {}
        }
    }
    facts
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
