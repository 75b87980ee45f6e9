//! The crate's error type: every variant names the file, digest or reference involved.

use std::path::PathBuf;

use crate::reference::ReferenceError;

/// Everything that can go wrong in the content store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not empty and is not an OCI image layout (no oci-layout file): \
         pick an empty or new directory for --root"
    )]
    NotALayout { path: PathBuf },
    #[error("{path}: unsupported imageLayoutVersion {version:?} (expected \"1.0.0\")")]
    LayoutVersion { path: PathBuf, version: String },
    #[error(
        "digest mismatch: expected {expected}, got {actual} ({size} bytes); the content was discarded"
    )]
    DigestMismatch {
        expected: String,
        actual: String,
        size: u64,
    },
    #[error(
        "size mismatch for blob {digest}: descriptor says {expected} bytes, store has {actual}"
    )]
    SizeMismatch {
        digest: String,
        expected: u64,
        actual: u64,
    },
    #[error("unsupported digest {digest:?}: only sha256:<64 lowercase hex> is supported")]
    UnsupportedDigest { digest: String },
    #[error("blob {digest} is not in the store")]
    BlobNotFound { digest: String },
    #[error("blob {digest} is {size} bytes, more than the limit of {limit} bytes")]
    BlobTooLarge {
        digest: String,
        size: u64,
        limit: u64,
    },
    #[error("invalid JSON in {what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("image {name} is incomplete, missing blobs: {}; it was not tagged", missing.join(", "))]
    IncompleteImage { name: String, missing: Vec<String> },
    #[error("{what} does not match any image in the store")]
    ImageNotFound { what: String },
    #[error("digest prefix {prefix:?} is ambiguous, it matches: {}; use more characters", candidates.join(", "))]
    Ambiguous {
        prefix: String,
        candidates: Vec<String>,
    },
    #[error("invalid cache key {key:?}: expected sha256:<64 lowercase hex>")]
    InvalidCacheKey { key: String },
    #[error("the store {path} is in use by a running build (gc lock held); retry when it is done")]
    Busy { path: PathBuf },
    #[error("{path} is corrupt: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("archive: {message}")]
    Archive { message: String },
    #[error("bundle volume {path}: {message}")]
    Volume { path: PathBuf, message: String },
    #[error(
        "this delta bundle builds on {} blob(s) the store does not have: {}; load the bundle \
         the inventory was taken after (or a full bundle) first; nothing was loaded",
        missing.len(), missing.join(", ")
    )]
    DeltaBaseMissing { missing: Vec<String> },
    #[error("invalid size {text:?}: {reason} (examples: 650MiB, 100M, 4G, 1000000)")]
    InvalidSize { text: String, reason: String },
    #[error("invalid inventory {what}: {message}")]
    InvalidInventory { what: String, message: String },
}

impl StoreError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        StoreError::Json {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn archive(message: impl Into<String>) -> Self {
        StoreError::Archive {
            message: message.into(),
        }
    }
}
