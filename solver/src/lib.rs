//! The build graph and its content-addressed solver.
//!
//! `graph` is the LLB-like definition the frontend produces. `solve` computes a persistent
//! cache key per vertex (op + input keys + content checksums), runs only what misses, in
//! parallel, through `worker`, and `export` writes the resulting image into the store.

pub mod chain_files;
pub mod checksum;
pub mod context;
pub mod copy_plan;
pub mod embed;
pub mod export;
pub mod fetch;
pub mod graph;
pub mod import;
pub mod keys;
pub mod observe;
pub mod progress;
pub mod sandbox;
pub mod solve;
pub mod spec;
pub mod worker;

pub use solve::{SolveError, SolveOptions, Solved, Solver};
pub use worker::{Chain, StepError, StepResult, Worker};
