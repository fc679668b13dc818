//! SSH-USR, SSH-AKF and SSH-ACL: the user's account, authorized_keys and access lists,
//! on throw-away accounts in a private mount namespace. Shared here: running the real
//! binary for such an account.

mod access;
mod accounts;
mod keys;

use crate::support;
use serde_json::Value;
use support::accounts::{ALICE, PRIVATE_SYSTEM};
use support::mount_ns::diagnose_after;
use support::verdict::ids_in_families;

/// Why the tests here skip as an ordinary user.
pub(super) const NEEDS_ROOT: &str =
    "throw-away accounts in a private mount namespace (unshare --mount) need root";

pub(super) fn diagnose_alice(breakage: &str, args: &[&str]) -> Value {
    let setup = format!("{PRIVATE_SYSTEM}; {ALICE}; {breakage}");
    let mut all = vec!["--user", "alice"];
    all.extend_from_slice(args);
    diagnose_after(&setup, &all)
}

/// A config file written into the private /tmp, for `--config`.
pub(super) fn with_config(lines: &str) -> String {
    format!("printf '{lines}\\n' > /tmp/sshd_config")
}

const AUTH_FAMILIES: &[&str] = &["SSH-USR", "SSH-AKF", "SSH-ACL"];

pub(super) fn auth_ids(verdict: &Value) -> Vec<String> {
    ids_in_families(verdict, AUTH_FAMILIES)
}

pub(super) fn evidence_text(finding: &Value) -> String {
    finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|evidence| format!("{} @ {}", evidence["fact"], evidence["source"]))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn user<'v>(verdict: &'v Value, name: &str) -> &'v Value {
    verdict["facts"]["auth"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["name"] == name)
        .unwrap_or_else(|| panic!("{name} not examined: {verdict:#}"))
}
