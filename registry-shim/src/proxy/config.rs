//! Proxy configuration: any number of upstream registries, each with its endpoint, auth and
//! TLS settings. YAML or JSON:
//!
//! ```yaml
//! default_upstream: docker.io        # for names that carry no registry and no ?ns=
//! upstreams:
//!   - registry: docker.io
//!     endpoint: https://mirror.example.com   # optional; default from the registry name
//!     username: robot
//!     password: secret
//!   - registry: quay.io
//!     token: <bearer token>
//!   - registry: registry.local:5000
//!     insecure: true                          # plain HTTP or unverified TLS
//!     ca_file: /etc/ssl/local-ca.pem
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ProxyError;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    #[serde(default)]
    pub upstreams: Vec<UpstreamConfig>,
    /// Registry assumed for names without a domain and without `?ns=`.
    #[serde(default)]
    pub default_upstream: Option<String>,
    /// Seconds without data before an upstream transfer is abandoned (default 30).
    #[serde(default)]
    pub stall_timeout_secs: Option<u64>,
    /// Attempts per upstream request, including the first (default 3).
    #[serde(default)]
    pub max_attempts: Option<u32>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// The registry domain clients ask for (`docker.io`, `quay.io`, `host:port`).
    pub registry: String,
    /// Base URL to fetch from; default `https://<registry>` (Docker Hub: its API host,
    /// loopback: `http://`).
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// A bearer token sent as-is.
    #[serde(default)]
    pub token: Option<String>,
    /// Allow plain HTTP / unverified TLS.
    #[serde(default)]
    pub insecure: bool,
    /// Extra CA bundle (PEM).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl ProxyConfig {
    /// Read a YAML or JSON file.
    pub fn from_file(path: &Path) -> Result<Self, ProxyError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProxyError::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::parse(&text).map_err(|reason| ProxyError::Config {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parse YAML or JSON text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let cfg: Self = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| e.to_string())?
        } else {
            serde_saphyr::from_str(text).map_err(|e| e.to_string())?
        };
        for u in &cfg.upstreams {
            if u.registry.trim().is_empty() {
                return Err("an upstream has an empty `registry`".into());
            }
            if let Some(e) = &u.endpoint
                && !(e.starts_with("http://") || e.starts_with("https://"))
            {
                return Err(format!(
                    "upstream {}: endpoint `{e}` must start with http:// or https://",
                    u.registry
                ));
            }
            if u.password.is_some() && u.username.is_none() {
                return Err(format!(
                    "upstream {}: `password` without `username`",
                    u.registry
                ));
            }
        }
        Ok(cfg)
    }
}

#[cfg(test)]
#[path = "../tests/proxy_config.rs"]
mod tests;
