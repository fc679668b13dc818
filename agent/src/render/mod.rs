//! Renderers: the verdict as JSON (for machines), text (for a person at an 80-column
//! serial console) and compact (for the last 4,096 bytes Azure Run Command returns).

mod compact;
mod text;

pub use compact::{render_compact, COMPACT_BUDGET};
pub use text::{render_text, TextStyle};

use crate::verdict::Verdict;

pub fn render_json(verdict: &Verdict) -> String {
    let mut json = serde_json::to_string_pretty(verdict).expect("the verdict always serializes");
    json.push('\n');
    json
}
