//! The crate's error type: every variant says which file, entry or mount failed and why.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("layer stream: {op}: {source}")]
    Stream {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(
        "layer entry `{entry}` is unsafe: {reason} (the layer tries to write outside its root)"
    )]
    UnsafeEntry { entry: String, reason: &'static str },
    #[error("invalid destination `{dest}` for a copied path: {reason}")]
    InvalidDest { dest: String, reason: &'static str },
    #[error(
        "unsupported layer media type `{0}` (expected an OCI/Docker layer tar, tar+gzip or tar+zstd)"
    )]
    UnsupportedMediaType(String),
    #[error("invalid diffID `{0}` (expected `sha256:` followed by 64 lowercase hex digits)")]
    InvalidDiffId(String),
    #[error(
        "layer blob {path} does not match its diffID: expected {expected}, got {actual} (the store is corrupt; delete the blob and pull it again)"
    )]
    DiffIdMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error(
        "mounting overlay at {target}: {source} (check that this process is root and the kernel supports overlayfs)"
    )]
    Mount {
        target: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("unmounting {target}: {source}")]
    Unmount {
        target: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("layer writer pipeline: {0}")]
    Pipeline(&'static str),
}

impl SnapshotError {
    pub(crate) fn io(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SnapshotError {
        let path = path.to_path_buf();
        move |source| SnapshotError::Io { op, path, source }
    }

    pub(crate) fn stream(op: &'static str) -> impl FnOnce(io::Error) -> SnapshotError {
        move |source| SnapshotError::Stream { op, source }
    }
}
