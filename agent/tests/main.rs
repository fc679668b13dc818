//! The integration tests: one binary (`cargo test`), one folder per family of checks,
//! named like the family (`rules/<family>.toml`, `src/rules/<family>.rs`). A family's
//! folder holds its rule tests on facts built by hand (`rules.rs`) and its tests on
//! real components (a real sshd, namespaces, fixtures from real tools). `support` holds
//! what several families share: fact builders, verdict helpers and the real components.
//!
//! Run one family with `cargo test --test integration <family>::` (e.g. `network::`).
//! A new family gets a folder with a `mod.rs` listing its files, and a line below.
//!
//! Tests that need root (namespaces, mounts, a real sshd on its own network) start with
//! `support::requires_root`, and tests that need a program that may be missing with
//! `support::requires_program` or `support::requires_sshd`: when the need is not met they
//! print one `SKIPPED <test>: <reason>` line and pass, so `cargo test` as an ordinary
//! user is green; with SSHDOCTOR_TESTS_REQUIRE_ROOT=1 (CI, as root) a skip fails instead.

mod support;

mod auth;
mod cli;
mod cloud;
mod config;
mod firewall;
mod fix;
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
