//! PAM's account and session stacks for sshd.

use serde::{Deserialize, Serialize};

/// PAM as sshd (UsePAM yes) runs it for a key login: the "sshd" service's account stack
/// (pam_acct_mgmt, right after the key is accepted) and session stack (pam_open_session,
/// before the shell), with `include`, `substack` and Debian's `@include` expanded in the
/// order Linux-PAM loads them, and what the modules that judge a user read.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct PamFacts {
    /// The service's file (/etc/pam.d/sshd, else /usr/lib/pam.d/sshd); None when there is
    /// none and PAM falls back to "other".
    pub service_file: Option<String>,
    /// The directory modules named without a path are loaded from, when found.
    pub module_dir: Option<String>,
    pub account: Vec<PamLine>,
    pub session: Vec<PamLine>,
    /// pam_access's rule files, as the stacks name them.
    pub access_files: Vec<PamAccessFile>,
    /// pam_listfile's lists: the path and its entries (None: unreadable).
    pub list_files: Vec<PamListFile>,
}

/// One handler of a stack, as Linux-PAM installs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PamLine {
    /// "file:line" of the line that installed it.
    pub source: String,
    /// The line as written, continuations joined.
    pub text: String,
    /// Substack depth: 0 for the service's own stack and what it includes.
    pub depth: u32,
    /// `required`, `requisite`, `sufficient`, `optional` or `[value=action ...]`.
    pub control: String,
    /// The module as named (`pam_deny.so`, `/lib/security/pam_x.so`); empty for a
    /// substack's own line.
    pub module: String,
    pub args: Vec<String>,
    /// The module file exists (None: the module directory is unknown).
    pub module_exists: Option<bool>,
    /// A substack's own line: the lines of the next depth that follow belong to it.
    #[serde(default)]
    pub substack: bool,
    /// Why Linux-PAM installs this line to fail whenever it runs: an include it cannot
    /// open, a line it cannot parse.
    pub must_fail: Option<String>,
}

impl PamLine {
    /// The module's file name, whether the line names it with a path or without.
    pub fn module_name(&self) -> &str {
        self.module.rsplit('/').next().unwrap_or(&self.module)
    }

    /// The value of a `name=value` module argument.
    pub fn argument(&self, name: &str) -> Option<&str> {
        self.args.iter().find_map(|arg| {
            arg.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PamAccessFile {
    pub path: String,
    /// None when the file cannot be read (pam_access then refuses).
    pub rules: Option<Vec<PamAccessRule>>,
}

/// access.conf(5): "permission : users : origins".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PamAccessRule {
    pub source: String,
    pub allow: bool,
    pub users: String,
    pub origins: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PamListFile {
    pub path: String,
    pub entries: Option<Vec<String>>,
}
