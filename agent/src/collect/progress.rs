//! What the collectors have seen so far. Each probe's facts and report are kept here
//! the moment it finishes, so that when the diagnosis passes its deadline (something
//! hangs that no probe's own bound caught) the verdict is still printed, from what was
//! seen, naming the probes that had not finished.

use crate::facts::{Facts, ProbeOutcome, ProbeReport};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Progress {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    facts: Facts,
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

    /// `name` finished with `report`; `store` puts its facts where they belong.
    pub(super) fn finished(&self, report: &ProbeReport, store: impl FnOnce(&mut Facts)) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.running.retain(|(name, _)| *name != report.name);
            seen.finished.push(report.clone());
            store(&mut seen.facts);
        }
    }

    /// The facts seen so far, the reports of the probes that finished, and one for each
    /// probe still running when `deadline` passed; `Facts::unfinished` names those.
    pub fn cut_at(&self, deadline: Duration) -> (Facts, Vec<ProbeReport>) {
        let Ok(seen) = self.seen.lock() else {
            return (Facts::default(), Vec::new());
        };
        let mut facts = seen.facts.clone();
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
