//! Response and request body helpers: JSON replies, streaming file bodies, byte counting for
//! the access log, streaming request bodies to disk.

use std::path::Path;
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::errors::ApiError;
use crate::access_log::{AccessLog, AccessRecord};
use crate::digest::Hasher;

const READ_CHUNK: usize = 256 * 1024;

pub fn json_response(status: StatusCode, json: String) -> Response {
    let len = json.len();
    let mut r = Response::new(Body::from(json));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}

/// A response with no body; `Content-Length: 0` unless the caller sets another length (HEAD).
pub fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    r
}

pub fn set(r: &mut Response, name: impl header::IntoHeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

/// Stream `len` bytes of `path` from `offset`.
pub async fn file_body(path: &Path, offset: u64, len: u64) -> Result<Body, ApiError> {
    let mut f = tokio::fs::File::open(path)
        .await
        .map_err(|e| ApiError::internal(format!("open {}: {e}", path.display())))?;
    if offset > 0 {
        f.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(|e| ApiError::internal(format!("seek {}: {e}", path.display())))?;
    }
    use tokio::io::AsyncReadExt;
    let stream = tokio_util::io::ReaderStream::with_capacity(f.take(len), READ_CHUNK);
    Ok(Body::from_stream(stream))
}

/// Write the access record once the response body is fully sent (or dropped), with the
/// number of bytes that went out.
pub fn log_on_completion(
    resp: Response,
    log: Option<AccessLog>,
    rec: AccessRecord,
    start: Instant,
) -> Response {
    let Some(log) = log else { return resp };
    struct Guard {
        log: AccessLog,
        rec: Option<AccessRecord>,
        start: Instant,
        bytes: u64,
    }
    impl Drop for Guard {
        fn drop(&mut self) {
            if let Some(mut rec) = self.rec.take() {
                rec.bytes = self.bytes;
                rec.duration_ms = self.start.elapsed().as_millis() as u64;
                self.log.write(rec);
            }
        }
    }
    let (parts, body) = resp.into_parts();
    let mut guard = Guard {
        log,
        rec: Some(rec),
        start,
        bytes: 0,
    };
    let stream = body.into_data_stream().map(move |chunk| {
        let g = &mut guard; // capture the whole guard: it logs when the stream is dropped
        if let Ok(b) = &chunk {
            g.bytes += b.len() as u64;
        }
        chunk
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Append a request body to `data`, hashing every byte that reached the file.
pub async fn append_body(data: &Path, hasher: &mut Hasher, body: Body) -> Result<u64, ApiError> {
    let file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(data)
        .await
        .map_err(|e| ApiError::internal(format!("open upload {}: {e}", data.display())))?;
    let mut out = tokio::io::BufWriter::with_capacity(1024 * 1024, file);
    let mut stream = body.into_data_stream();
    let mut n = 0u64;
    let mut failure = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                if let Err(e) = out.write_all(&bytes).await {
                    failure = Some(ApiError::internal(format!(
                        "write upload {}: {e}",
                        data.display()
                    )));
                    break;
                }
                hasher.update(&bytes);
                n += bytes.len() as u64;
            }
            Err(e) => {
                failure = Some(ApiError::upload_invalid(format!(
                    "reading request body failed: {e}"
                )));
                break;
            }
        }
    }
    if let Err(e) = out.flush().await {
        return Err(ApiError::internal(format!(
            "write upload {}: {e}",
            data.display()
        )));
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(n),
    }
}

/// Read a whole (small) request body, refusing more than `limit` bytes.
pub async fn read_limited(body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let bytes = chunk
            .map_err(|e| ApiError::upload_invalid(format!("reading request body failed: {e}")))?;
        if out.len() + bytes.len() > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "SIZE_INVALID",
                format!("manifest larger than {limit} bytes"),
            ));
        }
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

/// Parse a single `Range: bytes=...` against `size`: `Ok(None)` = whole body,
/// `Err(())` = unsatisfiable.
pub fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // multi-range: serve everything, as distribution does
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        (size.saturating_sub(n), size.saturating_sub(1))
    } else {
        let s: u64 = a.parse().map_err(|_| ())?;
        let e = if b.is_empty() {
            size.saturating_sub(1)
        } else {
            b.parse::<u64>()
                .map_err(|_| ())?
                .min(size.saturating_sub(1))
        };
        (s, e)
    };
    if size == 0 || start >= size || start > end {
        return Err(());
    }
    Ok(Some((start, end)))
}

#[cfg(test)]
#[path = "../tests/server_body.rs"]
mod tests;
