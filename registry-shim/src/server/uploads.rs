//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (start, monolithic, cross-repo mount),
//! `PATCH|PUT|GET|DELETE /v2/<name>/blobs/uploads/<uuid>`. Data streams into
//! `_uploads/<uuid>/data` while being hashed; nothing is buffered in memory.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;

use super::body as b;
use super::dispatch::Ctx;
use super::errors::ApiError;
use super::resolve::{self, Resolved};
use super::state::{AppState, UploadState, blocking};
use crate::digest::{Digest, Hasher};
use crate::distribution_layout::UploadDir;

fn created_blob(name: &str, d: &Digest) -> Response {
    let mut r = b::empty(StatusCode::CREATED);
    b::set(&mut r, header::LOCATION, &format!("/v2/{name}/blobs/{d}"));
    b::set(&mut r, "Docker-Content-Digest", &d.to_string());
    r
}

fn upload_response(status: StatusCode, ctx: &Ctx, name: &str, id: &str, size: u64) -> Response {
    let mut r = b::empty(status);
    b::set(
        &mut r,
        header::LOCATION,
        &format!("/v2/{name}/blobs/uploads/{id}{}", ctx.ns_query()),
    );
    b::set(
        &mut r,
        header::RANGE,
        &format!("0-{}", size.saturating_sub(1)),
    );
    b::set(&mut r, "Docker-Upload-UUID", id);
    r
}

fn query_digest(ctx: &Ctx, key: &str) -> Result<Option<Digest>, ApiError> {
    ctx.query
        .get(key)
        .map(|s| Digest::parse(s).map_err(|e| ApiError::digest_invalid(e.to_string())))
        .transpose()
}

pub async fn start(
    st: &Arc<AppState>,
    ctx: &mut Ctx,
    name: &str,
    body: Body,
) -> Result<Response, ApiError> {
    let repo = resolve::for_write(name, ctx.ns());
    ctx.rec.repo = Some(repo.clone());
    if let Some(d) = query_digest(ctx, "mount")? {
        ctx.rec.digest = Some(d.to_string());
        let from = ctx.query.get("from").cloned();
        let layout = st.layout.clone();
        let from_repo =
            from.and_then(
                |f| match resolve::for_read(&layout, &f, ctx.ns(), &st.proxy_domains) {
                    Resolved::Repo(r) => Some(r),
                    Resolved::Ambiguous { .. } => None,
                },
            );
        let (repo2, d2) = (repo.clone(), d.clone());
        let mounted = blocking(move || {
            let have = layout.linked_blob_size(&repo2, &d2)?.is_some();
            let src = match &from_repo {
                Some(f) if !have => layout.linked_blob_size(f, &d2)?.is_some(),
                _ => false,
            };
            if src {
                layout.link_blob(&repo2, &d2)?;
            }
            Ok(have || src)
        })
        .await?;
        if mounted {
            return Ok(created_blob(name, &d));
        }
        // Not mountable: fall back to a regular upload, as distribution does.
    }
    let layout = st.layout.clone();
    let repo2 = repo.clone();
    let upload = blocking(move || layout.new_upload(&repo2).map_err(ApiError::from)).await?;
    if let Some(d) = query_digest(ctx, "digest")? {
        ctx.rec.digest = Some(d.to_string());
        let mut hasher = Hasher::new();
        let res = b::append_body(&upload.data_path(), &mut hasher, body).await;
        if let Err(e) = res {
            upload.remove();
            return Err(e);
        }
        finish_upload(st, repo, upload, hasher, d.clone()).await?;
        return Ok(created_blob(name, &d));
    }
    let id = upload.id().to_string();
    *st.upload_slot(&id).lock().await = Some(UploadState {
        repo,
        hasher: Hasher::new(),
    });
    Ok(upload_response(StatusCode::ACCEPTED, ctx, name, &id, 0))
}

async fn finish_upload(
    st: &Arc<AppState>,
    repo: String,
    upload: UploadDir,
    hasher: Hasher,
    d: Digest,
) -> Result<u64, ApiError> {
    let layout = st.layout.clone();
    blocking(move || {
        upload
            .finish(&layout, &repo, hasher, &d)
            .map_err(ApiError::from)
    })
    .await
}

/// The upload's directory (404 when it does not exist).
async fn load(st: &Arc<AppState>, repo: &str, id: &str) -> Result<UploadDir, ApiError> {
    let layout = st.layout.clone();
    let (repo2, id2) = (repo.to_string(), id.to_string());
    let dir = blocking(move || layout.upload(&repo2, &id2).map_err(ApiError::from)).await?;
    let Some(dir) = dir else {
        st.forget_upload(id);
        return Err(ApiError::upload_unknown(id));
    };
    Ok(dir)
}

