//! The OCI distribution server over a distribution-layout directory.
//!
//! One axum fallback handler takes every `/v2/...` request and parses the path itself
//! (repository names have any number of components). Bodies are streamed both ways; blobs
//! are never buffered.

mod blobs;
mod body;
mod dispatch;
pub mod errors;
pub mod htpasswd;
mod listener;
mod listing;
mod manifests;
pub mod resolve;
pub mod route;
mod state;
mod uploads;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::access_log::{AccessLog, AccessLogError};
use crate::distribution_layout::Layout;
use crate::proxy::{Proxy, ProxyConfig, ProxyError};

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The distribution-layout root (the directory holding `docker/`).
    pub root: PathBuf,
    /// Listen address; port 0 picks a free port (see [`ServerHandle::local_addr`]).
    pub addr: SocketAddr,
    /// Refuse pushes and deletes with `405 UNSUPPORTED`.
    pub read_only: bool,
    /// htpasswd file with bcrypt entries; when set every request needs Basic auth.
    pub htpasswd: Option<PathBuf>,
    /// PEM certificate chain and private key; serve HTTPS instead of HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Pull-through proxy to upstream registries for misses.
    pub proxy: Option<ProxyConfig>,
    /// JSON-lines access log.
    pub access_log: Option<PathBuf>,
}

impl ServeConfig {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 5000)),
            read_only: false,
            htpasswd: None,
            tls: None,
            proxy: None,
            access_log: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Htpasswd(#[from] htpasswd::HtpasswdError),
    #[error("TLS setup from {path}: {reason}")]
    Tls { path: PathBuf, reason: String },
    #[error(transparent)]
    AccessLog(#[from] AccessLogError),
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error("cannot create registry root {path}: {source}")]
    Root {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A running server. Dropping it stops accepting connections.
pub struct ServerHandle {
    addr: SocketAddr,
    scheme: &'static str,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (or `https://`).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stop accepting, let in-flight requests finish (up to 10 s), and wait.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Wait until the server stops (it runs until [`ServerHandle::shutdown`] or drop).
    pub async fn wait(mut self) {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Bind and start serving in the background.
pub async fn serve(config: ServeConfig) -> Result<ServerHandle, ServeError> {
    std::fs::create_dir_all(&config.root).map_err(|source| ServeError::Root {
        path: config.root.clone(),
        source,
    })?;
    let layout = Layout::new(&config.root);
    let log = config
        .access_log
        .as_deref()
        .map(AccessLog::open)
        .transpose()?;
    let auth = config
        .htpasswd
        .as_deref()
        .map(htpasswd::Htpasswd::load)
        .transpose()?;
    let proxy = match &config.proxy {
        Some(pc) => Some(Arc::new(Proxy::new(
            pc.clone(),
            layout.clone(),
            log.clone(),
        )?)),
        None => None,
    };
    let tls = config
        .tls
        .as_ref()
        .map(|(c, k)| listener::tls_acceptor(c, k))
        .transpose()?;
    let state = Arc::new(state::AppState::new(
        layout,
        config.read_only,
        auth,
        proxy,
        log,
    ));
    let router = axum::Router::new()
        .fallback(dispatch::handle)
        .with_state(state);
    let tcp = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = tcp.local_addr().map_err(|source| ServeError::Bind {
        addr: config.addr,
        source,
    })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(listener::run(tcp, tls, router, rx));
    Ok(ServerHandle {
        addr,
        scheme,
        shutdown: tx,
        task: Some(task),
    })
}
