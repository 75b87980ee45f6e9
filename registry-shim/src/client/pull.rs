//! Resolve and pull: manifests kept as raw bytes, blobs streamed into a [`BlobSink`],
//! content the sink already has is not fetched again.

use std::sync::Arc;

use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::body::{BodyStream, status_error};
use super::endpoint::Endpoint;
use super::sink::{BlobSink, SinkError};
use super::transport::RETRY;
use super::{Client, ClientError};
use crate::digest::Digest;
use crate::manifest::{Descriptor, MANIFEST_ACCEPT, Manifest};
use crate::platform::Platform;
use crate::reference::ImageReference;

const MANIFEST_LIMIT: u64 = 4 * 1024 * 1024;

#[derive(Clone, Debug, Default)]
pub struct PullOptions {
    /// Platform to pick from an index; `None` = the host's.
    pub platform: Option<Platform>,
    /// Pull every child of an index instead of one.
    pub all_platforms: bool,
}

#[derive(Clone, Debug)]
pub struct FetchedManifest {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// One image manifest that was pulled.
#[derive(Clone, Debug)]
pub struct PulledManifest {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    pub platform: Option<Platform>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

#[derive(Clone, Debug)]
pub struct PulledImage {
    pub reference: ImageReference,
    /// The manifest the tag (or digest) points at: an index or an image manifest.
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    /// The image manifests pulled (one per chosen platform).
    pub manifests: Vec<PulledManifest>,
    pub blobs_fetched: u64,
    pub bytes_fetched: u64,
    pub blobs_present: u64,
}

pub(crate) fn pull_scope(repo: &str) -> Vec<String> {
    vec![format!("repository:{repo}:pull")]
}

async fn on_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SinkError> + Send + 'static,
) -> Result<T, ClientError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ClientError::Sink(SinkError::Other(format!("storage task failed: {e}"))))?
        .map_err(ClientError::Sink)
}

