//! Registry domain → base URL: configured overrides, Docker Hub's API host, plain HTTP for
//! loopback, HTTPS-then-HTTP probing for insecure registries, HTTPS otherwise.

use std::net::IpAddr;

use super::{Client, ClientError};
use crate::reference::{DOCKER_HUB, normalize_domain};

#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The registry domain (`docker.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// `scheme://host[:port]` (no trailing slash, no path).
    pub base: String,
    pub tls_insecure: bool,
    pub direct: bool,
}

impl Endpoint {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Resolve a `Location` header against this endpoint.
    pub fn resolve_location(&self, loc: &str) -> String {
        if loc.starts_with("http://") || loc.starts_with("https://") {
            loc.to_string()
        } else if loc.starts_with('/') {
            let origin = match self.base.find("://").map(|i| i + 3) {
                Some(start) => match self.base[start..].find('/') {
                    Some(j) => &self.base[..start + j],
                    None => &self.base,
                },
                None => &self.base,
            };
            format!("{origin}{loc}")
        } else {
            format!("{}/{loc}", self.base)
        }
    }
}

/// Host part of `host[:port]` / `[v6]:port`.
fn host_of(domain: &str) -> &str {
    if let Some(rest) = domain.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match domain.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => domain,
    }
}

/// 127.0.0.0/8, ::1, localhost.
pub fn is_loopback(domain: &str) -> bool {
    let h = host_of(domain);
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Client {
    fn is_insecure(&self, registry: &str) -> bool {
        self.inner.cfg.insecure_registries.iter().any(|r| {
            normalize_domain(
                r.trim_start_matches("http://")
                    .trim_start_matches("https://")
                    .trim_end_matches('/'),
            ) == registry
                || r == host_of(registry)
        })
    }

    /// The endpoint for a registry domain (cached).
    pub(crate) async fn endpoint(&self, registry: &str) -> Result<Endpoint, ClientError> {
        let registry = normalize_domain(registry);
        if let Some(ep) = self
            .inner
            .bases
            .lock()
            .ok()
            .and_then(|m| m.get(&registry).cloned())
        {
            return Ok(ep);
        }
        let insecure = self.is_insecure(&registry);
        let direct = is_loopback(&registry);
        let configured = self
            .inner
            .cfg
            .endpoints
            .iter()
            .find(|(k, _)| normalize_domain(k) == registry)
            .map(|(_, v)| v.trim_end_matches('/').to_string());
        let base = if let Some(url) = configured {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ClientError::BadRegistry(url));
            }
            url
        } else if registry == DOCKER_HUB {
            "https://registry-1.docker.io".to_string()
        } else if direct {
            format!("http://{registry}")
        } else if insecure {
            self.probe(&registry).await
        } else {
            format!("https://{registry}")
        };
        let direct = direct
            || base
                .split("://")
                .nth(1)
                .is_some_and(|h| is_loopback(h.split('/').next().unwrap_or("")));
        let ep = Endpoint {
            registry: registry.clone(),
            base,
            tls_insecure: insecure,
            direct,
        };
        if let Ok(mut m) = self.inner.bases.lock() {
            m.insert(registry, ep.clone());
        }
        Ok(ep)
    }

    /// Insecure registry: HTTPS without verification when it answers, else plain HTTP.
    async fn probe(&self, registry: &str) -> String {
        let https = format!("https://{registry}");
        let ok = self
            .inner
            .http_insecure
            .get(format!("{https}/v2/"))
            .timeout(self.inner.cfg.connect_timeout)
            .send()
            .await
            .is_ok();
        if ok {
            https
        } else {
            format!("http://{registry}")
        }
    }

    pub(crate) fn http_for(&self, ep: &Endpoint) -> &reqwest::Client {
        if ep.direct && !ep.tls_insecure {
            &self.inner.http_direct
        } else if ep.tls_insecure {
            &self.inner.http_insecure
        } else {
            &self.inner.http
        }
    }
}

#[cfg(test)]
#[path = "../tests/client_endpoint.rs"]
mod tests;
