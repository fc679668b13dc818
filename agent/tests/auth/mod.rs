//! SSH-USR, SSH-AKF and SSH-ACL: the user's account, authorized_keys and access lists.

mod access;
mod accounts;
