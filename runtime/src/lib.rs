//! sealer-runtime: install a cluster image onto hosts over SSH and keep it reconciled.
//!
//! - [`clusterfile`]: sealer's multi-document Clusterfile (strict parsing, serialization).
//! - [`ssh`]: hosts behind the [`ssh::Host`] / [`ssh::HostConnector`] traits (russh or local fake).
//! - [`Runtime`]: `apply` / `join` / `delete_nodes` / `delete_all` / `exec` / `run_app`, each
//!   reporting its [`Plan`] before acting; `dry_run` stops after the plan.
//! - [`image::ImageProvider`]: how images reach the runtime (the CLI implements it over the store).

mod cluster;
pub mod clusterfile;
mod engine;
pub mod error;
pub mod image;
pub mod layout;
pub mod options;
pub mod plan;
pub mod report;
pub mod rootfs;
pub mod ssh;
pub mod state;

pub use cluster::{Outcome, Runtime};
pub use clusterfile::{Clusterfile, ClusterfileError, RunArgs};
pub use error::{HostFailure, RuntimeError};
pub use image::{DirImageProvider, ImageError, ImageInfo, ImageProvider};
pub use options::{AppOptions, ApplyOptions, RegistryCommand, RuntimeOptions};
pub use plan::{HostPlan, Phase, Plan, StepState};
pub use report::{Event, RecordingReporter, Reporter, StderrReporter};
pub use state::StateStore;
