//! The integration tests: one binary (`cargo test`), one folder per family of checks,
//! named like the family (`rules/<family>.toml`, `src/rules/<family>.rs`). A family's
//! folder holds its rule tests on facts built by hand (`rules.rs`) and its tests on
//! real components (a real sshd, namespaces, fixtures from real tools). `support` holds
//! what several families share: fact builders, verdict helpers and the real components.
//!
//! Tests that need root (namespaces, mounts, a real sshd on its own network) start with
//! `support::requires_root`: as an ordinary user they print one `SKIPPED` line and pass;
//! with SSHDOCTOR_TESTS_REQUIRE_ROOT=1 (CI) a skip fails instead.

mod support;

mod auth;
mod cli;
mod cloud;
mod config;
mod firewall;
mod health;
mod live;
mod logs;
mod network;
mod nic;
mod pam;
mod prereqs;
mod selinux;
mod service;
mod session;
mod verdict;
