//! SSH-NET: where sshd listens, who holds its port, and the connections on it.

mod rules;
mod sockets;
