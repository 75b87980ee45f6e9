//! Reading responses: stall-guarded body streams and OCI error bodies.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::Response;

use super::ClientError;

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// `(code, message)` from an OCI error body.
pub(crate) async fn error_body(resp: Response) -> (Option<String>, Option<String>) {
    let text = tokio::time::timeout(Duration::from_secs(5), resp.bytes()).await;
    let Ok(Ok(bytes)) = text else {
        return (None, None);
    };
    let bytes = &bytes[..bytes.len().min(64 * 1024)];
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some(e) = v.get("errors").and_then(|e| e.get(0))
    {
        let code = e.get("code").and_then(|c| c.as_str()).map(str::to_string);
        let msg = e
            .get("message")
            .and_then(|c| c.as_str())
            .map(str::to_string);
        return (code, msg);
    }
    let t = String::from_utf8_lossy(bytes)
        .trim()
        .chars()
        .take(200)
        .collect::<String>();
    (None, (!t.is_empty()).then_some(t))
}

pub(crate) async fn status_error(method: &str, url: &str, resp: Response) -> ClientError {
    let status = resp.status().as_u16();
    let (code, message) = error_body(resp).await;
    ClientError::Status {
        method: method.to_string(),
        url: url.to_string(),
        status,
        code,
        message,
    }
}

/// A response body read chunk by chunk; no data for `stall` → [`ClientError::Stalled`].
pub(crate) struct BodyStream {
    stream: BoxStream<'static, reqwest::Result<Bytes>>,
    url: String,
    stall: Duration,
    pub received: u64,
}

impl BodyStream {
    pub fn new(resp: Response, stall: Duration) -> Self {
        Self {
            url: resp.url().to_string(),
            stream: resp.bytes_stream().boxed(),
            stall,
            received: 0,
        }
    }

    pub async fn next(&mut self) -> Result<Option<Bytes>, ClientError> {
        match tokio::time::timeout(self.stall, self.stream.next()).await {
            Err(_) => Err(ClientError::Stalled {
                url: self.url.clone(),
                secs: self.stall.as_secs(),
            }),
            Ok(None) => Ok(None),
            Ok(Some(Err(e))) => Err(ClientError::Unreachable {
                endpoint: self.url.clone(),
                reason: format!(
                    "connection broke after {} bytes: {}",
                    self.received,
                    error_chain(&e)
                ),
            }),
            Ok(Some(Ok(b))) => {
                self.received += b.len() as u64;
                Ok(Some(b))
            }
        }
    }

    /// Read everything, refusing more than `limit` bytes.
    pub async fn read_all(mut self, limit: u64) -> Result<Vec<u8>, ClientError> {
        let mut out = Vec::new();
        while let Some(b) = self.next().await? {
            if out.len() as u64 + b.len() as u64 > limit {
                return Err(ClientError::TooLarge {
                    url: self.url,
                    limit,
                });
            }
            out.extend_from_slice(&b);
        }
        Ok(out)
    }
}
