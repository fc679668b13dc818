//! What a session runs through after authentication: ChrootDirectory, ForceCommand.

use super::FileStat;
use serde::{Deserialize, Serialize};

/// The paths a session of this user runs through (session.c): ChrootDirectory and the
/// program ForceCommand names, each as sshd will find it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SessionFacts {
    pub chroot: Option<ChrootFacts>,
    /// ForceCommand's program, when its first word is a path (inside the chroot, when
    /// there is one): None for internal-sftp, a shell builtin, or a name PATH resolves.
    pub force_command_program: Option<FileStat>,
    /// The expansion of a setting failed (an unknown %token): why.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChrootFacts {
    /// ChrootDirectory with %h, %u, %U and ~ expanded.
    pub path: String,
    /// What safely_chroot checks, / first: each component must be a root-owned
    /// directory that group and others cannot write.
    pub components: Vec<FileStat>,
    /// The user's shell as the session will look it up inside the chroot; None when the
    /// session needs none (ForceCommand internal-sftp).
    pub shell: Option<FileStat>,
}
