//! Push from a [`BlobSource`]: HEAD before upload, cross-repository mount, monolithic or
//! chunked streaming uploads, manifests PUT as their raw bytes.

use std::io::Read;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};

use super::body::status_error;
use super::endpoint::Endpoint;
use super::sink::{BlobSource, SourceError};
use super::transport::{ONCE_UPLOAD, RETRY};
use super::{Client, ClientError};
use crate::digest::Digest;
use crate::manifest::Manifest;
use crate::reference::ImageReference;

const READ_CHUNK: u64 = 256 * 1024;

#[derive(Clone, Debug, Default)]
pub struct PushOptions {
    /// Repositories on the target registry that may already hold the blobs; tried with a
    /// cross-repository mount before uploading.
    pub mount_from: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct PushReport {
    /// Digest of the root manifest pushed.
    pub digest: Digest,
    pub uploaded: Vec<Digest>,
    pub mounted: Vec<Digest>,
    /// Blobs the registry already had (HEAD said so).
    pub skipped: Vec<Digest>,
    pub bytes_uploaded: u64,
}

enum Outcome {
    Skipped,
    Mounted,
    Uploaded(u64),
}

type SharedReader = Arc<Mutex<Box<dyn Read + Send>>>;

/// A request body that streams `len` bytes from `reader` on a blocking thread.
fn reader_body(reader: SharedReader, len: u64) -> reqwest::Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut r = reader.lock().unwrap_or_else(|p| p.into_inner());
        let mut left = len;
        while left > 0 {
            let mut buf = vec![0u8; left.min(READ_CHUNK) as usize];
            let item = match r.read(&mut buf) {
                Ok(0) => Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("source ended {left} bytes early"),
                )),
                Ok(n) => {
                    buf.truncate(n);
                    left -= n as u64;
                    Ok(Bytes::from(buf))
                }
                Err(e) => Err(e),
            };
            let stop = item.is_err();
            if tx.blocking_send(item).is_err() || stop {
                return;
            }
        }
    });
    reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|x| (x, rx))
    }))
}

/// A body that can be taken once; a replay (after a 401) fails and the blob is restarted.
fn once(body: reqwest::Body) -> impl Fn() -> Result<reqwest::Body, ClientError> + Send + Sync {
    let slot = Mutex::new(Some(body));
    move || {
        slot.lock()
            .ok()
            .and_then(|mut s| s.take())
            .ok_or_else(|| ClientError::Setup("upload body cannot be replayed".into()))
    }
}

fn with_digest(location: &str, d: &Digest) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={d}")
}

fn location(ep: &Endpoint, resp: &reqwest::Response, url: &str) -> Result<String, ClientError> {
    resp.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| ep.resolve_location(l))
        .ok_or_else(|| ClientError::Status {
            method: "POST".into(),
            url: url.to_string(),
            status: resp.status().as_u16(),
            code: None,
            message: Some("upload response has no Location header".into()),
        })
}

async fn source_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SourceError> + Send + 'static,
) -> Result<T, ClientError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ClientError::Setup(format!("source task failed: {e}")))?
        .map_err(ClientError::Source)
}

