//! SSH-SVC and SSH-PKG: is sshd installed, and does systemd run it.

mod openrc;
mod processes;
mod rules;
mod systemd;
