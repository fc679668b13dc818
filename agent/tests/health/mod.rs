//! SSH-HST: full or read-only filesystems, memory, the OOM killer, connection tracking.

mod host;
mod rules;
