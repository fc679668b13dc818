//! The SSH service: which sshd this diagnosis examines (`sshd`), what systemd says of its
//! units (`systemd`, and `systemctl` when the system bus is down), and the sshd
//! processes (`processes`); where systemd does not run, OpenRC's service (`openrc`) or
//! a SysV init script's (`sysv`).

pub mod openrc;
pub mod processes;
pub mod sshd;
pub mod systemctl;
pub mod systemd;
pub mod sysv;
pub mod unit_files;
