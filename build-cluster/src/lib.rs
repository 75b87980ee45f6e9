//! The build cluster: run an image's launch steps against a temporary Kubernetes cluster and
//! observe every container image the workloads need.
//!
//! - [`apiserver`]: an embedded, in-process Kubernetes API server for `kubectl` and `helm`.

pub mod apiserver;
pub mod cluster;
pub mod discover;
pub mod error;
pub mod launch;
