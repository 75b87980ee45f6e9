//! `GET /v2/_catalog` and `GET /v2/<name>/tags/list`, with `n`/`last` pagination.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::Response;

use super::body::{self as b, json_response};
use super::dispatch::Ctx;
use super::errors::ApiError;
use super::manifests::read_repo;
use super::state::{AppState, blocking};

fn paginate(items: Vec<String>, ctx: &Ctx) -> (Vec<String>, Option<String>) {
    let last = ctx.query.get("last").cloned().unwrap_or_default();
    let n = ctx.query.get("n").and_then(|n| n.parse::<usize>().ok());
    let mut rest: Vec<String> = items
        .into_iter()
        .filter(|i| last.is_empty() || *i > last)
        .collect();
    match n {
        Some(n) if rest.len() > n => {
            rest.truncate(n);
            let next = rest.last().cloned();
            (rest, next)
        }
        _ => (rest, None),
    }
}

fn with_link(mut r: Response, path: &str, n: Option<&String>, next: Option<String>) -> Response {
    if let (Some(next), Some(n)) = (next, n) {
        b::set(
            &mut r,
            header::LINK,
            &format!("<{path}?last={next}&n={n}>; rel=\"next\""),
        );
    }
    r
}

pub async fn catalog(st: &Arc<AppState>, ctx: &mut Ctx) -> Result<Response, ApiError> {
    let layout = st.layout.clone();
    let repos = blocking(move || layout.repositories().map_err(ApiError::from)).await?;
    let (page, next) = paginate(repos, ctx);
    let body = serde_json::json!({ "repositories": page }).to_string();
    Ok(with_link(
        json_response(StatusCode::OK, body),
        "/v2/_catalog",
        ctx.query.get("n"),
        next,
    ))
}

pub async fn tags(st: &Arc<AppState>, ctx: &mut Ctx, name: &str) -> Result<Response, ApiError> {
    let repo = read_repo(st, ctx, name)?;
    let layout = st.layout.clone();
    let repo2 = repo.clone();
    let (exists, tags) = blocking(move || {
        let exists = layout.repo_exists(&repo2);
        Ok((exists, layout.tags(&repo2)?))
    })
    .await?;
    if !exists {
        return Err(ApiError::name_unknown(
            name,
            "repository name not known to registry",
        ));
    }
    let (page, next) = paginate(tags, ctx);
    let body = serde_json::json!({ "name": name, "tags": page }).to_string();
    Ok(with_link(
        json_response(StatusCode::OK, body),
        &format!("/v2/{name}/tags/list"),
        ctx.query.get("n"),
        next,
    ))
}
