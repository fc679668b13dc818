//! The SSH picture the rules share: which unit is sshd's, which sockets are SSH's, which
//! ports the configuration asks for. Derived once from the facts so every rule agrees.

use crate::facts::{Facts, ListeningSocket, UnitFacts, UnitKind};

use crate::openssh::{SERVICE_UNIT_NAMES, SOCKET_UNIT_NAMES};

/// Process names of an SSH daemon's listener.
const SSHD_COMMS: &[&str] = &["sshd"];

pub struct SshView<'a> {
    /// ssh.service or sshd.service, when systemd knows one (loaded or masked).
    pub service: Option<&'a UnitFacts>,
    /// ssh.socket or sshd.socket, when systemd knows one.
    pub socket: Option<&'a UnitFacts>,
    /// Listening sockets that belong to sshd (or to systemd for a socket-activated sshd).
    pub ssh_sockets: Vec<&'a ListeningSocket>,
    /// The ports sshd is configured for (sshd -T when it ran, else the parser's).
    pub configured_ports: Vec<u16>,
    /// An sshd listener runs in this machine's network namespace.
    pub sshd_running: bool,
}

impl<'a> SshView<'a> {
    pub fn new(facts: &'a Facts) -> SshView<'a> {
        let service = facts
            .systemd
            .ssh_unit(UnitKind::Service, SERVICE_UNIT_NAMES);
        let socket = facts.systemd.ssh_unit(UnitKind::Socket, SOCKET_UNIT_NAMES);
        let activation_ports: Vec<u16> = socket
            .filter(|unit| unit.active_state == "active")
            .map(|unit| unit.listen_ports().collect())
            .unwrap_or_default();
        let ssh_sockets = facts
            .sockets
            .listeners
            .iter()
            .filter(|listener| {
                listener.owners.iter().any(|owner| {
                    SSHD_COMMS.contains(&owner.comm.as_str())
                        || (owner.pid == 1 && activation_ports.contains(&listener.port))
                })
            })
            .collect();
        let mut configured_ports: Vec<u16> = match &facts.config.effective {
            Some(effective) if !effective.ports.is_empty() => effective.ports.clone(),
            _ => facts
                .config
                .endpoints
                .iter()
                .map(|endpoint| endpoint.port)
                .collect(),
        };
        configured_ports.sort_unstable();
        configured_ports.dedup();
        SshView {
            service,
            socket,
            ssh_sockets,
            configured_ports,
            sshd_running: facts.processes.local_listeners().next().is_some(),
        }
    }

    /// The unit name to put in commands: the one systemd has, else the distribution's.
    pub fn unit_name(&self, facts: &Facts) -> String {
        if let Some(service) = self.service {
            return service.name.clone();
        }
        if facts.host.is_debian_like() {
            "ssh.service"
        } else {
            "sshd.service"
        }
        .to_string()
    }

    /// A socket unit listening now decides where SSH listens.
    pub fn socket_activated(&self) -> bool {
        self.socket
            .is_some_and(|unit| unit.active_state == "active")
    }

    /// Ports SSH really listens on, sorted, without duplicates.
    pub fn listening_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self.ssh_sockets.iter().map(|socket| socket.port).collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }
}

/// Human form of a listening socket: "0.0.0.0:22", "[::]:22".
pub fn socket_label(socket: &ListeningSocket) -> String {
    std::net::SocketAddr::new(socket.address, socket.port).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_ports_parse_every_form_systemd_prints() {
        let mut unit = crate::facts::UnitFacts::new("ssh.socket", UnitKind::Socket);
        for address in ["[::]:22", "0.0.0.0:2222", "22", "/run/ssh.sock"] {
            unit.listen.push(("Stream".into(), address.into()));
        }
        assert_eq!(unit.listen_ports().collect::<Vec<_>>(), [22, 2222, 22]);
    }
}
