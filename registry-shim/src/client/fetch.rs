//! Streaming one blob from a registry into a [`BlobSink`]: network chunks go through a
//! bounded channel to a blocking writer, the sink verifies, truncation and stalls are
//! detected, failed attempts are retried from scratch (the partial blob is discarded).

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::CONTENT_LENGTH;

use super::body::{BodyStream, status_error};
use super::endpoint::Endpoint;
use super::pull::pull_scope;
use super::sink::{BlobSink, SinkError};
use super::transport::RETRY;
use super::{Client, ClientError};
use crate::digest::Digest;

enum Msg {
    Chunk(bytes::Bytes),
    Done,
}

pub(crate) fn sink_err(e: SinkError, what: &str) -> ClientError {
    match e {
        SinkError::DigestMismatch { expected, actual } => ClientError::DigestMismatch {
            what: what.to_string(),
            expected,
            actual,
        },
        other => ClientError::Sink(other),
    }
}

impl Client {
    /// Stream one blob into `sink` (with retries). Returns the bytes received.
    pub async fn fetch_blob(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        size: Option<u64>,
        sink: Arc<dyn BlobSink>,
    ) -> Result<u64, ClientError> {
        let ep = self.endpoint(registry).await?;
        self.fetch_blob_at(&ep, repository, digest, size, sink)
            .await
    }

    pub(crate) async fn fetch_blob_at(
        &self,
        ep: &Endpoint,
        repo: &str,
        digest: &Digest,
        size: Option<u64>,
        sink: Arc<dyn BlobSink>,
    ) -> Result<u64, ClientError> {
        let max = self.inner.cfg.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .fetch_blob_once(ep, repo, digest, size, sink.clone())
                .await
            {
                Ok(n) => return Ok(n),
                Err(e) if e.is_retryable() && attempt < max => {
                    tokio::time::sleep(self.backoff(attempt, None)).await;
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

    async fn fetch_blob_once(
        &self,
        ep: &Endpoint,
        repo: &str,
        digest: &Digest,
        size: Option<u64>,
        sink: Arc<dyn BlobSink>,
    ) -> Result<u64, ClientError> {
        let url = ep.url(&format!("/v2/{repo}/blobs/{digest}"));
        let resp = self
            .send(ep, &pull_scope(repo), RETRY, &|h| Ok(h.get(&url)))
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Err(ClientError::BlobUnknown {
                url,
                digest: digest.clone(),
            });
        }
        if !resp.status().is_success() {
            return Err(status_error("GET", &url, resp).await);
        }
        let announced = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let expected = size.or(announced);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(4);
        let (sink2, d2) = (sink.clone(), digest.clone());
        let writer = tokio::task::spawn_blocking(move || -> Result<bool, SinkError> {
            let mut w = sink2.begin_blob(&d2, expected)?;
            while let Some(msg) = rx.blocking_recv() {
                match msg {
                    Msg::Chunk(b) => w.write(&b)?,
                    Msg::Done => {
                        w.commit()?;
                        return Ok(true);
                    }
                }
            }
            Ok(false) // aborted: the writer is dropped and its partial data removed
        });
        let mut body = BodyStream::new(resp, self.inner.cfg.stall_timeout);
        let streamed: Result<(), ClientError> = async {
            while let Some(chunk) = body.next().await? {
                if tx.send(Msg::Chunk(chunk)).await.is_err() {
                    return Ok(()); // the writer failed; its error is reported below
                }
            }
            if let Some(n) = expected.filter(|n| *n != body.received) {
                return Err(ClientError::Truncated {
                    url: url.clone(),
                    expected: n,
                    got: body.received,
                });
            }
            let _ = tx.send(Msg::Done).await;
            Ok(())
        }
        .await;
        drop(tx);
        let written = writer.await.map_err(|e| {
            ClientError::Sink(SinkError::Other(format!("storage task failed: {e}")))
        })?;
        streamed?;
        match written {
            Ok(true) => Ok(body.received),
            Ok(false) => Err(ClientError::Sink(SinkError::Other(
                "blob write aborted".into(),
            ))),
            Err(e) => Err(sink_err(e, &format!("blob {url}"))),
        }
    }
}