impl Client {
    /// The digest a reference points at (`HEAD`), if the registry says.
    pub async fn resolve(&self, r: &ImageReference) -> Result<Option<Digest>, ClientError> {
        let ep = self.endpoint(&r.domain).await?;
        let url = ep.url(&format!("/v2/{}/manifests/{}", r.repository, r.reference()));
        let resp = self
            .send(&ep, &pull_scope(&r.repository), RETRY, &|h| {
                Ok(h.head(&url).header(ACCEPT, MANIFEST_ACCEPT))
            })
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Err(ClientError::ManifestUnknown { url }),
            s if s.is_success() => Ok(resp
                .headers()
                .get("Docker-Content-Digest")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| Digest::parse(v).ok())),
            // Some registries refuse HEAD; the caller falls back to GET.
            StatusCode::METHOD_NOT_ALLOWED => Ok(None),
            _ => Err(status_error("HEAD", &url, resp).await),
        }
    }

    /// GET a manifest by tag or digest and verify it.
    pub async fn fetch_manifest(&self, r: &ImageReference) -> Result<FetchedManifest, ClientError> {
        let ep = self.endpoint(&r.domain).await?;
        self.fetch_manifest_at(&ep, &r.repository, &r.reference(), r.digest.as_ref())
            .await
    }

    async fn fetch_manifest_at(
        &self,
        ep: &Endpoint,
        repo: &str,
        reference: &str,
        expected: Option<&Digest>,
    ) -> Result<FetchedManifest, ClientError> {
        let url = ep.url(&format!("/v2/{repo}/manifests/{reference}"));
        let resp = self
            .send(ep, &pull_scope(repo), RETRY, &|h| {
                Ok(h.get(&url).header(ACCEPT, MANIFEST_ACCEPT))
            })
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Err(ClientError::ManifestUnknown { url });
        }
        if !resp.status().is_success() {
            return Err(status_error("GET", &url, resp).await);
        }
        let header_digest = resp
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Digest::parse(v).ok());
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(';').next().unwrap_or(s).trim().to_string());
        let bytes = BodyStream::new(resp, self.inner.cfg.stall_timeout)
            .read_all(MANIFEST_LIMIT)
            .await?;
        let digest = Digest::of(&bytes);
        if let Some(want) = expected.or(header_digest.as_ref())
            && *want != digest
        {
            return Err(ClientError::DigestMismatch {
                what: format!("manifest {url}"),
                expected: want.clone(),
                actual: digest,
            });
        }
        let parsed = Manifest::parse(&bytes).map_err(|e| ClientError::InvalidManifest {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let media_type = match (&parsed, content_type) {
            (Manifest::Other { .. }, Some(ct)) if crate::manifest::is_manifest_media_type(&ct) => {
                ct
            }
            _ => parsed.media_type().to_string(),
        };
        Ok(FetchedManifest {
            digest,
            media_type,
            bytes,
        })
    }

    /// Pull an image (one platform of an index, or all) into `sink`.
    pub async fn pull(
        &self,
        r: &ImageReference,
        opts: &PullOptions,
        sink: Arc<dyn BlobSink>,
    ) -> Result<PulledImage, ClientError> {
        let ep = self
            .endpoint(&r.domain)
            .await
            .map_err(|e| e.context("pulling", &r.to_string(), &r.domain))?;
        self.pull_at(&ep, r, opts, sink)
            .await
            .map_err(|e| e.context("pulling", &r.to_string(), &ep.base))
    }

    /// A manifest from the sink when it has it, else from the registry.
    async fn manifest_cached(
        &self,
        ep: &Endpoint,
        repo: &str,
        d: &Digest,
        sink: &Arc<dyn BlobSink>,
    ) -> Result<FetchedManifest, ClientError> {
        let (s, d2) = (sink.clone(), d.clone());
        if let Some(bytes) = on_blocking(move || s.get_manifest(&d2)).await? {
            let mt = Manifest::parse(&bytes)
                .map(|m| m.media_type().to_string())
                .unwrap_or_default();
            return Ok(FetchedManifest {
                digest: d.clone(),
                media_type: mt,
                bytes,
            });
        }
        self.fetch_manifest_at(ep, repo, &d.to_string(), Some(d))
            .await
    }

    async fn pull_at(
        &self,
        ep: &Endpoint,
        r: &ImageReference,
        opts: &PullOptions,
        sink: Arc<dyn BlobSink>,
    ) -> Result<PulledImage, ClientError> {
        let repo = &r.repository;
        let root = match &r.digest {
            Some(d) => self.manifest_cached(ep, repo, d, &sink).await?,
            None => match self.resolve(r).await? {
                Some(d) => self.manifest_cached(ep, repo, &d, &sink).await?,
                None => {
                    self.fetch_manifest_at(ep, repo, &r.reference(), None)
                        .await?
                }
            },
        };
        let parsed = Manifest::parse(&root.bytes).map_err(|e| ClientError::InvalidManifest {
            url: r.to_string(),
            reason: e.to_string(),
        })?;
        let mut images: Vec<(FetchedManifest, Option<Platform>)> = Vec::new();
        match &parsed {
            Manifest::Index { manifests, .. } => {
                for child in select_children(manifests, opts)? {
                    let m = self.manifest_cached(ep, repo, &child.digest, &sink).await?;
                    let plat = child.platform.as_ref().map(|p| {
                        Platform::new(&p.os, &p.architecture, p.variant.as_deref().unwrap_or(""))
                    });
                    images.push((m, plat));
                }
            }
            _ => images.push((root.clone(), None)),
        }
        let mut pulled = Vec::new();
        let mut blobs: Vec<Descriptor> = Vec::new();
        for (m, platform) in &images {
            match Manifest::parse(&m.bytes) {
                Ok(Manifest::Image {
                    media_type,
                    config,
                    layers,
                }) => {
                    for d in std::iter::once(&config).chain(layers.iter()) {
                        if d.urls.is_empty() && !blobs.iter().any(|b| b.digest == d.digest) {
                            blobs.push(d.clone());
                        }
                    }
                    pulled.push(PulledManifest {
                        digest: m.digest.clone(),
                        media_type,
                        size: m.bytes.len() as u64,
                        platform: platform.clone(),
                        config,
                        layers,
                    });
                }
                Ok(_) => {} // nested index or unknown artifact: stored, not walked
                Err(e) => {
                    return Err(ClientError::InvalidManifest {
                        url: format!("{r}@{}", m.digest),
                        reason: e.to_string(),
                    });
                }
            }
        }
        let mut present = 0u64;
        let mut missing = Vec::new();
        for b in blobs {
            let (s, d, n) = (sink.clone(), b.digest.clone(), b.size);
            if on_blocking(move || s.has_blob(&d, n)).await? {
                present += 1;
            } else {
                missing.push(b);
            }
        }
        // After the first failure no new fetch starts, but fetches already running finish
        // (each removes its partial data), so nothing half-written outlives the error.
        let failed = std::sync::atomic::AtomicBool::new(false);
        let results: Vec<Result<u64, ClientError>> = futures::stream::iter(missing.iter())
            .map(|b| {
                let failed = &failed;
                let sink = sink.clone();
                async move {
                    if failed.load(std::sync::atomic::Ordering::Relaxed) {
                        return Ok(0);
                    }
                    let r = self
                        .fetch_blob_at(ep, repo, &b.digest, Some(b.size), sink)
                        .await;
                    if r.is_err() {
                        failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    r
                }
            })
            .buffer_unordered(self.inner.cfg.concurrency.max(1))
            .collect()
            .await;
        let fetched = results.into_iter().collect::<Result<Vec<u64>, _>>()?;
        for (m, _) in &images {
            if m.digest != root.digest {
                let (s, m) = (sink.clone(), m.clone());
                on_blocking(move || s.put_manifest(&m.digest, &m.media_type, &m.bytes, None))
                    .await?;
            }
        }
        let tag = r.tag.clone();
        let (s, rm) = (sink.clone(), root.clone());
        on_blocking(move || s.put_manifest(&rm.digest, &rm.media_type, &rm.bytes, tag.as_deref()))
            .await?;
        Ok(PulledImage {
            reference: r.clone(),
            digest: root.digest.clone(),
            media_type: root.media_type.clone(),
            size: root.bytes.len() as u64,
            manifests: pulled,
            blobs_fetched: fetched.len() as u64,
            bytes_fetched: fetched.iter().sum(),
            blobs_present: present,
        })
    }
}

/// Children of an index to pull.
fn select_children<'a>(
    manifests: &'a [Descriptor],
    opts: &PullOptions,
) -> Result<Vec<&'a Descriptor>, ClientError> {
    if opts.all_platforms {
        return Ok(manifests.iter().collect());
    }
    let want = opts.platform.clone().unwrap_or_else(Platform::host);
    let matching = |exact_variant: bool| {
        manifests.iter().find(|d| {
            d.platform.as_ref().is_some_and(|p| {
                want.matches(&p.os, &p.architecture, p.variant.as_deref())
                    && (!exact_variant
                        || want.variant.is_empty()
                        || p.variant.as_deref() == Some(want.variant.as_str()))
            })
        })
    };
    match matching(true).or_else(|| matching(false)) {
        Some(d) => Ok(vec![d]),
        None => Err(ClientError::NoPlatform {
            platform: want.to_string(),
            available: manifests
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .map(|p| match &p.variant {
                    Some(v) if !v.is_empty() => format!("{}/{}/{v}", p.os, p.architecture),
                    _ => format!("{}/{}", p.os, p.architecture),
                })
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}
