//! The fixture rule, at the path the `serve` test target still includes: it lives in
//! `tests/common/fixtures.rs` with the other helpers every test binary shares.

#[path = "../common/fixtures.rs"]
mod rule;
pub use rule::*;
