//! SSH-SVC and SSH-PKG: is sshd installed, and does systemd (or OpenRC, or a SysV init
//! script) run it.

mod openrc;
mod processes;
mod rules;
mod systemd;
mod sysv;
