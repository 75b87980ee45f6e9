//! Test support shared across crates: network-namespace sshd hosts for runtime tests, and
//! directory snapshots.
//! (End-to-end tests themselves live in tests/tests/.)

pub mod netns;
pub mod tree;
