//! Client errors. Each names the registry/endpoint and what went wrong; pull and push wrap
//! them with the image reference.

use crate::digest::Digest;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{endpoint} is unreachable: {reason}")]
    Unreachable { endpoint: String, reason: String },
    #[error("{method} {url} answered {status}{}", fmt_detail(.code, .message))]
    Status {
        method: String,
        url: String,
        status: u16,
        code: Option<String>,
        message: Option<String>,
    },
    #[error("manifest unknown: {url} answered 404")]
    ManifestUnknown { url: String },
    #[error("blob {digest} unknown: {url} answered 404")]
    BlobUnknown { url: String, digest: Digest },
    #[error("not authorized at {endpoint}: {reason} (run `sealer login` or check the credentials)")]
    Unauthorized { endpoint: String, reason: String },
    #[error("digest mismatch for {what}: expected {expected}, received content hashes to {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("truncated body from {url}: expected {expected} bytes, got {got}")]
    Truncated {
        url: String,
        expected: u64,
        got: u64,
    },
    #[error("body from {url} exceeds {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("connection to {url} stalled: no data for {secs} s")]
    Stalled { url: String, secs: u64 },
    /// `last` is shown in the message and reached through [`ClientError::root`]; it is not a
    /// `source`, so error chains do not print it twice.
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        attempts: u32,
        last: Box<ClientError>,
    },
    #[error("no manifest for platform {platform} in the index (available: {available})")]
    NoPlatform { platform: String, available: String },
    #[error("invalid manifest from {url}: {reason}")]
    InvalidManifest { url: String, reason: String },
    #[error("storing content failed: {0}")]
    Sink(#[from] super::sink::SinkError),
    #[error("reading content to push failed: {0}")]
    Source(#[from] super::sink::SourceError),
    #[error(transparent)]
    Credentials(#[from] super::credentials::CredentialError),
    #[error("invalid registry address `{0}`")]
    BadRegistry(String),
    #[error("HTTP client setup failed: {0}")]
    Setup(String),
    #[error("{action} {reference} (via {endpoint}): {source}")]
    Image {
        action: &'static str,
        reference: String,
        endpoint: String,
        #[source]
        source: Box<ClientError>,
    },
}

fn fmt_detail(code: &Option<String>, message: &Option<String>) -> String {
    match (code, message) {
        (Some(c), Some(m)) => format!(" ({c}: {m})"),
        (Some(c), None) => format!(" ({c})"),
        (None, Some(m)) => format!(" ({m})"),
        (None, None) => String::new(),
    }
}

impl ClientError {
    /// Worth another attempt: connection problems, 5xx/429, stalls, truncation.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Stalled { .. } | Self::Truncated { .. } => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }

    /// The innermost error (past `Image` and `RetriesExhausted` wrappers).
    pub fn root(&self) -> &ClientError {
        match self {
            Self::Image { source, .. } => source.root(),
            Self::RetriesExhausted { last, .. } => last.root(),
            other => other,
        }
    }

    /// Strip `RetriesExhausted` wrappers.
    pub(crate) fn into_root(self) -> ClientError {
        match self {
            Self::RetriesExhausted { last, .. } => last.into_root(),
            other => other,
        }
    }

    pub(crate) fn context(self, action: &'static str, reference: &str, endpoint: &str) -> Self {
        Self::Image {
            action,
            reference: reference.to_string(),
            endpoint: endpoint.to_string(),
            source: Box::new(self),
        }
    }
}
