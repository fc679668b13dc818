//! sshdoctor: why won't this Linux VM let me in over SSH?
//!
//! Collectors gather facts (`collect`), rules judge them (`rules`), renderers print the
//! verdict (`render`). Diagnosis only reads the system.

pub mod cli;
pub mod collect;
pub mod facts;
pub mod fix;
pub mod openssh;
pub mod render;
pub mod rules;
pub mod verdict;

use std::sync::Arc;
use std::time::Instant;

/// The collection's own thread: as deep a stack as the main thread's default.
const DIAGNOSIS_STACK: usize = 8 << 20;

/// Collects every fact, judges them, and returns the verdict, by `options.deadline`
/// whatever hangs: then from what was seen, naming the probes that had not finished.
/// (Exiting after printing it ends the threads still waiting in the kernel.)
pub fn diagnose(options: &collect::CollectOptions) -> verdict::Verdict {
    let started = Instant::now();
    let progress = Arc::new(collect::Progress::default());
    let collected = {
        let (options, progress) = (options.clone(), Arc::clone(&progress));
        collect::worker::within("diagnosis", DIAGNOSIS_STACK, options.deadline, move || {
            collect::collect_all(&options, &progress)
        })
    };
    let (facts, probes) = match collected {
        Ok(collected) => collected,
        Err(collect::worker::Late::TimedOut) => progress.cut_at(options.deadline),
        // No thread to spare: no watchdog either.
        Err(collect::worker::Late::NoThread) => collect::collect_all(options, &progress),
        Err(collect::worker::Late::Panicked) => panic!("the diagnosis panicked (see above)"),
    };
    let findings = rules::evaluate(&facts);
    verdict::Verdict::new(
        facts,
        probes,
        findings,
        started.elapsed().as_secs_f64() * 1000.0,
    )
}
