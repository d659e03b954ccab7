//! Helpers shared by the test binaries, each of which includes this directory as its
//! `common` module (`#[path = "../common/mod.rs"] mod common;`, or `"common/mod.rs"` from a
//! single-file target):
//!
//! - `fixtures`: where `../shared/fixtures` is, and the rule when it is missing (a skip with
//!   a note, a failure under `CI=true`).
//! - `frames`: the framing of a `.log`'s entries, read by hand (not through the library under
//!   test).

// Each binary uses some of the helpers.
#![allow(dead_code)]

pub mod fixtures;
pub mod frames;
