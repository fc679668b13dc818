//! SSH-FWL: the local firewall (nftables, iptables, firewalld, ufw) and the SSH port.

mod firewall_eval;
mod packets;
mod rulesets;
