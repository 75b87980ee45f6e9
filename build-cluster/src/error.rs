//! Errors at the crate boundary, each naming what failed and what to do about it.

use std::path::PathBuf;

/// Starting, querying or stopping a build cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot start the embedded API server on 127.0.0.1: {0}")]
    Start(#[source] std::io::Error),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read kubeconfig {path}: {message} (check --cluster kubeconfig=PATH)")]
    Kubeconfig { path: PathBuf, message: String },
    #[error("request to the cluster at {server} failed while {doing}: {message}")]
    Api {
        server: String,
        doing: String,
        message: String,
    },
    #[error("the cluster is not started: call start() first")]
    NotStarted,
}

/// Running the launch steps of an image.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(
        "app {app:?} has no type (its files are neither all YAML, all shell scripts, nor a helm chart) and no APPCMDS: add APPCMDS for it"
    )]
    UntypedApp { app: String },
    #[error("LAUNCH names app {app:?}, which no APP instruction defines")]
    UnknownApp { app: String },
    #[error("{}command `{command}` failed ({status}):\n{stderr_tail}", app_prefix(.app))]
    StepFailed {
        app: Option<String>,
        command: String,
        status: String,
        stderr_tail: String,
    },
    #[error("cannot run command `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot prepare the work directory {path}: {source}")]
    WorkDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid sealer image extension: {0}")]
    Extension(String),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

fn app_prefix(app: &Option<String>) -> String {
    match app {
        Some(a) => format!("app {a:?}: "),
        None => String::new(),
    }
}

/// Scanning static files for images.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`helm template` of chart {chart} failed: {message}")]
    HelmTemplate { chart: PathBuf, message: String },
}
