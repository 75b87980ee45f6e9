//! `GET|HEAD /v2/<name>/blobs/<digest>` with Range support.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::Response;

use super::body as b;
use super::dispatch::Ctx;
use super::errors::ApiError;
use super::manifests::read_repo;
use super::state::{AppState, blocking};
use crate::digest::Digest;

pub async fn get(
    st: &Arc<AppState>,
    ctx: &mut Ctx,
    name: &str,
    digest: &str,
) -> Result<Response, ApiError> {
    let repo = read_repo(st, ctx, name)?;
    let d = Digest::parse(digest).map_err(|e| ApiError::digest_invalid(e.to_string()))?;
    ctx.rec.digest = Some(d.to_string());
    let stat = |st: &Arc<AppState>| {
        let (layout, repo, d) = (st.layout.clone(), repo.clone(), d.clone());
        blocking(move || layout.linked_blob_size(&repo, &d).map_err(ApiError::from))
    };
    let mut size = stat(st).await?;
    ctx.rec.cache = Some("hit");
    if size.is_none()
        && let Some(proxy) = st.proxy.as_ref().filter(|p| p.covers(&repo))
    {
        ctx.rec.cache = Some("miss");
        ctx.rec.upstream = proxy.upstream_label(&repo);
        proxy.fetch_blob(&repo, &d).await.map_err(|e| e.to_api())?;
        size = stat(st).await?;
    }
    let Some(size) = size else {
        ctx.rec.cache = None;
        return Err(ApiError::blob_unknown(&d));
    };
    let range = match ctx.headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(v) => match b::parse_range(v, size) {
            Ok(r) => r,
            Err(()) => {
                let mut r = b::empty(StatusCode::RANGE_NOT_SATISFIABLE);
                b::set(&mut r, header::CONTENT_RANGE, &format!("bytes */{size}"));
                return Ok(r);
            }
        },
    };
    let (status, start, len) = match range {
        Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e - s + 1),
        None => (StatusCode::OK, 0, size),
    };
    let mut resp = if ctx.is_head() {
        b::empty(status)
    } else {
        let body = b::file_body(&st.layout.blob_path(&d), start, len).await?;
        let mut r = Response::new(body);
        *r.status_mut() = status;
        r
    };
    if range.is_some() {
        b::set(
            &mut resp,
            header::CONTENT_RANGE,
            &format!("bytes {start}-{}/{size}", start + len - 1),
        );
    }
    b::set(&mut resp, header::CONTENT_LENGTH, &len.to_string());
    b::set(&mut resp, header::CONTENT_TYPE, "application/octet-stream");
    b::set(&mut resp, header::ACCEPT_RANGES, "bytes");
    b::set(&mut resp, "Docker-Content-Digest", &d.to_string());
    b::set(&mut resp, header::ETAG, &format!("\"{d}\""));
    b::set(&mut resp, header::CACHE_CONTROL, "max-age=31536000");
    Ok(resp)
}
