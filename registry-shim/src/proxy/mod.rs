//! Pull-through proxy: a miss is fetched from the upstream registry for its domain,
//! verified while streaming into the layout, then served from the layout. Concurrent misses
//! for the same content share one upstream fetch. Every upstream fetch is access-logged.

mod config;
mod singleflight;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

pub use config::{ProxyConfig, UpstreamConfig};
use singleflight::SingleFlight;

use crate::access_log::{AccessLog, AccessRecord};
use crate::client::{
    Client, ClientConfig, ClientError, Credential, CredentialStore, LayoutSink, RetryPolicy,
};
use crate::digest::Digest;
use crate::distribution_layout::{Layout, LayoutError};
use crate::reference::{ImageReference, domain_dir, normalize_domain};
use crate::server::errors::ApiError;
use crate::server::resolve::ProxyDomains;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("proxy config {path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("upstream {registry}: {source}")]
    Setup {
        registry: String,
        #[source]
        source: Box<ClientError>,
    },
    #[error("fetching {what} from upstream {upstream}: {source}")]
    Upstream {
        upstream: String,
        what: String,
        #[source]
        source: Box<ClientError>,
    },
    #[error("storing {what} from upstream {upstream}: {source}")]
    Store {
        upstream: String,
        what: String,
        #[source]
        source: LayoutError,
    },
    #[error("{0}")]
    Internal(String),
}

impl ProxyError {
    /// The error a client of the proxy sees.
    pub fn to_api(&self) -> ApiError {
        if let Self::Upstream { source, .. } = self {
            match source.root() {
                ClientError::ManifestUnknown { .. } => {
                    return ApiError::new(
                        StatusCode::NOT_FOUND,
                        "MANIFEST_UNKNOWN",
                        self.to_string(),
                    );
                }
                ClientError::BlobUnknown { .. } => {
                    return ApiError::new(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", self.to_string());
                }
                _ => {}
            }
        }
        ApiError::bad_gateway(self)
    }
}

struct Upstream {
    registry: String,
    label: String,
    client: Client,
}

/// The proxy: upstream clients per registry domain, the layout they fill.
pub struct Proxy {
    layout: Layout,
    upstreams: HashMap<String, Upstream>,
    default: Option<String>,
    log: Option<AccessLog>,
    flights: SingleFlight<u64, ProxyError>,
}

impl Proxy {
    pub fn new(
        cfg: ProxyConfig,
        layout: Layout,
        log: Option<AccessLog>,
    ) -> Result<Self, ProxyError> {
        let mut upstreams = HashMap::new();
        for u in &cfg.upstreams {
            let registry = normalize_domain(u.registry.trim());
            let mut creds = CredentialStore::none();
            if let Some(t) = &u.token {
                creds = creds.with_credential(&registry, Credential::RegistryToken(t.clone()));
            } else if let Some(user) = &u.username {
                creds = creds.with_credential(
                    &registry,
                    Credential::Basic {
                        username: user.clone(),
                        password: u.password.clone().unwrap_or_default(),
                    },
                );
            }
            let ccfg = ClientConfig {
                insecure_registries: if u.insecure {
                    vec![registry.clone()]
                } else {
                    Vec::new()
                },
                endpoints: u
                    .endpoint
                    .iter()
                    .map(|e| (registry.clone(), e.clone()))
                    .collect(),
                credentials: creds,
                retry: RetryPolicy {
                    max_attempts: cfg.max_attempts.unwrap_or(3),
                    ..RetryPolicy::default()
                },
                stall_timeout: Duration::from_secs(cfg.stall_timeout_secs.unwrap_or(30)),
                ca_files: u.ca_file.iter().cloned().collect(),
                ..ClientConfig::default()
            };
            let client = Client::new(ccfg).map_err(|source| ProxyError::Setup {
                registry: registry.clone(),
                source: Box::new(source),
            })?;
            let label = match &u.endpoint {
                Some(e) => format!("{registry} ({e})"),
                None => registry.clone(),
            };
            upstreams.insert(
                domain_dir(&registry),
                Upstream {
                    registry,
                    label,
                    client,
                },
            );
        }
        Ok(Self {
            layout,
            upstreams,
            default: cfg.default_upstream.map(|d| normalize_domain(&d)),
            log,
            flights: SingleFlight::default(),
        })
    }

    /// Domains the server's name resolution should treat as proxied.
    pub fn domains(&self) -> ProxyDomains {
        ProxyDomains {
            domains: self.upstreams.keys().cloned().collect(),
            default: self.default.clone(),
        }
    }

    /// The upstream for a layout repository (`<domain-dir>/<path>`) and the path upstream.
    fn upstream(&self, repo: &str) -> Option<(&Upstream, String)> {
        let (first, rest) = repo.split_once('/')?;
        self.upstreams.get(first).map(|u| (u, rest.to_string()))
    }

    pub fn covers(&self, repo: &str) -> bool {
        self.upstream(repo).is_some()
    }

    pub fn upstream_label(&self, repo: &str) -> Option<String> {
        self.upstream(repo).map(|(u, _)| u.label.clone())
    }

