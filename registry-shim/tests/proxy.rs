//! Pull-through proxy and client against a hostile upstream (wrong digest, truncated body,
//! repeated 500s, stalled connection), single-flight for concurrent misses, and a real
//! docker-registry upstream.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use common::*;
use sealer_registry_shim::digest::Digest;
use sealer_registry_shim::distribution_layout::Layout;
use sealer_registry_shim::embed::{EmbedFailure, embed_images};
use sealer_registry_shim::platform::Platform;
use sealer_registry_shim::proxy::{ProxyConfig, UpstreamConfig};
use sealer_registry_shim::server::{ServeConfig, serve};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Good,
    WrongDigest,
    Truncated,
    Errors500,
    Stall,
    Slow,
}

struct Hostile {
    img: TestImage,
    mode: Mutex<Mode>,
    blob_gets: AtomicUsize,
}

async fn hostile_handler(State(h): State<Arc<Hostile>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let mode = *h.mode.lock().unwrap();
    let resp = |status: u16, body: Body, len: Option<usize>| {
        let mut b = Response::builder().status(status);
        if let Some(n) = len {
            b = b.header("Content-Length", n);
        }
        b.body(body).unwrap()
    };
    if path == "/v2/" {
        return resp(200, Body::from("{}"), None);
    }
    if path.ends_with("/manifests/v1") || path.contains("/manifests/sha256:") {
        let m = h.img.store.get(&h.img.manifest).unwrap();
        let n = m.len();
        let mut r = resp(200, Body::from(m), Some(n));
        r.headers_mut().insert(
            "Content-Type",
            "application/vnd.oci.image.manifest.v1+json"
                .parse()
                .unwrap(),
        );
        r.headers_mut().insert(
            "Docker-Content-Digest",
            h.img.manifest.to_string().parse().unwrap(),
        );
        return r;
    }
    let Some(d) = path.rsplit('/').next().and_then(|d| Digest::parse(d).ok()) else {
        return resp(404, Body::empty(), None);
    };
    let Some(content) = h.img.store.get(&d) else {
        return resp(404, Body::empty(), None);
    };
    if req.method() == "HEAD" {
        return resp(200, Body::empty(), Some(content.len()));
    }
    let is_layer = d == h.img.layers[0];
    if is_layer {
        h.blob_gets.fetch_add(1, Ordering::SeqCst);
    }
    let n = content.len();
    match (mode, is_layer) {
        (Mode::WrongDigest, true) => {
            let mut bad = content.clone();
            bad[n / 2] ^= 0xff;
            resp(200, Body::from(bad), Some(n))
        }
        (Mode::Truncated, true) => {
            let half = content[..n / 2].to_vec();
            let stream = futures::stream::unfold(0, move |state| {
                let half = half.clone();
                async move {
                    match state {
                        0 => Some((Ok::<_, std::io::Error>(bytes::Bytes::from(half)), 1)),
                        1 => {
                            // let the headers and half the body go out, then hang up
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            Some((Err(std::io::Error::other("upstream hung up")), 2))
                        }
                        _ => None,
                    }
                }
            });
            resp(200, Body::from_stream(stream), Some(n))
        }
        (Mode::Errors500, true) => resp(500, Body::from("boom"), None),
        (Mode::Stall, true) => {
            let half = content[..n / 2].to_vec();
            let stream = futures::stream::unfold(0, move |state| {
                let half = half.clone();
                async move {
                    match state {
                        0 => Some((Ok::<_, std::io::Error>(bytes::Bytes::from(half)), 1)),
                        _ => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            None
                        }
                    }
                }
            });
            resp(200, Body::from_stream(stream), Some(n))
        }
        (Mode::Slow, true) => {
            tokio::time::sleep(Duration::from_millis(400)).await;
            resp(200, Body::from(content), Some(n))
        }
        _ => resp(200, Body::from(content), Some(n)),
    }
}

