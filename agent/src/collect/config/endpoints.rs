//! What sshd binds, derived from Port, ListenAddress and AddressFamily the way
//! servconf.c does once the whole file is read (`process_queued_listen_addrs`).

use crate::facts::{AddressFamily, ConfigProblem, Endpoint, SshdConfigFacts};
use std::net::IpAddr;

/// Endpoints in the order `sshd -T` prints them (sshd binds them in reverse).
///
/// ListenAddress lines are queued until every Port and AddressFamily is known, so a
/// ListenAddress without a port takes every Port, wherever the Port lines are. Without
/// any ListenAddress sshd listens on the wildcard of each allowed family, "::" before
/// "0.0.0.0" for each port (getaddrinfo's AI_PASSIVE order on glibc).
pub fn derive_endpoints(config: &SshdConfigFacts) -> (Vec<Endpoint>, Vec<ConfigProblem>) {
    let family = config
        .address_family
        .as_ref()
        .map_or(AddressFamily::Any, |family| family.value);
    let mut endpoints = Vec::new();
    let mut problems = Vec::new();
    if config.listen_addresses.is_empty() {
        for port in &config.ports {
            for wildcard in wildcards(family) {
                endpoints.push(Endpoint {
                    host: wildcard.to_string(),
                    port: port.value,
                    file: (port.line > 0).then(|| port.file.clone()),
                    line: (port.line > 0).then_some(port.line),
                });
            }
        }
        return (endpoints, problems);
    }
    for address in &config.listen_addresses {
        let host = &address.value.host;
        if let Ok(literal) = host.parse::<IpAddr>() {
            if !family_allows(family, literal) {
                problems.push(ConfigProblem {
                    file: address.file.clone(),
                    line: Some(address.line),
                    message: format!(
                        "bad addr or host: {host} (Address family for hostname not supported)"
                    ),
                    fatal: true,
                });
                continue;
            }
        }
        let ports: Vec<u16> = match address.value.port {
            Some(port) => vec![port],
            None => config.ports.iter().map(|port| port.value).collect(),
        };
        for port in ports {
            endpoints.push(Endpoint {
                host: host.clone(),
                port,
                file: Some(address.file.clone()),
                line: Some(address.line),
            });
        }
    }
    (endpoints, problems)
}

fn wildcards(family: AddressFamily) -> &'static [&'static str] {
    match family {
        AddressFamily::Any => &["::", "0.0.0.0"],
        AddressFamily::Inet => &["0.0.0.0"],
        AddressFamily::Inet6 => &["::"],
    }
}

fn family_allows(family: AddressFamily, address: IpAddr) -> bool {
    matches!(
        (family, address),
        (AddressFamily::Any, _)
            | (AddressFamily::Inet, IpAddr::V4(_))
            | (AddressFamily::Inet6, IpAddr::V6(_))
    )
}

/// An endpoint as `sshd -T` prints it: "0.0.0.0:22", "[::]:22".
pub fn endpoint_label(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
        Ok(IpAddr::V4(v4)) => format!("{v4}:{port}"),
        Err(_) => format!("{host}:{port}"),
    }
}
