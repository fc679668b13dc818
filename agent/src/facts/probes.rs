//! How each probe went: what it could not see, and how long it took.

use serde::{Deserialize, Serialize};

/// How a probe went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// Saw everything it looks at.
    Ok,
    /// Saw part of it; `notes` say what is missing.
    Partial,
    /// Saw nothing; `notes` say why.
    Unavailable,
}

/// The record of one probe: how it went, what it could not see, how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub name: &'static str,
    pub outcome: ProbeOutcome,
    pub notes: Vec<String>,
    pub elapsed_ms: f64,
}
