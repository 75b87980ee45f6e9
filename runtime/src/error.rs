//! The runtime's error type: every failure names what failed and where.

use crate::clusterfile::ClusterfileError;
use crate::image::ImageError;
use crate::plan::Phase;
use crate::rootfs::ManifestError;
use std::path::PathBuf;

/// One host that failed one phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFailure {
    pub host: String,
    pub phase: Phase,
    pub message: String,
    /// The host could not be reached or logged into (nothing ran there).
    pub connect: bool,
}

impl std::fmt::Display for HostFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prefix = format!("{}: ", self.host);
        let msg = self.message.strip_prefix(&prefix).unwrap_or(&self.message);
        write!(
            f,
            "host {} failed in phase {}: {msg}",
            self.host, self.phase
        )
    }
}

/// Everything that can go wrong running a Clusterfile.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Clusterfile(#[from] ClusterfileError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("{}", failures_text(.0))]
    Hosts(Vec<HostFailure>),
    #[error("rootfs of image {image}: {source}")]
    Rootfs {
        image: String,
        source: ManifestError,
    },
    #[error("state file {path}: {message}")]
    State { path: PathBuf, message: String },
    #[error("cluster {name} is not installed: no applied Clusterfile under {dir}")]
    NotInstalled { name: String, dir: PathBuf },
    #[error("{0}")]
    Invalid(String),
}

fn failures_text(f: &[HostFailure]) -> String {
    let lines: Vec<String> = f.iter().map(|x| x.to_string()).collect();
    if lines.len() == 1 {
        lines.join("")
    } else {
        format!("{} hosts failed:\n  {}", lines.len(), lines.join("\n  "))
    }
}

impl RuntimeError {
    /// The host failures, if this is one.
    pub fn host_failures(&self) -> &[HostFailure] {
        match self {
            RuntimeError::Hosts(f) => f,
            _ => &[],
        }
    }
}
