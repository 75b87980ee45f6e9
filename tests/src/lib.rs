//! Test support shared across crates: network-namespace sshd hosts for runtime tests.
//! (End-to-end tests themselves live in tests/tests/.)

pub mod netns;
