//! What the collectors have seen so far. Each probe's facts and report are kept here
//! the moment it finishes, so that when the diagnosis passes its deadline (something
//! hangs that no probe's own bound caught) the verdict is still printed, from what was
//! seen, naming the probes that had not finished.

use crate::facts::{Facts, ProbeOutcome, ProbeReport};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Progress {
    seen: Mutex<Seen>,
}

/// Puts a copy of one probe's facts in their place.
pub type Keep = Box<dyn Fn(&mut Facts) + Send>;

#[derive(Default)]
struct Seen {
    kept: Vec<Keep>,
    finished: Vec<ProbeReport>,
    /// Probes started and not finished, with when they started.
    running: Vec<(&'static str, Instant)>,
}

impl Progress {
    pub(super) fn started(&self, name: &'static str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.running.push((name, Instant::now()));
        }
    }

    /// `name` finished with `report`; `keep` copies its facts, should the deadline come.
    pub(super) fn finished(&self, report: &ProbeReport, keep: Keep) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.running.retain(|(name, _)| *name != report.name);
            seen.finished.push(report.clone());
            seen.kept.push(keep);
        }
    }

    /// The collection finished: what was kept for the deadline is let go, so the facts
    /// are the collection's alone again.
    pub(super) fn release(&self) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.kept.clear();
        }
    }

    /// The facts seen so far, the reports of the probes that finished, and one for each
    /// probe still running when `deadline` passed; `Facts::unfinished` names those.
    pub fn cut_at(&self, deadline: Duration) -> (Facts, Vec<ProbeReport>) {
        let Ok(seen) = self.seen.lock() else {
            return (Facts::default(), Vec::new());
        };
        let mut facts = Facts::default();
        for keep in &seen.kept {
            keep(&mut facts);
        }
        let mut reports = seen.finished.clone();
        for (name, started) in &seen.running {
            facts.unfinished.push(name.to_string());
            reports.push(ProbeReport {
                name,
                outcome: ProbeOutcome::Unavailable,
                notes: vec![format!(
                    "had not finished when the diagnosis reached its {} s deadline",
                    deadline.as_secs()
                )],
                elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
            });
        }
        (facts, reports)
    }
}
