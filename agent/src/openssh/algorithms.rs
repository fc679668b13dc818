//! Will sshd accept a user key of this type? PubkeyAcceptedAlgorithms lists signature
//! algorithms, not key types: an RSA key is fine with rsa-sha2-256/512 even though the
//! SHA-1 `ssh-rsa` signature is off by default since OpenSSH 8.8.

use super::patterns::match_pattern_list;
use super::DEFAULT_PUBKEY_ALGORITHMS;

/// Signature algorithms sshd knows beyond its defaults (sshkey.c keytypes).
const NON_DEFAULT_ALGORITHMS: &[&str] = &[
    "ssh-rsa",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-dss-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
];

/// The signature algorithms a key of `key_type` can authenticate with.
pub fn signature_algorithms(key_type: &str) -> Vec<&str> {
    match key_type {
        "ssh-rsa" => vec!["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
        "ssh-rsa-cert-v01@openssh.com" => vec![
            "rsa-sha2-512-cert-v01@openssh.com",
            "rsa-sha2-256-cert-v01@openssh.com",
            "ssh-rsa-cert-v01@openssh.com",
        ],
        "sk-ecdsa-sha2-nistp256@openssh.com" => vec![
            "sk-ecdsa-sha2-nistp256@openssh.com",
            "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
        ],
        other => vec![other],
    }
}

/// kex.c kex_assemble_names: `+list` appends to the default, `-list` removes from it,
/// `^list` puts first; otherwise the list (with patterns) replaces it.
pub fn resolve(value: &str) -> Vec<String> {
    let defaults: Vec<&str> = DEFAULT_PUBKEY_ALGORITHMS.split(',').collect();
    let all: Vec<&str> = defaults
        .iter()
        .chain(NON_DEFAULT_ALGORITHMS)
        .copied()
        .collect();
    let matching = |list: &str| -> Vec<&str> {
        all.iter()
            .copied()
            .filter(|name| match_pattern_list(name, list) == Some(true))
            .collect()
    };
    let names: Vec<&str> = match value.chars().next() {
        Some('+') => defaults.into_iter().chain(matching(&value[1..])).collect(),
        Some('-') => {
            let removed = matching(&value[1..]);
            defaults
                .into_iter()
                .filter(|name| !removed.contains(name))
                .collect()
        }
        Some('^') => matching(&value[1..]).into_iter().chain(defaults).collect(),
        _ => matching(value),
    };
    let mut resolved: Vec<String> = Vec::new();
    for name in names {
        if !resolved.iter().any(|seen| seen == name) {
            resolved.push(name.to_string());
        }
    }
    resolved
}

/// True when some signature algorithm of the key type is accepted.
pub fn key_type_accepted(key_type: &str, accepted: &[String]) -> bool {
    signature_algorithms(key_type)
        .iter()
        .any(|algorithm| accepted.iter().any(|name| name == algorithm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_refuse_dsa_but_keep_rsa_keys() {
        let defaults = resolve(DEFAULT_PUBKEY_ALGORITHMS);
        assert!(!key_type_accepted("ssh-dss", &defaults));
        assert!(key_type_accepted("ssh-rsa", &defaults));
        assert!(
            !defaults.contains(&"ssh-rsa".to_string()),
            "SHA-1 signatures are off"
        );
        assert!(key_type_accepted("ssh-ed25519", &defaults));
        assert!(key_type_accepted("sk-ssh-ed25519@openssh.com", &defaults));
        assert!(key_type_accepted("ssh-rsa-cert-v01@openssh.com", &defaults));
        assert!(!key_type_accepted(
            "ssh-dss-cert-v01@openssh.com",
            &defaults
        ));
    }

    #[test]
    fn plus_minus_caret_and_patterns() {
        assert!(key_type_accepted("ssh-dss", &resolve("+ssh-dss")));
        assert!(!key_type_accepted(
            "ssh-rsa",
            &resolve("-rsa-sha2-*,ssh-rsa")
        ));
        assert!(key_type_accepted("ssh-ed25519", &resolve("-rsa-sha2-*")));
        assert_eq!(resolve("^ssh-dss")[0], "ssh-dss");
        let only_ed25519 = resolve("ssh-ed25519*");
        assert!(key_type_accepted("ssh-ed25519", &only_ed25519));
        assert!(!key_type_accepted("ssh-rsa", &only_ed25519));
        // An RSA key with only the SHA-1 signature allowed is still accepted.
        assert!(key_type_accepted("ssh-rsa", &resolve("ssh-rsa")));
        assert!(!key_type_accepted(
            "ssh-rsa",
            &resolve("ssh-*,!ssh-rsa,!rsa*")
        ));
    }
}
