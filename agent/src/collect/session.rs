//! The session's paths for one user, as sshd's session.c finds them after
//! authentication: ChrootDirectory (safely_chroot checks every component from /), the
//! shell inside it, and the program ForceCommand names. Read-only.

use super::auth::accounts::effective_shell;
use super::auth::keys::percent_expand;
use super::prereqs::stat_path;
use crate::facts::{Account, ChrootFacts, SessionFacts, UserSettings};
use std::path::{Path, PathBuf};

pub fn session(user: &str, account: &Account, settings: &UserSettings) -> SessionFacts {
    let mut facts = SessionFacts::default();
    let force_command = settings
        .values
        .get("forcecommand")
        .map(|words| words.join(" "))
        .filter(|command| command != "none");
    let sftp_only = force_command.as_deref() == Some("internal-sftp");
    let root = match settings
        .first("chrootdirectory")
        .filter(|dir| *dir != "none")
    {
        Some(pattern) => match chroot_path(pattern, account, user) {
            Ok(path) => {
                let shell = (!sftp_only)
                    .then(|| stat_path(&inside(&path, effective_shell(&account.shell))));
                facts.chroot = Some(ChrootFacts {
                    components: components(&path),
                    shell,
                    path: path.clone(),
                });
                Some(path)
            }
            Err(err) => {
                facts.error = Some(format!("ChrootDirectory for {user}: {err}"));
                None
            }
        },
        None => None,
    };
    if let Some(program) = force_command.as_deref().and_then(program_path) {
        let seen = match &root {
            Some(root) => inside(root, program),
            None => PathBuf::from(program),
        };
        facts.force_command_program = Some(stat_path(&seen));
    }
    facts
}

/// session.c: tilde_expand_filename, then %h %u %U %%.
fn chroot_path(pattern: &str, account: &Account, user: &str) -> Result<String, String> {
    let pattern = match pattern.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{}{rest}", account.home),
        _ => pattern.to_string(),
    };
    percent_expand(&pattern, account, user)
}

/// `/`, then every prefix of `path`: what safely_chroot stats, in its order.
fn components(path: &str) -> Vec<crate::facts::FileStat> {
    let path = Path::new(path);
    let mut prefixes: Vec<&Path> = path.ancestors().collect();
    prefixes.reverse();
    prefixes.into_iter().map(stat_path).collect()
}

/// `path` (absolute) as seen from inside `root`.
fn inside(root: &str, path: &str) -> PathBuf {
    Path::new(root).join(path.trim_start_matches('/'))
}

/// The program a forced command runs, when the command starts with a path: the shell
/// runs `shell -c COMMAND`, and a first word that is a path either exists or fails with
/// "not found". Names PATH resolves, builtins and internal-sftp are not judged.
fn program_path(command: &str) -> Option<&str> {
    let first = command.split_whitespace().next()?;
    (first.starts_with('/') && !first.contains(['$', '`', '*', '?', ';', '&', '|']))
        .then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_path_is_a_program_to_check() {
        assert_eq!(
            program_path("/usr/local/bin/gate --strict"),
            Some("/usr/local/bin/gate")
        );
        assert_eq!(program_path("internal-sftp"), None);
        assert_eq!(program_path("exec $SSH_ORIGINAL_COMMAND"), None);
        assert_eq!(program_path("/opt/$USER/run"), None);
    }

    #[test]
    fn chroot_components_start_at_the_root() {
        let found: Vec<String> = components("/srv/jail")
            .into_iter()
            .map(|stat| stat.path)
            .collect();
        assert_eq!(found, ["/", "/srv", "/srv/jail"]);
    }
}