impl Client {
    /// Push the manifest `root` (and everything it references) from `source` to `target`
    /// (tagged with `target.tag` when set).
    pub async fn push(
        &self,
        target: &ImageReference,
        source: Arc<dyn BlobSource>,
        root: &Digest,
        opts: &PushOptions,
    ) -> Result<PushReport, ClientError> {
        let ep = self
            .endpoint(&target.domain)
            .await
            .map_err(|e| e.context("pushing", &target.to_string(), &target.domain))?;
        let repo = target.repository.clone();
        let mut scopes = vec![format!("repository:{repo}:pull,push")];
        scopes.extend(
            opts.mount_from
                .iter()
                .filter(|m| **m != repo)
                .map(|m| format!("repository:{m}:pull")),
        );
        let mut report = PushReport {
            digest: root.clone(),
            uploaded: Vec::new(),
            mounted: Vec::new(),
            skipped: Vec::new(),
            bytes_uploaded: 0,
        };
        let tag = target.tag.clone();
        self.push_tree(
            &ep,
            &repo,
            &scopes,
            &source,
            root,
            tag.as_deref(),
            opts,
            &mut report,
        )
        .await
        .map_err(|e| e.context("pushing", &target.to_string(), &ep.base))?;
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    async fn push_tree(
        &self,
        ep: &Endpoint,
        repo: &str,
        scopes: &[String],
        source: &Arc<dyn BlobSource>,
        d: &Digest,
        tag: Option<&str>,
        opts: &PushOptions,
        report: &mut PushReport,
    ) -> Result<(), ClientError> {
        let (s, d2) = (source.clone(), d.clone());
        let bytes = source_blocking(move || s.read_manifest(&d2)).await?;
        let actual = Digest::of(&bytes);
        if actual != *d {
            return Err(ClientError::DigestMismatch {
                what: format!("manifest {d} in the push source"),
                expected: d.clone(),
                actual,
            });
        }
        let parsed = Manifest::parse(&bytes).map_err(|e| ClientError::InvalidManifest {
            url: d.to_string(),
            reason: e.to_string(),
        })?;
        match &parsed {
            Manifest::Index { manifests, .. } => {
                for child in manifests {
                    Box::pin(self.push_tree(
                        ep,
                        repo,
                        scopes,
                        source,
                        &child.digest,
                        None,
                        opts,
                        report,
                    ))
                    .await?;
                }
            }
            Manifest::Image { config, layers, .. } => {
                let blobs: Vec<_> = std::iter::once(config)
                    .chain(layers.iter())
                    .filter(|b| b.urls.is_empty())
                    .collect();
                let outcomes: Vec<(Digest, Outcome)> = futures::stream::iter(blobs)
                    .map(|b| async move {
                        let o = self
                            .push_blob(ep, repo, scopes, source, &b.digest, opts)
                            .await?;
                        Ok::<_, ClientError>((b.digest.clone(), o))
                    })
                    .buffer_unordered(self.inner.cfg.concurrency.max(1))
                    .try_collect()
                    .await?;
                for (d, o) in outcomes {
                    match o {
                        Outcome::Skipped => report.skipped.push(d),
                        Outcome::Mounted => report.mounted.push(d),
                        Outcome::Uploaded(n) => {
                            report.uploaded.push(d);
                            report.bytes_uploaded += n;
                        }
                    }
                }
            }
            Manifest::Other { .. } => {}
        }
        let reference = tag.map(str::to_string).unwrap_or_else(|| d.to_string());
        let url = ep.url(&format!("/v2/{repo}/manifests/{reference}"));
        let mt = parsed.media_type().to_string();
        let body = Bytes::from(bytes);
        let resp = self
            .send(ep, scopes, RETRY, &|h| {
                Ok(h.put(&url)
                    .header(CONTENT_TYPE, mt.as_str())
                    .body(body.clone()))
            })
            .await?;
        if !resp.status().is_success() {
            return Err(status_error("PUT", &url, resp).await);
        }
        if let Some(got) = resp
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Digest::parse(v).ok())
            && got != *d
        {
            return Err(ClientError::DigestMismatch {
                what: format!("manifest stored at {url}"),
                expected: d.clone(),
                actual: got,
            });
        }
        Ok(())
    }

