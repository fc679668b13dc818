//! The SSH units as systemd sees them, over D-Bus. (Being written: see issue 2.)

use super::{CollectOptions, ProbeNotes};
use crate::facts::SystemdFacts;

pub fn collect(_options: &CollectOptions, notes: &mut ProbeNotes) -> SystemdFacts {
    notes.unavailable("systemd collector not built yet");
    SystemdFacts::default()
}
