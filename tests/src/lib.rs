//! Cross-crate integration tests of the workspace live in `it/` (one test binary).
//!
//! This library holds no code: it only makes `cargo test` compile the examples of the README, so
//! that what a new user copies from it keeps building.

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
