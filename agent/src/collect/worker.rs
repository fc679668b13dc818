//! Work on a thread that the caller stops waiting for after a bound: for what may block
//! beyond any timeout of its own (a stat on a hung mount, a bus that accepts a connection
//! and never answers, the whole diagnosis at its deadline). When the bound passes the
//! thread is left behind; it ends with the process.
//!
//! Generic only at the edge: the thread and the channel are spawned by one non-generic
//! function, so each caller's result type does not bring its own copy of them into the
//! binary.

use std::sync::{mpsc, Arc, Mutex};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Duration;

/// Why a worker gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Late {
    /// The bound passed first.
    TimedOut,
    /// No thread could be made.
    NoThread,
    /// The work panicked (the panic hook has printed why).
    Panicked,
}

/// Runs `work` on a thread named `name` with `stack` bytes of stack, and waits for it at
/// most `bound`.
pub fn within<T: Send + 'static>(
    name: &str,
    stack: usize,
    bound: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Late> {
    let slot = Arc::new(Mutex::new(None));
    let filled = Arc::clone(&slot);
    let job: Box<dyn FnOnce() + Send> = Box::new(move || {
        let answer = work();
        if let Ok(mut slot) = filled.lock() {
            *slot = Some(answer);
        }
    });
    run(name, stack, bound, job)?;
    let answer = slot.lock().ok().and_then(|mut slot| slot.take());
    answer.ok_or(Late::Panicked)
}

fn run(
    name: &str,
    stack: usize,
    bound: Duration,
    job: Box<dyn FnOnce() + Send>,
) -> Result<(), Late> {
    let (done, finished) = mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name(name.to_string())
        .stack_size(stack)
        .spawn(move || {
            job();
            // The receiver is gone when the bound passed first; nothing to do then.
            let _ = done.send(());
        })
        .map_err(|_| Late::NoThread)?;
    finished.recv_timeout(bound).map_err(|err| match err {
        mpsc::RecvTimeoutError::Timeout => Late::TimedOut,
        mpsc::RecvTimeoutError::Disconnected => Late::Panicked,
    })
}

/// Work on a thread of a scope, waited for with `join`: `scope.spawn`, but every answer
/// type shares one kind of thread.
pub struct Beside<'scope, T> {
    handle: ScopedJoinHandle<'scope, ()>,
    answer: Arc<Mutex<Option<T>>>,
}

pub fn beside<'scope, 'env, T: Send + 'scope>(
    scope: &'scope Scope<'scope, 'env>,
    work: impl FnOnce() -> T + Send + 'scope,
) -> Beside<'scope, T> {
    let answer = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&answer);
    let job: Box<dyn FnOnce() + Send + 'scope> = Box::new(move || {
        let value = work();
        if let Ok(mut slot) = slot.lock() {
            *slot = Some(value);
        }
    });
    Beside {
        handle: scope.spawn(job),
        answer,
    }
}

impl<T> Beside<'_, T> {
    /// The answer; a panic there is a panic here.
    pub fn join(self) -> T {
        if let Err(panic) = self.handle.join() {
            std::panic::resume_unwind(panic);
        }
        let answer = self.answer.lock().ok().and_then(|mut slot| slot.take());
        answer.expect("a worker that ended without panicking has answered")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_in_time_is_returned_and_a_late_one_is_not_waited_for() {
        let bound = Duration::from_millis(200);
        assert_eq!(within("quick", 64 << 10, bound, || 7), Ok(7));
        let late = within("slow", 64 << 10, Duration::from_millis(20), || {
            std::thread::sleep(Duration::from_secs(5));
        });
        assert_eq!(late, Err(Late::TimedOut));
    }
}
