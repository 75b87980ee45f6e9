//! The single request handler: auth, routing, access logging.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::route::{self, Route};
use super::state::AppState;
use super::{blobs, body, listing, manifests, uploads};
use crate::access_log::AccessRecord;

/// Per-request context handed to endpoint handlers.
pub struct Ctx {
    pub method: Method,
    pub headers: axum::http::HeaderMap,
    pub query: HashMap<String, String>,
    pub rec: AccessRecord,
}

impl Ctx {
    pub fn ns(&self) -> Option<&str> {
        self.query
            .get("ns")
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn is_head(&self) -> bool {
        self.method == Method::HEAD
    }

    /// `?ns=...` to carry on in `Location` headers.
    pub fn ns_query(&self) -> String {
        self.ns()
            .map(|ns| {
                format!(
                    "?ns={}",
                    form_urlencoded::byte_serialize(ns.as_bytes()).collect::<String>()
                )
            })
            .unwrap_or_default()
    }
}

pub async fn handle(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let start = Instant::now();
    let (parts, req_body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query: HashMap<String, String> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let mut ctx = Ctx {
        method: parts.method.clone(),
        headers: parts.headers,
        rec: AccessRecord {
            kind: "request",
            method: parts.method.to_string(),
            path: path.clone(),
            ns: query.get("ns").cloned(),
            ..Default::default()
        },
        query,
    };
    let result = match authorize(&st, &ctx).await {
        Err(e) => Err(e),
        Ok(()) => route_request(&st, &path, &mut ctx, req_body).await,
    };
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            ctx.rec.error = Some(e.message.clone());
            e.into_response()
        }
    };
    resp.headers_mut().insert(
        "Docker-Distribution-API-Version",
        HeaderValue::from_static("registry/2.0"),
    );
    ctx.rec.status = resp.status().as_u16();
    body::log_on_completion(resp, st.log.clone(), ctx.rec, start)
}

async fn authorize(st: &Arc<AppState>, ctx: &Ctx) -> Result<(), ApiError> {
    let Some(auth) = st.auth.clone() else {
        return Ok(());
    };
    let header = ctx
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let ok = tokio::task::spawn_blocking(move || auth.check(header.as_deref()))
        .await
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(ApiError::unauthorized("sealer-registry"))
    }
}

async fn route_request(
    st: &Arc<AppState>,
    path: &str,
    ctx: &mut Ctx,
    req_body: Body,
) -> Result<Response, ApiError> {
    let rest = if path == "/v2" {
        ""
    } else if let Some(r) = path.strip_prefix("/v2/") {
        r
    } else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no such endpoint: {path}"),
        ));
    };
    let Some(route) = route::parse(rest) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NAME_INVALID",
            format!("not a distribution endpoint or invalid repository name: {path}"),
        ));
    };
    let m = ctx.method.clone();
    let is_write = !matches!(m, Method::GET | Method::HEAD);
    let writable_route = matches!(
        route,
        Route::Manifest { .. }
            | Route::Blob { .. }
            | Route::UploadStart { .. }
            | Route::Upload { .. }
    );
    if is_write && writable_route && st.read_only {
        return Err(ApiError::read_only());
    }
    match (route, m) {
        (Route::Ping, Method::GET | Method::HEAD) => {
            Ok(body::json_response(StatusCode::OK, "{}".into()))
        }
        (Route::Catalog, Method::GET) => listing::catalog(st, ctx).await,
        (Route::Tags { name }, Method::GET) => listing::tags(st, ctx, &name).await,
        (Route::Manifest { name, reference }, Method::GET | Method::HEAD) => {
            manifests::get(st, ctx, &name, &reference).await
        }
        (Route::Manifest { name, reference }, Method::PUT) => {
            manifests::put(st, ctx, &name, &reference, req_body).await
        }
        (Route::Blob { name, digest }, Method::GET | Method::HEAD) => {
            blobs::get(st, ctx, &name, &digest).await
        }
        (Route::UploadStart { name }, Method::POST) => {
            uploads::start(st, ctx, &name, req_body).await
        }
        (Route::Upload { name, id }, Method::PATCH) => {
            uploads::patch(st, ctx, &name, &id, req_body).await
        }
        (Route::Upload { name, id }, Method::PUT) => {
            uploads::finish(st, ctx, &name, &id, req_body).await
        }
        (Route::Upload { name, id }, Method::GET) => uploads::status(st, ctx, &name, &id).await,
        (Route::Upload { name, id }, Method::DELETE) => uploads::cancel(st, ctx, &name, &id).await,
        (Route::Manifest { .. } | Route::Blob { .. }, Method::DELETE) => Err(
            ApiError::unsupported("deleting manifests and blobs is not supported by this registry"),
        ),
        (_, m) => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            format!("method {m} not allowed on {path}"),
        )),
    }
}
