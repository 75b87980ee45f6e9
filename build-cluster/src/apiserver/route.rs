//! URL routing: discovery, OpenAPI, `/version`, and `/api[s]/…/[namespaces/NS/]RESOURCE[/NAME[/SUB]]`.

use super::handlers::{self, Query, Target};
use super::status::ApiError;
use super::store::Store;
use super::{ServerConfig, discovery, openapi, watch};
use bytes::Bytes;
use futures::Stream;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::pin::Pin;

pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a Query,
    pub accept: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

pub type WatchStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::convert::Infallible>> + Send>>;

pub enum Reply {
    Json(u16, Value, &'static str),
    /// Raw bytes with a content type.
    Raw(Vec<u8>, &'static str),
    Stream(WatchStream),
    Text(String),
}

const JSON: &str = "application/json";
const OPENAPI_V2_PB: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

fn ok(v: Value) -> Result<Reply, ApiError> {
    Ok(Reply::Json(200, v, JSON))
}

fn version(config: &ServerConfig) -> Value {
    let v = config.kube_version.trim_start_matches('v');
    let mut parts = v.split('.');
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("0");
    json!({"major": major, "minor": minor, "gitVersion": config.kube_version,
           "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
           "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.0", "compiler": "gc",
           "platform": "linux/amd64"})
}

pub fn handle(
    store: &Store,
    config: &ServerConfig,
    addr: SocketAddr,
    shutdown: tokio::sync::watch::Receiver<bool>,
    req: Request<'_>,
) -> Result<Reply, ApiError> {
    let path = req.path.trim_end_matches('/');
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let agg = discovery::wants_aggregated(req.accept);
    match segs.as_slice() {
        ["version"] => return ok(version(config)),
        ["healthz" | "readyz" | "livez", ..] => return Ok(Reply::Text("ok".into())),
        ["api"] if agg => {
            let reg = store.lock().registry.clone();
            return Ok(Reply::Json(
                200,
                discovery::aggregated(&reg, true),
                discovery::AGGREGATED_CT,
            ));
        }
        ["api"] => return ok(discovery::api_versions(&addr.to_string())),
        ["apis"] if agg => {
            let reg = store.lock().registry.clone();
            return Ok(Reply::Json(
                200,
                discovery::aggregated(&reg, false),
                discovery::AGGREGATED_CT,
            ));
        }
        ["apis"] => return ok(discovery::api_group_list(&store.lock().registry)),
        // An empty protobuf document: kubectl then finds no client-side schema for unknown kinds
        // and reports them the way it does against a real server (no mapping for the kind).
        ["openapi", "v2"] => return Ok(Reply::Raw(Vec::new(), OPENAPI_V2_PB)),
        ["openapi", "v3"] => return ok(openapi::root(&store.lock().registry)),
        ["openapi", "v3", rest @ ..] => {
            let reg = &store.lock().registry;
            return openapi::document_for_path(reg, &rest.join("/"))
                .map(|d| Reply::Json(200, d, JSON))
                .ok_or_else(ApiError::unknown_resource);
        }
        ["api", "v1"] => {
            let reg = &store.lock().registry;
            return discovery::resource_list(reg, "", "v1")
                .map(|d| Reply::Json(200, d, JSON))
                .ok_or_else(ApiError::unknown_resource);
        }
        ["apis", g] => {
            return discovery::api_group(&store.lock().registry, g)
                .map(|d| Reply::Json(200, d, JSON))
                .ok_or_else(ApiError::unknown_resource);
        }
        ["apis", g, v] => {
            return discovery::resource_list(&store.lock().registry, g, v)
                .map(|d| Reply::Json(200, d, JSON))
                .ok_or_else(ApiError::unknown_resource);
        }
        _ => {}
    }
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::unknown_resource()),
    };
    let target = resolve(store, group, version, rest)?;
    resource(store, shutdown, target, req)
}

fn resolve(store: &Store, group: &str, version: &str, rest: &[&str]) -> Result<Target, ApiError> {
    let owned = |s: &&str| s.to_string();
    let (ns, plural, name, sub) = match rest {
        ["namespaces", ns, plural, tail @ ..] if !matches!(*plural, "status" | "finalize") => {
            (Some(*ns), *plural, tail.first(), tail.get(1))
        }
        [plural, tail @ ..] => (None, *plural, tail.first(), tail.get(1)),
        [] => return Err(ApiError::unknown_resource()),
    };
    if rest.len() > 5 || (ns.is_none() && rest.len() > 3) {
        return Err(ApiError::unknown_resource());
    }
    let rt = store
        .lock()
        .registry
        .find(group, version, plural)
        .ok_or_else(ApiError::unknown_resource)?;
    if ns.is_some() && !rt.namespaced {
        return Err(ApiError::unknown_resource());
    }
    if let Some(s) = sub {
        let known =
            matches!(*s, "status" | "finalize") || (*s == "scale" && rt.has_scale) || *s == "log";
        if !known {
            return Err(ApiError::unknown_resource());
        }
    }
    Ok(Target {
        rt,
        namespace: ns.map(str::to_string),
        name: name.map(owned),
        sub: sub.map(owned),
    })
}

fn is_watch(q: &Query) -> bool {
    matches!(
        q.get("watch").map(String::as_str),
        Some("1" | "true" | "True")
    )
}

fn resource(
    store: &Store,
    shutdown: tokio::sync::watch::Receiver<bool>,
    t: Target,
    req: Request<'_>,
) -> Result<Reply, ApiError> {
    let q = req.query;
    if req.method == "GET" && is_watch(q) {
        let s = watch::open(store, t, q, shutdown)?;
        return Ok(Reply::Stream(Box::pin(s)));
    }
    let mut state = store.lock();
    let name = t.name.clone();
    match (req.method, name.as_deref()) {
        ("GET", Some(_)) if t.sub.as_deref() == Some("log") => Ok(Reply::Text(String::new())),
        ("GET", Some(n)) => ok(handlers::get(&state, &t, n)?),
        ("GET", None) => ok(handlers::list(&state, &t, q)?),
        ("POST", None) => Ok(Reply::Json(
            201,
            handlers::create(&mut state, &t, q, req.body)?,
            JSON,
        )),
        ("PUT", Some(n)) if t.sub.as_deref() == Some("finalize") => {
            ok(handlers::get(&state, &t, n)?)
        }
        ("PUT", Some(n)) => ok(handlers::update(&mut state, &t, q, n, req.body)?),
        ("PATCH", Some(n)) => {
            let (code, v) = handlers::patch(&mut state, &t, q, n, req.content_type, req.body)?;
            Ok(Reply::Json(code, v, JSON))
        }
        ("DELETE", Some(n)) => ok(handlers::delete(&mut state, &t, q, n, req.body)?),
        ("DELETE", None) => ok(handlers::delete_collection(&mut state, &t, q)?),
        _ => Err(ApiError::method_not_allowed()),
    }
}
