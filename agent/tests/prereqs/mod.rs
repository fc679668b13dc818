//! SSH-KEY, SSH-PRV and SSH-ETC: host keys, the privilege separation directory and user,
//! and the files sshd needs before it can start.

mod files;
mod rules;
