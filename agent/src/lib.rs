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

use std::sync::{mpsc, Arc};
use std::time::Instant;

/// Collects every fact, judges them, and returns the verdict, by `options.deadline`
/// whatever hangs: then from what was seen, naming the probes that had not finished.
/// (Exiting after printing it ends the threads still waiting in the kernel.)
pub fn diagnose(options: &collect::CollectOptions) -> verdict::Verdict {
    let started = Instant::now();
    let progress = Arc::new(collect::Progress::default());
    let (sender, receiver) = mpsc::channel();
    let worker = {
        let (options, progress) = (options.clone(), Arc::clone(&progress));
        std::thread::Builder::new()
            .name("diagnosis".into())
            .spawn(move || {
                // The receiver is gone when the deadline passed first.
                let _ = sender.send(collect::collect_all(&options, &progress));
            })
    };
    let (facts, probes) = match worker {
        // No thread to spare: no watchdog either.
        Err(_) => collect::collect_all(options, &progress),
        Ok(worker) => match receiver.recv_timeout(options.deadline) {
            Ok(collected) => collected,
            Err(mpsc::RecvTimeoutError::Timeout) => progress.cut_at(options.deadline),
            // The worker ended without an answer: it panicked; so does this.
            Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!("the worker sends before it ends"),
            },
        },
    };
    let findings = rules::evaluate(&facts);
    verdict::Verdict::new(
        facts,
        probes,
        findings,
        started.elapsed().as_secs_f64() * 1000.0,
    )
}
