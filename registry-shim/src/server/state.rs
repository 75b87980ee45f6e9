//! Shared server state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::htpasswd::Htpasswd;
use super::resolve::ProxyDomains;
use crate::access_log::AccessLog;
use crate::digest::Hasher;
use crate::distribution_layout::Layout;
use crate::proxy::Proxy;

/// An upload in progress: its repository and the hash of the bytes received so far.
pub struct UploadState {
    pub repo: String,
    pub hasher: Hasher,
}

pub type UploadSlot = Arc<tokio::sync::Mutex<Option<UploadState>>>;

pub struct AppState {
    pub layout: Layout,
    pub read_only: bool,
    pub auth: Option<Arc<Htpasswd>>,
    pub proxy: Option<Arc<Proxy>>,
    pub proxy_domains: ProxyDomains,
    pub log: Option<AccessLog>,
    uploads: Mutex<HashMap<String, UploadSlot>>,
}

impl AppState {
    pub fn new(
        layout: Layout,
        read_only: bool,
        auth: Option<Htpasswd>,
        proxy: Option<Arc<Proxy>>,
        log: Option<AccessLog>,
    ) -> Self {
        let proxy_domains = proxy.as_ref().map(|p| p.domains()).unwrap_or_default();
        Self {
            layout,
            read_only,
            auth: auth.map(Arc::new),
            proxy,
            proxy_domains,
            log,
            uploads: Mutex::new(HashMap::new()),
        }
    }

    /// The slot for an upload id (created empty when unknown).
    pub fn upload_slot(&self, id: &str) -> UploadSlot {
        let mut map = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id.to_string()).or_default().clone()
    }

    pub fn forget_upload(&self, id: &str) {
        let mut map = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }
}

/// Run blocking filesystem work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, super::errors::ApiError> + Send + 'static,
) -> Result<T, super::errors::ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| super::errors::ApiError::internal(format!("blocking task failed: {e}")))?
}
