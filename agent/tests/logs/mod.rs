//! SSH-LOG: sshd's refusals and failures as its log records them.

mod auth_log;
mod logs_fixtures;
mod rules;
