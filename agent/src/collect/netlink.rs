//! One netlink dump: send a request with NLM_F_DUMP, collect every reply until
//! NLMSG_DONE. Shared by the socket table (sock_diag) and the links, addresses and routes
//! (rtnetlink), so both are bounded the same way.

use netlink_packet_core::{
    NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload, NetlinkSerializable,
    NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_sys::{Socket, SocketAddr};
use nix::sys::socket::{setsockopt, sockopt::ReceiveTimeout, MsgFlags};
use nix::sys::time::{TimeVal, TimeValLike};
use std::io;

/// A silent kernel must not hang the diagnosis.
const RECEIVE_TIMEOUT_MS: i64 = 1000;
/// The kernel caps a dump datagram at 32 KiB (SKB_WITH_OVERHEAD(32768)).
const DATAGRAM_SIZE: usize = 32 * 1024;
/// Upper bound on datagrams per dump: far more than any real table needs.
const MAX_DATAGRAMS: usize = 4096;

/// A connected netlink socket of `protocol` with a receive timeout.
pub fn open(protocol: isize) -> io::Result<Socket> {
    let socket = Socket::new(protocol)?;
    let timeout = TimeVal::milliseconds(RECEIVE_TIMEOUT_MS);
    setsockopt(&socket, ReceiveTimeout, &timeout)?;
    socket.connect(&SocketAddr::new(0, 0))?;
    Ok(socket)
}

/// Sends `request` as a dump and hands every reply message to `each`.
pub fn dump<T>(socket: &Socket, request: T, mut each: impl FnMut(T)) -> io::Result<()>
where
    T: NetlinkSerializable + NetlinkDeserializable,
{
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(request));
    packet.finalize();
    let mut buffer = vec![0; packet.buffer_len()];
    packet.serialize(&mut buffer);
    socket.send(&buffer, 0)?;

    let mut datagram = vec![0; DATAGRAM_SIZE];
    for _ in 0..MAX_DATAGRAMS {
        // MSG_TRUNC makes recv return the real length, so truncation cannot go unnoticed.
        let size = socket.recv(&mut &mut datagram[..], MsgFlags::MSG_TRUNC.bits())?;
        if size > datagram.len() {
            return Err(invalid(format!(
                "{size}-byte datagram exceeds {DATAGRAM_SIZE} bytes"
            )));
        }
        if read_datagram(&datagram[..size], &mut each)? == Dump::Done {
            return Ok(());
        }
    }
    Err(invalid(format!(
        "dump did not end after {MAX_DATAGRAMS} datagrams"
    )))
}

/// Whether a dump's datagram was its last.
#[derive(Debug, PartialEq)]
pub enum Dump {
    Continues,
    Done,
}

/// Hands each message of one received datagram to `each`; the kernel's bytes are parsed,
/// never trusted (a bad length ends the datagram, a bad message is an error).
pub fn read_datagram<T: NetlinkDeserializable>(
    mut bytes: &[u8],
    each: &mut impl FnMut(T),
) -> io::Result<Dump> {
    while !bytes.is_empty() {
        let message =
            NetlinkMessage::<T>::deserialize(bytes).map_err(|err| invalid(err.to_string()))?;
        let length = message.header.length as usize;
        match message.payload {
            NetlinkPayload::InnerMessage(inner) => each(inner),
            NetlinkPayload::Done(_) => return Ok(Dump::Done),
            NetlinkPayload::Error(error) => {
                // The kernel sends a negative errno; i32::MIN, which has no positive
                // counterpart, is none (ErrorMessage::to_io would overflow negating it).
                let code = error.raw_code();
                return Err(match code.checked_abs() {
                    Some(errno) => io::Error::from_raw_os_error(errno),
                    None => invalid(format!("netlink error code {code} is no errno")),
                });
            }
            _ => {}
        }
        // Messages are 4-byte aligned within a datagram.
        let next = length.next_multiple_of(4);
        if length == 0 || next > bytes.len() {
            break;
        }
        bytes = &bytes[next..];
    }
    Ok(Dump::Continues)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_sock_diag::SockDiagMessage;

    /// Found by the netlink_messages fuzz target: an NLMSG_ERROR whose code is i32::MIN.
    #[test]
    fn an_error_code_without_an_errno_is_invalid_data_not_a_panic() {
        let datagram: [u8; 32] = [
            0x20, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0xf3, 0xf3, 0xf3, 0xf3, 0xf3,
            0x73, 0x22, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x08, 0x08, 0x08, 0x08, 0xff, 0xff,
            0xff, 0xbc, 0x00, 0x00,
        ];
        let error = read_datagram(&datagram, &mut |_: SockDiagMessage| {}).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
    }
}
