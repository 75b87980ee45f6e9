//! An in-process Kubernetes API server on 127.0.0.1 (plain HTTP), good enough for unmodified
//! `kubectl` and `helm`: discovery, OpenAPI v3 stubs for server-side field validation, generic
//! object storage with watches, the four patch types, real `Status` errors and ready workload
//! statuses. It records every object and runs no containers.

mod controllers;
mod discovery;
mod handlers;
mod meta;
mod openapi;
mod patch;
mod proto;
mod resources;
mod route;
mod schema;
mod selector;
mod status;
mod store;
mod watch;
mod workloads;
mod write;

pub use resources::ResourceType;
pub use status::ApiError;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use store::Store;
use tokio::task::JoinHandle;

/// Settings of an embedded server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `gitVersion` served at `/version` and as the node's kubelet version.
    pub kube_version: String,
    /// Largest request body accepted.
    pub max_body: usize,
    /// Log every request (method, path, content type, answer code) to stderr.
    pub trace: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            kube_version: "v1.32.0".into(),
            max_body: 64 << 20,
            trace: std::env::var_os("SEALER_APISERVER_TRACE").is_some(),
        }
    }
}

/// Request counters of a running server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerStats {
    /// Requests answered.
    pub requests: u64,
    /// Time spent handling them (reading the body to building the answer; watch streams count
    /// only their setup), for comparing the server's share of a build with the clients'.
    pub busy: std::time::Duration,
}

/// Shared by all request handlers.
struct Shared {
    store: Store,
    requests: std::sync::atomic::AtomicU64,
    busy_nanos: std::sync::atomic::AtomicU64,
    config: ServerConfig,
    addr: SocketAddr,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

/// A running embedded API server. Stopped by [`ApiServer::stop`] or on drop.
pub struct ApiServer {
    shared: Arc<Shared>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    started_in: std::time::Duration,
}

impl ApiServer {
    /// Bind 127.0.0.1:0 and serve. Must be called inside a tokio runtime.
    pub async fn start(config: ServerConfig) -> std::io::Result<ApiServer> {
        let t0 = Instant::now();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::watch::channel(false);
        let store = Store::new();
        workloads::bootstrap(&mut store.lock(), &config.kube_version);
        let shared = Arc::new(Shared {
            store,
            requests: Default::default(),
            busy_nanos: Default::default(),
            config,
            addr,
            shutdown: rx,
        });
        let app = Router::new().fallback(dispatch).with_state(shared.clone());
        let mut stop = tx.subscribe();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stop.wait_for(|v| *v).await;
            });
            // An accept error ends the server; callers notice failing requests.
            let _ = serve.await;
        });
        Ok(ApiServer {
            shared,
            shutdown: tx,
            task: Some(task),
            started_in: t0.elapsed(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// How long [`ApiServer::start`] took.
    pub fn started_in(&self) -> std::time::Duration {
        self.started_in
    }

    /// A kubeconfig pointing at this server (context `sealer-build`, namespace `default`).
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sealer-build\n  cluster:\n    server: {}\n\
             contexts:\n- name: sealer-build\n  context:\n    cluster: sealer-build\n    user: sealer-build\n    namespace: default\n\
             current-context: sealer-build\nusers:\n- name: sealer-build\n  user: {{}}\npreferences: {{}}\n",
            self.url()
        )
    }

    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// Every object written by clients (not the server's own defaults and controller-made pods).
    pub fn snapshot(&self) -> Vec<Value> {
        let state = self.shared.store.lock();
        state
            .objects
            .values()
            .filter(|e| !e.system)
            .map(|e| (*e.object).clone())
            .collect()
    }

    /// Requests answered so far and the time spent on them.
    pub fn stats(&self) -> ServerStats {
        use std::sync::atomic::Ordering::Relaxed;
        ServerStats {
            requests: self.shared.requests.load(Relaxed),
            busy: std::time::Duration::from_nanos(self.shared.busy_nanos.load(Relaxed)),
        }
    }

    /// Every stored object, including the server's own.
    pub fn snapshot_all(&self) -> Vec<Value> {
        let state = self.shared.store.lock();
        state
            .objects
            .values()
            .map(|e| (*e.object).clone())
            .collect()
    }

    /// Stop serving: open watches end, the listener closes.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn json_response(code: u16, body: &Value, content_type: &str) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.code, &e.body(), "application/json")
}

async fn dispatch(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let t0 = Instant::now();
    let resp = answer(&shared, req).await;
    let nanos = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
    shared
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    shared
        .busy_nanos
        .fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
    resp
}

async fn answer(shared: &Shared, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let accept = header(header::ACCEPT);
    let content_type = header(header::CONTENT_TYPE);
    let query: handlers::Query = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let body = match axum::body::to_bytes(body, shared.config.max_body).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(&ApiError::new(
                413,
                "RequestEntityTooLarge",
                "request body too large",
            ));
        }
    };
    let req = route::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: &query,
        accept: &accept,
        content_type: &content_type,
        body: &body,
    };
    let (method, path) = (req.method.to_string(), parts.uri.to_string());
    let result = route::handle(
        &shared.store,
        &shared.config,
        shared.addr,
        shared.shutdown.clone(),
        req,
    );
    if shared.config.trace {
        let code = match &result {
            Ok(route::Reply::Json(c, _, _)) => *c,
            Ok(_) => 200,
            Err(e) => e.code,
        };
        eprintln!("apiserver: {method} {path} ct={content_type:?} accept={accept:?} -> {code}");
    }
    match result {
        Ok(route::Reply::Json(code, v, ct)) => json_response(code, &v, ct),
        Ok(route::Reply::Stream(stream)) => {
            let mut resp = Response::new(Body::from_stream(stream));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        Ok(route::Reply::Raw(bytes, ct)) => {
            let mut resp = Response::new(Body::from(bytes));
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            resp
        }
        Ok(route::Reply::Text(text)) => {
            let mut resp = Response::new(Body::from(text));
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            resp
        }
        Err(e) => error_response(&e),
    }
}

#[cfg(test)]
#[path = "../tests/apiserver.rs"]
mod tests;
