//! A streaming registry client (OCI distribution API) over reqwest with rustls/ring.
//!
//! Why not `oci-client`: its push takes blobs as in-memory byte slices, it has no
//! cross-repository mount, no retry/backoff, and no stall detection; its pull verifies only
//! after buffering. This client streams every blob between the network and a
//! [`BlobSink`]/[`BlobSource`] through a bounded channel, lets the sink verify while
//! writing, and keeps manifests as raw bytes.

mod auth;
mod body;
pub mod credentials;
mod endpoint;
pub mod error;
mod fetch;
mod login;
mod pull;
mod push;
pub mod sink;
mod store_sink;
mod tags;
mod token;
mod transport;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use credentials::{Credential, CredentialStore};
pub use error::ClientError;
pub use pull::{FetchedManifest, PullOptions, PulledImage, PulledManifest};
pub use push::{PushOptions, PushReport};
pub use sink::{
    BlobSink, BlobSource, BlobWrite, LayoutSink, LayoutSource, MemoryStore, SinkError, SourceError,
};
pub use store_sink::{StoreSink, StoreSource};

/// Retries with exponential backoff (`base * 2^n`, capped at `max_delay`, with jitter).
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Total attempts including the first (1 = no retry).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Registries (`host[:port]`) that may use plain HTTP or unverified TLS. Loopback
    /// registries (127.0.0.0/8, localhost, ::1) use plain HTTP without being listed.
    pub insecure_registries: Vec<String>,
    /// Base URL overrides per registry domain (`docker.io` → `http://127.0.0.1:5001`).
    pub endpoints: HashMap<String, String>,
    pub credentials: CredentialStore,
    pub retry: RetryPolicy,
    /// No bytes (or no response headers) for this long → error.
    pub stall_timeout: Duration,
    pub connect_timeout: Duration,
    /// Blobs larger than this are uploaded in PATCH chunks of this size.
    pub chunk_size: u64,
    /// Parallel blob transfers per image.
    pub concurrency: usize,
    /// Extra PEM CA bundles to trust.
    pub ca_files: Vec<PathBuf>,
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            endpoints: HashMap::new(),
            credentials: CredentialStore::from_env(),
            retry: RetryPolicy::default(),
            stall_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
            chunk_size: 64 * 1024 * 1024,
            concurrency: 4,
            ca_files: Vec::new(),
            user_agent: format!("sealer-rs/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// The registry client; cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: ClientConfig,
    http: reqwest::Client,
    http_insecure: reqwest::Client,
    /// For loopback registries: never through an environment proxy.
    http_direct: reqwest::Client,
    bases: Mutex<HashMap<String, endpoint::Endpoint>>,
    auth: auth::AuthCache,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Self, ClientError> {
        // One crypto provider in the whole program: ring. Ignore "already installed".
        crate::install_crypto_provider();
        let mut roots = Vec::new();
        for f in &cfg.ca_files {
            let pem = std::fs::read(f)
                .map_err(|e| ClientError::Setup(format!("read CA file {}: {e}", f.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ClientError::Setup(format!("CA file {}: {e}", f.display())))?;
            roots.extend(certs);
        }
        let build = |insecure: bool, direct: bool| {
            let b = reqwest::Client::builder();
            let b = if direct { b.no_proxy() } else { b };
            b.user_agent(cfg.user_agent.clone())
                .connect_timeout(cfg.connect_timeout)
                .pool_idle_timeout(Duration::from_secs(30))
                .tls_certs_merge(roots.clone())
                .tls_danger_accept_invalid_certs(insecure)
                .redirect(reqwest::redirect::Policy::limited(10))
                .build()
                .map_err(|e| ClientError::Setup(e.to_string()))
        };
        Ok(Self {
            inner: Arc::new(Inner {
                http: build(false, false)?,
                http_insecure: build(true, false)?,
                http_direct: build(false, true)?,
                cfg,
                bases: Mutex::new(HashMap::new()),
                auth: auth::AuthCache::default(),
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }
}
