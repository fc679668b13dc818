//! Renderers: the verdict as JSON (for machines), text (for a person at an 80-column
//! serial console) and compact (for the last 4,096 bytes Azure Run Command returns, with
//! its stderr summary); the catalogue as `rules` and `explain` print it. Every piece of
//! formatting lives here.

mod catalogue;
mod compact;
mod text;

pub use catalogue::{explain_rule, list_rules};
pub use compact::{render_compact, render_stderr_summary, COMPACT_BUDGET, STDERR_SUMMARY_BUDGET};
pub use text::{render_text, TextStyle};

use crate::verdict::Verdict;

pub fn render_json(verdict: &Verdict) -> String {
    let mut json = serde_json::to_string_pretty(verdict).expect("the verdict always serializes");
    json.push('\n');
    json
}
