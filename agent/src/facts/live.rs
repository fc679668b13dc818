//! What the running sshd answered when asked, as a client meets it.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The loopback range the live probes connect from: 127.115.0.0/16 ("s" is 115). Each
/// probe takes an address of its own there (`collect::live::probe_source`).
pub const PROBE_NET: [u8; 2] = [127, 115];

/// Whether `address` is one the live probes connect from: their lines in sshd's log and
/// their connections in the TCP table are not a client's.
pub fn is_probe_address(address: IpAddr) -> bool {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.octets()[..2] == PROBE_NET,
        IpAddr::V6(_) => false,
    }
}

/// What the running sshd answered, asked the way a client meets it: a connection to each
/// listening SSH socket, and for each examined user's keys the publickey query ("would
/// you accept this key?") that needs no private key.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct LiveFacts {
    /// The probes ran (false with `--no-probe`).
    pub ran: bool,
    /// Why they did not run.
    pub skipped: Option<String>,
    pub banners: Vec<BannerProbe>,
    /// The ssh client that asked about keys.
    pub key_client: Option<String>,
    /// Why keys were not asked about at all (no ssh client, no sshd answering, ...).
    pub keys_not_asked: Option<String>,
    pub key_queries: Vec<KeyQuery>,
    /// Keys left unasked because of the bound on queries.
    #[serde(default)]
    pub keys_omitted: usize,
}

/// One connection to a listening SSH socket, read until sshd's identification string.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BannerProbe {
    /// The listening socket's address and port (0.0.0.0 or :: for a wildcard).
    pub address: IpAddr,
    pub port: u16,
    /// Pids of the processes holding the socket, where known.
    pub owners: Vec<u32>,
    /// Where the probe connected: loopback for a wildcard socket, else its address.
    pub target: String,
    /// The probe's own address.
    pub source: Option<String>,
    pub outcome: BannerOutcome,
    /// The identification string, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6", or the
    /// first line a program that is not sshd sent.
    pub banner: Option<String>,
    /// From connect() to the banner, or to what happened instead.
    pub elapsed_ms: u32,
    /// The error, for the outcomes that have one.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BannerOutcome {
    /// An SSH identification string arrived.
    Answered,
    /// Something answered, but not with "SSH-".
    NotSsh,
    /// connect() was refused: nothing listens there any more.
    Refused,
    /// The connection was reset before the banner.
    Reset,
    /// The peer closed without a banner (TCP wrappers, MaxStartups, a failing child).
    ClosedBeforeBanner,
    /// No TCP handshake within the bound (accept queue full, a firewall dropping).
    ConnectTimeout,
    /// Connected, and no banner within the bound (daemon stopped, hung or overloaded).
    BannerTimeout,
    /// Could not even try (no address to connect from, ...).
    Error,
}

/// The publickey query for one authorized key, asked of the live sshd as that user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyQuery {
    pub user: String,
    pub keys_file: String,
    pub line: u32,
    pub key_type: String,
    /// "SHA256:..." as the client printed it.
    pub fingerprint: Option<String>,
    /// The from= patterns of the key line, which sshd matches against the probe's address.
    pub from: Option<String>,
    pub target: String,
    pub source: Option<String>,
    pub outcome: KeyQueryOutcome,
    /// What the client said last, for the outcomes other than accepted.
    pub detail: Option<String>,
    pub elapsed_ms: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyQueryOutcome {
    /// sshd answered SSH_MSG_USERAUTH_PK_OK: it would accept this key.
    Accepted,
    /// sshd was offered the key and refused it.
    NotAccepted,
    /// sshd does not offer publickey authentication to this user at all.
    PublickeyNotOffered,
    /// The ssh client here does not offer this key type (a DSA key to a new client).
    ClientSkipped,
    /// The connection failed before authentication (the detail says how).
    ConnectionFailed,
    /// No answer within the bound.
    TimedOut,
}