    async fn push_blob(
        &self,
        ep: &Endpoint,
        repo: &str,
        scopes: &[String],
        source: &Arc<dyn BlobSource>,
        d: &Digest,
        opts: &PushOptions,
    ) -> Result<Outcome, ClientError> {
        let max = self.inner.cfg.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.push_blob_once(ep, repo, scopes, source, d, opts).await {
                Ok(o) => return Ok(o),
                Err(e) if e.is_retryable() && attempt < max => {
                    tokio::time::sleep(self.backoff(attempt, None)).await
                }
                Err(e) if attempt > 1 => {
                    return Err(ClientError::RetriesExhausted {
                        attempts: attempt,
                        last: Box::new(e.into_root()),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn push_blob_once(
        &self,
        ep: &Endpoint,
        repo: &str,
        scopes: &[String],
        source: &Arc<dyn BlobSource>,
        d: &Digest,
        opts: &PushOptions,
    ) -> Result<Outcome, ClientError> {
        let blob_url = ep.url(&format!("/v2/{repo}/blobs/{d}"));
        let resp = self
            .send(ep, scopes, RETRY, &|h| Ok(h.head(&blob_url)))
            .await?;
        match resp.status() {
            s if s.is_success() => return Ok(Outcome::Skipped),
            StatusCode::NOT_FOUND => {}
            _ => return Err(status_error("HEAD", &blob_url, resp).await),
        }
        let uploads = ep.url(&format!("/v2/{repo}/blobs/uploads/"));
        let mut loc = None;
        for from in opts.mount_from.iter().filter(|m| m.as_str() != repo) {
            let url = format!("{uploads}?mount={d}&from={from}");
            let resp = self
                .send(ep, scopes, RETRY, &|h| {
                    Ok(h.post(&url).header(CONTENT_LENGTH, 0))
                })
                .await?;
            match resp.status() {
                StatusCode::CREATED => return Ok(Outcome::Mounted),
                StatusCode::ACCEPTED => {
                    loc = Some(location(ep, &resp, &url)?);
                    break;
                }
                _ => {}
            }
        }
        let mut loc = match loc {
            Some(l) => l,
            None => {
                let resp = self
                    .send(ep, scopes, RETRY, &|h| {
                        Ok(h.post(&uploads).header(CONTENT_LENGTH, 0))
                    })
                    .await?;
                if resp.status() != StatusCode::ACCEPTED {
                    return Err(status_error("POST", &uploads, resp).await);
                }
                location(ep, &resp, &uploads)?
            }
        };
        let (s, d2) = (source.clone(), d.clone());
        let (reader, size) = source_blocking(move || s.open_blob(&d2)).await?;
        let reader: SharedReader = Arc::new(Mutex::new(reader));
        let chunk = self.inner.cfg.chunk_size.max(1);
        if size > chunk {
            let mut offset = 0u64;
            while offset < size {
                let n = chunk.min(size - offset);
                let body = once(reader_body(reader.clone(), n));
                let range = format!("{offset}-{}", offset + n - 1);
                let url = loc.clone();
                let resp = self
                    .send(ep, scopes, ONCE_UPLOAD, &|h| {
                        Ok(h.patch(&url)
                            .header(CONTENT_TYPE, "application/octet-stream")
                            .header(CONTENT_RANGE, range.as_str())
                            .header(CONTENT_LENGTH, n)
                            .body(body()?))
                    })
                    .await?;
                if resp.status() != StatusCode::ACCEPTED {
                    return Err(status_error("PATCH", &url, resp).await);
                }
                loc = location(ep, &resp, &url)?;
                offset += n;
            }
            let url = with_digest(&loc, d);
            let resp = self
                .send(ep, scopes, ONCE_UPLOAD, &|h| {
                    Ok(h.put(&url).header(CONTENT_LENGTH, 0))
                })
                .await?;
            if !resp.status().is_success() {
                return Err(status_error("PUT", &url, resp).await);
            }
        } else {
            let url = with_digest(&loc, d);
            let body = once(reader_body(reader, size));
            let resp = self
                .send(ep, scopes, ONCE_UPLOAD, &|h| {
                    Ok(h.put(&url)
                        .header(CONTENT_TYPE, "application/octet-stream")
                        .header(CONTENT_LENGTH, size)
                        .body(body()?))
                })
                .await?;
            if !resp.status().is_success() {
                return Err(status_error("PUT", &url, resp).await);
            }
        }
        Ok(Outcome::Uploaded(size))
    }
}