async fn rehash(dir: &UploadDir) -> Result<Hasher, ApiError> {
    let p = dir.data_path();
    blocking(move || {
        use std::io::Read;
        let mut f = std::fs::File::open(&p)
            .map_err(|e| ApiError::internal(format!("open {}: {e}", p.display())))?;
        let mut h = Hasher::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| ApiError::internal(format!("read {}: {e}", p.display())))?;
            if n == 0 {
                return Ok(h);
            }
            h.update(&buf[..n]);
        }
    })
    .await
}

/// Take the state out of its slot (or rebuild it from disk after a restart), checking it
/// belongs to `repo`.
async fn take_state(
    st: &Arc<AppState>,
    slot: &mut Option<UploadState>,
    repo: &str,
    id: &str,
) -> Result<(UploadDir, UploadState), ApiError> {
    let dir = load(st, repo, id).await?;
    let state = match slot.take() {
        Some(s) if s.repo == repo => s,
        Some(s) => {
            *slot = Some(s);
            return Err(ApiError::upload_unknown(id));
        }
        None => UploadState {
            repo: repo.to_string(),
            hasher: rehash(&dir).await?,
        },
    };
    Ok((dir, state))
}

pub async fn patch(
    st: &Arc<AppState>,
    ctx: &mut Ctx,
    name: &str,
    id: &str,
    body: Body,
) -> Result<Response, ApiError> {
    let repo = resolve::for_write(name, ctx.ns());
    ctx.rec.repo = Some(repo.clone());
    let slot = st.upload_slot(id);
    let mut guard = slot.lock().await;
    let (dir, mut state) = take_state(st, &mut guard, &repo, id).await?;
    if let Some(cr) = ctx
        .headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
    {
        let start = cr
            .trim()
            .trim_start_matches("bytes ")
            .split('-')
            .next()
            .and_then(|s| s.trim().parse::<u64>().ok());
        if start != Some(state.hasher.len()) {
            let size = state.hasher.len();
            *guard = Some(state);
            let mut r = upload_response(StatusCode::RANGE_NOT_SATISFIABLE, ctx, name, id, size);
            b::set(&mut r, header::CONTENT_TYPE, "application/json");
            return Ok(r);
        }
    }
    let res = b::append_body(&dir.data_path(), &mut state.hasher, body).await;
    let size = state.hasher.len();
    *guard = Some(state);
    res?;
    Ok(upload_response(StatusCode::ACCEPTED, ctx, name, id, size))
}

pub async fn finish(
    st: &Arc<AppState>,
    ctx: &mut Ctx,
    name: &str,
    id: &str,
    body: Body,
) -> Result<Response, ApiError> {
    let repo = resolve::for_write(name, ctx.ns());
    ctx.rec.repo = Some(repo.clone());
    let d = query_digest(ctx, "digest")?
        .ok_or_else(|| ApiError::digest_invalid("PUT completing an upload needs ?digest="))?;
    ctx.rec.digest = Some(d.to_string());
    let slot = st.upload_slot(id);
    let mut guard = slot.lock().await;
    let (dir, mut state) = take_state(st, &mut guard, &repo, id).await?;
    if let Err(e) = b::append_body(&dir.data_path(), &mut state.hasher, body).await {
        *guard = Some(state);
        return Err(e);
    }
    st.forget_upload(id);
    finish_upload(st, repo, dir, state.hasher, d.clone()).await?;
    Ok(created_blob(name, &d))
}

pub async fn status(
    st: &Arc<AppState>,
    ctx: &mut Ctx,
    name: &str,
    id: &str,
) -> Result<Response, ApiError> {
    let repo = resolve::for_write(name, ctx.ns());
    ctx.rec.repo = Some(repo.clone());
    let dir = load(st, &repo, id).await?;
    let size = dir.len().map_err(ApiError::from)?;
    Ok(upload_response(StatusCode::NO_CONTENT, ctx, name, id, size))
}

pub async fn cancel(
    st: &Arc<AppState>,
    ctx: &mut Ctx,
    name: &str,
    id: &str,
) -> Result<Response, ApiError> {
    let repo = resolve::for_write(name, ctx.ns());
    ctx.rec.repo = Some(repo.clone());
    let dir = load(st, &repo, id).await?;
    dir.remove();
    st.forget_upload(id);
    Ok(b::empty(StatusCode::NO_CONTENT))
}
