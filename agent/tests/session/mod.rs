//! SSH-SES: the session after the key is accepted: shell, MaxSessions, tty, chroot.

mod login;
