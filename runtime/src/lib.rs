//! sealer-runtime: install a cluster image onto hosts over SSH and keep it reconciled.
//!
//! - [`clusterfile`]: sealer's multi-document Clusterfile (strict parsing, serialization).
//! - [`ssh`]: hosts behind the [`ssh::Host`] / [`ssh::HostConnector`] traits (russh or local fake).
//! - [`Runtime`]: `apply` / `join` / `delete_nodes` / `delete_all` / `exec` / `run_app`, each
//!   reporting its [`Plan`] before acting; `dry_run` stops after the plan.
//! - [`image::ImageProvider`]: how images reach the runtime (the CLI implements it over the store).
//!
//! Wiring a CLI (sketch):
//!
//! ```text
//! let rt = Runtime::new(
//!     Arc::new(SshConnector::new(SshOptions { accept_new_host_keys: flag, ..Default::default() })),
//!     Arc::new(StoreImages { .. }),            // impl ImageProvider
//!     StateStore::new(home.join(".sealer")),   // <dir>/<cluster>/Clusterfile
//!     RuntimeOptions::default(),               // registry = current_exe + `registry serve ...`
//!     Arc::new(StderrReporter),
//! );
//! sealer run:    rt.run(&RunArgs { .. }, &ApplyOptions { dry_run, prune: false })
//! sealer apply:  rt.apply(Clusterfile::parse(&text)?, &opts)
//! sealer join:   rt.join(name, &masters, &nodes, &opts)     (IPs: clusterfile::expand_ip_list)
//! sealer delete: rt.delete_nodes(name, &ips, &opts) | rt.delete_all(name, &opts)
//! sealer exec:   rt.exec(name, &roles, "cmd")               -> Vec<(host, ExecOutput)>
//! ```
//!
//! Every command reports its [`Plan`] through the [`Reporter`] before acting and returns it in
//! [`Outcome`]; with `dry_run` nothing else happens. Progress goes to the reporter, never stdout.

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
