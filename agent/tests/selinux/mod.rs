//! SSH-SEL: SELinux's mode, config and port labels.

mod policy;