    /// Fetch a manifest (by tag or digest) from upstream into `repo`.
    pub async fn fetch_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<u64, Arc<ProxyError>> {
        let (up, remote) = self
            .upstream(repo)
            .ok_or_else(|| Arc::new(ProxyError::Internal(format!("no upstream for {repo}"))))?;
        let image = manifest_ref(&up.registry, &remote, reference)
            .map_err(|e| Arc::new(ProxyError::Internal(e)))?;
        let (client, label, layout, log) = (
            up.client.clone(),
            up.label.clone(),
            self.layout.clone(),
            self.log.clone(),
        );
        let repo_s = repo.to_string();
        let reference_s = reference.to_string();
        let key = format!("manifest {repo} {reference}");
        self.flights
            .run(
                &key,
                move || async move {
                    let start = Instant::now();
                    let what = format!("manifest {image}");
                    let mut rec = AccessRecord {
                        kind: "upstream",
                        method: "GET".into(),
                        path: format!("/v2/{}/manifests/{}", image.repository, image.reference()),
                        repo: Some(repo_s.clone()),
                        reference: Some(reference_s.clone()),
                        upstream: Some(label.clone()),
                        ..Default::default()
                    };
                    let result = async {
                        let m = client.fetch_manifest(&image).await.map_err(|source| {
                            ProxyError::Upstream {
                                upstream: label.clone(),
                                what: what.clone(),
                                source: Box::new(source),
                            }
                        })?;
                        let tag = image.digest.is_none().then(|| reference_s.clone());
                        let (l, r, bytes) = (layout.clone(), repo_s.clone(), m.bytes.clone());
                        tokio::task::spawn_blocking(move || {
                            l.put_manifest(&r, tag.as_deref(), &bytes)
                        })
                        .await
                        .map_err(|e| ProxyError::Internal(e.to_string()))?
                        .map_err(|source| ProxyError::Store {
                            upstream: label.clone(),
                            what: what.clone(),
                            source,
                        })?;
                        Ok::<_, ProxyError>((m.digest, m.bytes.len() as u64))
                    }
                    .await;
                    finish_record(&mut rec, &result, start);
                    if let Some(l) = &log {
                        l.write(rec);
                    }
                    result.map(|(_, n)| n)
                },
                ProxyError::Internal,
            )
            .await
    }

    /// Fetch a blob from upstream into `repo` (one upstream fetch per digest at a time).
    pub async fn fetch_blob(&self, repo: &str, digest: &Digest) -> Result<u64, Arc<ProxyError>> {
        let (up, remote) = self
            .upstream(repo)
            .ok_or_else(|| Arc::new(ProxyError::Internal(format!("no upstream for {repo}"))))?;
        let (client, label, layout, log) = (
            up.client.clone(),
            up.label.clone(),
            self.layout.clone(),
            self.log.clone(),
        );
        let registry = up.registry.clone();
        let (repo_s, d) = (repo.to_string(), digest.clone());
        let n = self
            .flights
            .run(
                &format!("blob {} {digest}", domain_dir(&up.registry)),
                move || async move {
                    // A flight that just finished may have stored it already.
                    if let Ok(Some(n)) = layout.blob_size(&d) {
                        return Ok(n);
                    }
                    let start = Instant::now();
                    let mut rec = AccessRecord {
                        kind: "upstream",
                        method: "GET".into(),
                        path: format!("/v2/{remote}/blobs/{d}"),
                        repo: Some(repo_s.clone()),
                        digest: Some(d.to_string()),
                        upstream: Some(label.clone()),
                        ..Default::default()
                    };
                    let sink = Arc::new(LayoutSink::new(layout.clone(), repo_s.clone()));
                    let result = client
                        .fetch_blob(&registry, &remote, &d, None, sink)
                        .await
                        .map(|n| (d.clone(), n))
                        .map_err(|source| ProxyError::Upstream {
                            upstream: label.clone(),
                            what: format!("blob {d} of {registry}/{remote}"),
                            source: Box::new(source),
                        });
                    finish_record(&mut rec, &result, start);
                    if let Some(l) = &log {
                        l.write(rec);
                    }
                    result.map(|(_, n)| n)
                },
                ProxyError::Internal,
            )
            .await?;
        // Followers (and the leader) get the blob linked into their repository.
        let (layout, repo_s, d) = (self.layout.clone(), repo.to_string(), digest.clone());
        tokio::task::spawn_blocking(move || layout.link_blob(&repo_s, &d))
            .await
            .map_err(|e| Arc::new(ProxyError::Internal(e.to_string())))?
            .map_err(|source| {
                Arc::new(ProxyError::Store {
                    upstream: String::new(),
                    what: format!("blob link {digest}"),
                    source,
                })
            })?;
        Ok(n)
    }
}

fn finish_record(
    rec: &mut AccessRecord,
    result: &Result<(Digest, u64), ProxyError>,
    start: Instant,
) {
    rec.duration_ms = start.elapsed().as_millis() as u64;
    match result {
        Ok((d, n)) => {
            rec.status = 200;
            rec.bytes = *n;
            rec.digest = Some(d.to_string());
        }
        Err(e) => {
            rec.status = e.to_api().status.as_u16();
            rec.error = Some(e.to_string());
        }
    }
}

fn manifest_ref(
    registry: &str,
    repository: &str,
    reference: &str,
) -> Result<ImageReference, String> {
    let (tag, digest) = if reference.contains(':') {
        (
            None,
            Some(Digest::parse(reference).map_err(|e| e.to_string())?),
        )
    } else {
        (Some(reference.to_string()), None)
    };
    Ok(ImageReference {
        domain: registry.to_string(),
        repository: repository.to_string(),
        tag,
        digest,
    })
}
