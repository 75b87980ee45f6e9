//! `GET|HEAD|PUT /v2/<name>/manifests/<reference>`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;

use super::body::{self as b, json_response};
use super::dispatch::Ctx;
use super::errors::ApiError;
use super::resolve::{self, Resolved};
use super::state::{AppState, blocking};
use crate::digest::Digest;
use crate::distribution_layout::Layout;
use crate::manifest::Manifest;

/// distribution's limit for manifest bodies.
const MANIFEST_LIMIT: usize = 4 * 1024 * 1024;

/// Resolve a name for reading; ambiguity is a 404 that says what to do.
pub fn read_repo(st: &AppState, ctx: &mut Ctx, name: &str) -> Result<String, ApiError> {
    match resolve::for_read(&st.layout, name, ctx.ns(), &st.proxy_domains) {
        Resolved::Repo(r) => {
            ctx.rec.repo = Some(r.clone());
            Ok(r)
        }
        Resolved::Ambiguous { name, candidates } => Err(ApiError::name_unknown(
            &name,
            format!(
                "repository `{name}` exists under several registries ({}); request it with ?ns=<registry> or by its full path",
                candidates.join(", ")
            ),
        )),
    }
}

pub async fn get(
    st: &Arc<AppState>,
    ctx: &mut Ctx,
    name: &str,
    reference: &str,
) -> Result<Response, ApiError> {
    let repo = read_repo(st, ctx, name)?;
    ctx.rec.reference = Some(reference.to_string());
    if reference.contains(':') {
        Digest::parse(reference).map_err(|e| ApiError::digest_invalid(e.to_string()))?;
    }
    let read = |layout: Layout, repo: String, reference: String| {
        blocking(move || {
            layout
                .read_manifest(&repo, &reference)
                .map_err(ApiError::from)
        })
    };
    let mut found = read(st.layout.clone(), repo.clone(), reference.to_string()).await?;
    ctx.rec.cache = Some("hit");
    if found.is_none()
        && let Some(proxy) = st.proxy.as_ref().filter(|p| p.covers(&repo))
    {
        ctx.rec.cache = Some("miss");
        ctx.rec.upstream = proxy.upstream_label(&repo);
        proxy
            .fetch_manifest(&repo, reference)
            .await
            .map_err(|e| e.to_api())?;
        found = read(st.layout.clone(), repo.clone(), reference.to_string()).await?;
    }
    let Some(m) = found else {
        ctx.rec.cache = None;
        return Err(ApiError::manifest_unknown(reference));
    };
    ctx.rec.digest = Some(m.digest.to_string());
    let len = m.bytes.len();
    let mut resp = if ctx.is_head() {
        b::empty(StatusCode::OK)
    } else {
        let mut r = Response::new(Body::from(m.bytes));
        *r.status_mut() = StatusCode::OK;
        r
    };
    b::set(&mut resp, header::CONTENT_TYPE, &m.media_type);
    b::set(&mut resp, header::CONTENT_LENGTH, &len.to_string());
    b::set(&mut resp, "Docker-Content-Digest", &m.digest.to_string());
    b::set(&mut resp, header::ETAG, &format!("\"{}\"", m.digest));
    Ok(resp)
}

pub async fn put(
    st: &Arc<AppState>,
    ctx: &mut Ctx,
    name: &str,
    reference: &str,
    body: Body,
) -> Result<Response, ApiError> {
    let repo = resolve::for_write(name, ctx.ns());
    ctx.rec.repo = Some(repo.clone());
    ctx.rec.reference = Some(reference.to_string());
    let bytes = b::read_limited(body, MANIFEST_LIMIT).await?;
    let digest = Digest::of(&bytes);
    let tag = if reference.contains(':') {
        let want = Digest::parse(reference).map_err(|e| ApiError::digest_invalid(e.to_string()))?;
        if want != digest {
            return Err(ApiError::digest_invalid(format!(
                "manifest body hashes to {digest}, not {want} as in the URL"
            )));
        }
        None
    } else {
        Some(reference.to_string())
    };
    let parsed = Manifest::parse(&bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", e.to_string()))?;
    let layout = st.layout.clone();
    let repo2 = repo.clone();
    let stored = blocking(move || {
        check_references(&layout, &repo2, &parsed)?;
        layout
            .put_manifest(&repo2, tag.as_deref(), &bytes)
            .map_err(ApiError::from)
    })
    .await?;
    ctx.rec.digest = Some(stored.to_string());
    let mut resp = json_response(StatusCode::CREATED, String::new());
    resp.headers_mut().remove(header::CONTENT_TYPE);
    b::set(
        &mut resp,
        header::LOCATION,
        &format!("/v2/{name}/manifests/{stored}"),
    );
    b::set(&mut resp, "Docker-Content-Digest", &stored.to_string());
    Ok(resp)
}

/// Every blob an image manifest names must be in the repository, every child of an index
/// must be a manifest of the repository.
fn check_references(layout: &Layout, repo: &str, m: &Manifest) -> Result<(), ApiError> {
    let unknown = |d: &Digest| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "MANIFEST_BLOB_UNKNOWN",
            "blob unknown to registry",
        )
        .with_detail(serde_json::json!({ "digest": d.to_string() }))
    };
    match m {
        Manifest::Image { config, layers, .. } => {
            for d in std::iter::once(config).chain(layers.iter()) {
                if !d.urls.is_empty() {
                    continue; // foreign layer, fetched from its URLs
                }
                if layout.linked_blob_size(repo, &d.digest)?.is_none() {
                    return Err(unknown(&d.digest));
                }
            }
        }
        Manifest::Index { manifests, .. } => {
            for d in manifests {
                if !layout.has_manifest(repo, &d.digest)? {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "MANIFEST_UNKNOWN",
                        format!(
                            "index refers to manifest {} which is not in {repo}",
                            d.digest
                        ),
                    ));
                }
            }
        }
        Manifest::Other { .. } => {}
    }
    Ok(())
}
