//! sshdoctor: why won't this Linux VM let me in over SSH?
//!
//! Collectors gather facts (`collect`), rules judge them (`rules`), renderers print the
//! verdict (`render`). Diagnosis only reads the system.

pub mod cli;
pub mod collect;
pub mod facts;
pub mod openssh;
pub mod render;
pub mod rules;
pub mod verdict;

use std::time::Instant;

/// Collects every fact, judges them, and returns the verdict.
pub fn diagnose(options: &collect::CollectOptions) -> verdict::Verdict {
    let started = Instant::now();
    let (facts, probes) = collect::collect_all(options);
    let findings = rules::evaluate(&facts);
    verdict::Verdict::new(
        facts,
        probes,
        findings,
        started.elapsed().as_secs_f64() * 1000.0,
    )
}
