//! SSH-PAM: PAM's account and session stacks as a real sshd runs them.

mod stacks;
