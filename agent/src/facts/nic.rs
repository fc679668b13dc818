//! The machine's network: links, addresses and default routes (the nic family; the
//! network family reads them too).

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Links, addresses and default routes, as rtnetlink reports them.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct InterfaceFacts {
    pub addresses: Vec<InterfaceAddress>,
    pub links: Vec<LinkFacts>,
    /// Default routes of the main table.
    pub default_routes: Vec<DefaultRoute>,
    /// The route table was read: an empty `default_routes` then means there is none.
    pub routes_read: bool,
    /// A DHCP client program installed here, for links that no network service manages.
    #[serde(default)]
    pub dhcp_client: Option<DhcpClient>,
}

/// The service that configures a link (its addresses, its DHCP lease), by the state it
/// keeps under /run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkManager {
    SystemdNetworkd,
    NetworkManager,
    /// Debian's ifupdown or Alpine's ifupdown-ng (/etc/network/interfaces).
    Ifupdown,
}

/// A DHCP client that can be run by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DhcpClient {
    Dhclient,
    Dhcpcd,
    /// busybox's, on Alpine.
    Udhcpc,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkFacts {
    pub index: u32,
    pub name: String,
    /// IFF_UP: administratively up.
    pub up: bool,
    /// The driver reports a carrier (cable in, vNIC attached).
    pub carrier: Option<bool>,
    /// RFC 2863 operational state: up, down, lowerlayerdown, unknown, ...
    pub oper_state: String,
    pub loopback: bool,
    pub mac: Option<String>,
    /// Who configures it, where that could be told.
    #[serde(default)]
    pub managed_by: Option<LinkManager>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DefaultRoute {
    /// "inet" or "inet6".
    pub family: String,
    pub gateway: Option<IpAddr>,
    pub interface: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InterfaceAddress {
    pub interface: String,
    pub address: IpAddr,
    pub up: bool,
    pub loopback: bool,
}