async fn start_hostile(img: TestImage) -> (Arc<Hostile>, String, tokio::task::JoinHandle<()>) {
    let h = Arc::new(Hostile {
        img,
        mode: Mutex::new(Mode::Good),
        blob_gets: AtomicUsize::new(0),
    });
    let app = axum::Router::new()
        .fallback(hostile_handler)
        .with_state(h.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (h, url, task)
}

fn layer_image() -> TestImage {
    make_image(
        &[(
            "data.bin",
            (0..400_000u32).map(|i| (i % 253) as u8).collect(),
            0o644,
        )],
        "amd64",
    )
}

/// No blob data, no leftover upload under the layout.
fn assert_nothing_stored(root: &std::path::Path, d: &Digest) {
    assert!(
        !Layout::new(root).blob_path(d).exists(),
        "blob {d} was stored"
    );
    let leftovers: Vec<_> = walk(root)
        .into_iter()
        .filter(|p| p.contains("_uploads/") && p.ends_with("/data"))
        .collect();
    assert!(leftovers.is_empty(), "partial uploads left: {leftovers:?}");
}

fn walk(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_upstream_via_client_embed() {
    let img = layer_image();
    let layer = img.layers[0].clone();
    let (h, url, _task) = start_hostile(img).await;
    let client = client_with(&[("hostile.io", url.clone())], Duration::from_secs(1), 2);
    let t = tempfile::tempdir().unwrap();
    let images = vec!["hostile.io/hostile/app:v1".to_string()];
    let amd64 = Platform::parse("linux/amd64").unwrap();
    for (mode, kind, cause) in [
        (
            Mode::WrongDigest,
            EmbedFailure::DigestMismatch,
            "digest mismatch",
        ),
        (
            Mode::Truncated,
            EmbedFailure::Unreachable,
            "connection broke",
        ),
        (Mode::Errors500, EmbedFailure::Unreachable, "500"),
        (Mode::Stall, EmbedFailure::Unreachable, "stalled"),
    ] {
        *h.mode.lock().unwrap() = mode;
        let e = embed_images(&images, &amd64, &client, t.path())
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert_eq!(e.kind, kind, "{mode:?}: {msg}");
        assert!(
            msg.contains("hostile.io/hostile/app:v1") && msg.contains(&url),
            "{mode:?}: {msg}"
        );
        assert!(msg.to_lowercase().contains(cause), "{mode:?}: {msg}");
        assert_nothing_stored(t.path(), &layer);
    }
    // 500s were retried a bounded number of times
    *h.mode.lock().unwrap() = Mode::Good;
    let done = embed_images(&images, &amd64, &client, t.path())
        .await
        .unwrap();
    assert_eq!(done[0].blobs.len(), 2);
    assert!(Layout::new(t.path()).blob_path(&layer).is_file());
}

fn proxy_cfg(
    root: &std::path::Path,
    registry: &str,
    endpoint: &str,
    log: &std::path::Path,
) -> ServeConfig {
    ServeConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        access_log: Some(log.to_path_buf()),
        proxy: Some(ProxyConfig {
            upstreams: vec![UpstreamConfig {
                registry: registry.into(),
                endpoint: Some(endpoint.into()),
                ..Default::default()
            }],
            default_upstream: None,
            stall_timeout_secs: Some(1),
            max_attempts: Some(2),
        }),
        ..ServeConfig::new(root)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_upstream_via_proxy_and_single_flight() {
    let img = layer_image();
    let layer = img.layers[0].clone();
    let content = img.store.get(&layer).unwrap();
    let (h, url, _task) = start_hostile(img).await;
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("access.log");
    let srv = serve(proxy_cfg(&t.path().join("reg"), "hostile.io", &url, &log))
        .await
        .unwrap();
    let http = http();
    let blob_url = format!("{}/v2/hostile/app/blobs/{layer}?ns=hostile.io", srv.url());
    for (mode, cause) in [
        (Mode::WrongDigest, "digest mismatch"),
        (Mode::Truncated, "connection broke"),
        (Mode::Errors500, "500"),
        (Mode::Stall, "stalled"),
    ] {
        *h.mode.lock().unwrap() = mode;
        let r = http.get(&blob_url).send().await.unwrap();
        assert_eq!(r.status(), 502, "{mode:?}");
        let body = r.text().await.unwrap();
        assert!(
            body.contains(&layer.to_string())
                && body.contains("hostile.io")
                && body.to_lowercase().contains(cause),
            "{mode:?}: {body}"
        );
        assert_nothing_stored(&t.path().join("reg"), &layer);
    }
    // 32 concurrent requests for the missing blob → one upstream fetch
    *h.mode.lock().unwrap() = Mode::Slow;
    let before = h.blob_gets.load(Ordering::SeqCst);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (http, u) = (http.clone(), blob_url.clone());
        tasks.push(tokio::spawn(async move {
            let r = http.get(&u).send().await.unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap())
        }));
    }
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body.to_vec(), content);
    }
    assert_eq!(
        h.blob_gets.load(Ordering::SeqCst) - before,
        1,
        "upstream fetched more than once"
    );
    // manifest through the proxy (tag), then served from the cache
    let r = http
        .get(format!(
            "{}/v2/hostile/app/manifests/v1?ns=hostile.io",
            srv.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    srv.shutdown().await;
    let recs = sealer_registry_shim::access_log::read_records(&log).unwrap();
    let ups: Vec<_> = recs
        .iter()
        .filter(|r| {
            r["kind"] == "upstream" && r["digest"] == layer.to_string() && r["status"] == 200
        })
        .collect();
    assert_eq!(ups.len(), 1, "{ups:?}");
    assert_eq!(ups[0]["bytes"], content.len());
    let served = recs
        .iter()
        .filter(|r| {
            r["kind"] == "request" && r["status"] == 200 && r["digest"] == layer.to_string()
        })
        .count();
    assert_eq!(served, 32);
    assert!(recs.iter().any(|r| r["kind"] == "upstream"
        && r["status"] == 502
        && r["error"].as_str().unwrap_or("").contains("stalled")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_for_real_docker_registry() {
    if missing(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let dreg = DockerRegistry::start(&t.path().join("up"), false);
    let img = small_image("through the proxy");
    push_image(
        &test_client(&[]),
        &img.store,
        &img.manifest,
        &format!("{}/team/app:v1", dreg.addr()),
    )
    .await;
    let log = t.path().join("access.log");
    let srv = serve(proxy_cfg(
        &t.path().join("cache"),
        "registry.example.com",
        &format!("http://{}", dreg.addr()),
        &log,
    ))
    .await
    .unwrap();
    let a = srv.local_addr().to_string();
    let out = t.path().join("out");
    let (a2, out2) = (a.clone(), out.clone());
    tokio::task::spawn_blocking(move || {
        skopeo(&[
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{a2}/registry.example.com/team/app:v1"),
            &format!("oci:{}:v1", out2.display()),
        ])
    })
    .await
    .unwrap();
    drop(dreg); // upstream gone: the cache serves
    let a2 = a.clone();
    let d = tokio::task::spawn_blocking(move || {
        skopeo_digest(&format!("{a2}/registry.example.com/team/app:v1"))
    })
    .await
    .unwrap();
    assert_eq!(d, img.manifest.to_string());
    let layout = Layout::new(t.path().join("cache"));
    assert!(layout.blob_path(&img.layers[0]).is_file());
    assert_eq!(
        layout
            .resolve_tag("registry.example.com/team/app", "v1")
            .unwrap(),
        Some(img.manifest.clone())
    );
    srv.shutdown().await;
    let recs = sealer_registry_shim::access_log::read_records(&log).unwrap();
    assert!(
        recs.iter()
            .any(|r| r["kind"] == "request" && r["cache"] == "miss")
    );
    assert!(
        recs.iter()
            .any(|r| r["kind"] == "request" && r["cache"] == "hit")
    );
    assert_eq!(
        recs.iter().filter(|r| r["kind"] == "upstream").count(),
        3,
        "manifest, config, layer"
    );
}
