//! SSH-CFG: sshd_config as the parser and the real sshd read it.

mod command_line;
mod locations;
mod rules;
mod sshd_config;
mod sshd_config_props;
mod sshd_config_sshd;
