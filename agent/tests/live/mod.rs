//! SSH-LIV: what the running sshd does when asked: its banner and the keys it accepts.

mod probes;
mod rules;
