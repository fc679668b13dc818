//! The SSH service: which sshd this diagnosis examines (`sshd`), what systemd says of its
//! units (`systemd`), and the sshd processes /proc shows (`processes`).

pub mod processes;
pub mod sshd;
pub mod systemd;
