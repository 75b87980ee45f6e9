//! The build cluster: run a cluster image's launch steps against a temporary Kubernetes cluster
//! and observe every container image the workloads need.
//!
//! - [`apiserver`]: an embedded, in-process Kubernetes API server (plain HTTP on 127.0.0.1) good
//!   enough for unmodified `kubectl` and `helm`; it records every object and runs no containers.
//! - [`cluster`]: the [`cluster::Cluster`] trait with [`cluster::EmbeddedCluster`] and
//!   [`cluster::KubeconfigCluster`] (a real cluster via the kube crate, which also records what
//!   kubelets pull), and factories making a fresh cluster per pass.
//! - [`launch`]: the launch plan in sealer's terms (CMDS, LAUNCHed apps, APPCMDS, ENV/APPENV),
//!   the [`launch::CommandRunner`] trait, and [`launch::observe`], which runs every pass and
//!   records, per app, the objects created and the pulls seen.
//! - [`discover`]: images from recordings and static files, normalised, with provenance, as the
//!   [`discover::Report`] that `sealer build --report` writes.
//!
//! ```no_run
//! # async fn demo(rootfs: &std::path::Path, work: &std::path::Path, ext: serde_json::Value)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use sealer_build_cluster::{cluster::EmbeddedFactory, discover, launch};
//! let spec = launch::LaunchSpec::from_extension_json(&ext)?;
//! let recs = launch::observe(rootfs, work, &spec, &EmbeddedFactory::default(),
//!     &launch::ProcessRunner, &launch::ObserveOptions::default(), &|_| {}).await?;
//! let report = discover::discover(&recs, None)?;
//! println!("{}", report.to_json_pretty());
//! # Ok(()) }
//! ```

pub mod apiserver;
pub mod cluster;
pub mod discover;
pub mod error;
pub mod launch;
