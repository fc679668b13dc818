//! Real components for integration tests: network namespaces, a real sshd, and other
//! programs holding ports. Everything started here is stopped on drop, even on panic.
//! Needs root and iproute2 (`ip netns`), like the tests that use it.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code, unused_imports)]

mod guard;
mod listener;
mod netns;
mod sshd;

pub use guard::ProcessGuard;
pub use listener::{PortHolder, V6Only};
pub use netns::NetNs;
pub use sshd::Sshd;

use std::time::{Duration, Instant};

/// Polls `ready` every 20 ms until it returns Some or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = ready() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
