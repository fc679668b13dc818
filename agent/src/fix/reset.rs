//! `fix --reset-config`: the main sshd_config as the distribution ships it, keeping what
//! a cloud's login integration put there.

use super::action::Action;
use crate::openssh::PRISTINE_SSHD_CONFIG;
use std::path::Path;

/// Where no pristine copy exists: sshd's defaults, keys only for root, the drop-ins read.
const MINIMAL: &str = "\
# sshd's defaults, written by sshdoctor fix --reset-config.
Include /etc/ssh/sshd_config.d/*.conf
PermitRootLogin prohibit-password
KbdInteractiveAuthentication no
UsePAM yes
";

/// AuthorizedKeysCommand helpers of cloud logins, kept with their command user: Entra ID
/// (aadsshlogin), EC2 Instance Connect, Google OS Login.
const CLOUD_KEY_HELPERS: &[&str] = &[
    "aad_certhandler",
    "eic_run_authorized_keys",
    "google_authorized_keys",
];

/// The new content for `current_text` (the config as it is now, when readable): the
/// pristine copy, else the minimal one with the current Subsystem line; then the cloud
/// login lines of the current config.
pub fn reset_content(current_text: Option<&str>) -> (String, &'static str) {
    let (mut content, source) = match std::fs::read_to_string(PRISTINE_SSHD_CONFIG) {
        Ok(pristine) => (pristine, "the distribution's pristine copy"),
        Err(_) => (MINIMAL.to_string(), "sshd's defaults"),
    };
    let lines: Vec<&str> = current_text
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .collect();
    let keyword = |line: &str| {
        line.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let mut kept: Vec<&str> = Vec::new();
    if source != "the distribution's pristine copy" {
        kept.extend(lines.iter().find(|line| keyword(line) == "subsystem"));
    }
    let cloud_login = lines.iter().any(|line| {
        keyword(line) == "authorizedkeyscommand"
            && CLOUD_KEY_HELPERS.iter().any(|helper| line.contains(helper))
    });
    if cloud_login {
        kept.extend(lines.iter().filter(|line| {
            matches!(
                keyword(line).as_str(),
                "authorizedkeyscommand" | "authorizedkeyscommanduser"
            )
        }));
    }
    if !kept.is_empty() {
        if !content.ends_with('\n') {
            content.push('\n');
        }
        content
            .push_str("\n# Kept from the previous sshd_config by sshdoctor fix --reset-config:\n");
        for line in kept {
            content.push_str(line);
            content.push('\n');
        }
    }
    (content, source)
}

/// The action that writes `path` anew.
pub fn reset_action(path: &str) -> Result<Action, String> {
    let current = std::fs::read_to_string(path).ok();
    let (content, _) = reset_content(current.as_deref());
    if !Path::new(path).is_absolute() {
        return Err(format!("{path} is not an absolute path"));
    }
    Action::from_template(
        "write_file",
        &[("path", path.to_string()), ("content", content)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_login_lines_are_kept_and_the_rest_goes() {
        let current = "Port 2222\nPubkeyAuthentication no\n\
            AuthorizedKeysCommand /usr/sbin/aad_certhandler %u %k\n\
            AuthorizedKeysCommandUser root\nSubsystem sftp /usr/libexec/sftp-server\n";
        let (content, _) = reset_content(Some(current));
        assert!(content.contains("Include /etc/ssh/sshd_config.d/*.conf"));
        assert!(!content.contains("Port 2222") && !content.contains("PubkeyAuthentication no"));
        assert!(content.ends_with(
            "AuthorizedKeysCommand /usr/sbin/aad_certhandler %u %k\nAuthorizedKeysCommandUser root\n"
        ));
        let (plain, _) = reset_content(Some("AuthorizedKeysCommand /opt/mine %u\n"));
        assert!(!plain.contains("/opt/mine"));
    }
}
