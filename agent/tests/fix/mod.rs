//! `sshdoctor fix` and `undo` against the real thing: a real sshd on a VM's network,
//! alice's real login as ground truth before, after the fix and after the undo, the
//! files compared byte for byte.

mod repairs;

/// Why the tests here skip as an ordinary user.
const NEEDS_ROOT: &str =
    "throw-away accounts in a private mount namespace and a real sshd on its own network need root";
