//! Distribution API behaviour of our server: ns resolution, read-only, htpasswd, ranges,
//! manifest validation, pagination.

mod common;

use std::net::SocketAddr;

use common::*;
use sealer_registry_shim::digest::Digest;
use sealer_registry_shim::distribution_layout::Layout;
use sealer_registry_shim::server::{ServeConfig, serve};

fn cfg(root: &std::path::Path) -> ServeConfig {
    ServeConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..ServeConfig::new(root)
    }
}

/// Store an image directly into the layout under `repo:tag`.
fn store(layout: &Layout, repo: &str, tag: &str, img: &TestImage) {
    for d in std::iter::once(&img.config).chain(img.layers.iter()) {
        layout
            .write_blob_bytes(repo, &img.store.get(d).unwrap(), Some(d))
            .unwrap();
    }
    layout
        .put_manifest(repo, Some(tag), &img.store.get(&img.manifest).unwrap())
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ns_resolution_with_two_domains() {
    let t = tempfile::tempdir().unwrap();
    let layout = Layout::new(t.path());
    let (a, b) = (small_image("from docker.io"), small_image("from quay.io"));
    store(&layout, "docker.io/x/y", "v1", &a);
    store(&layout, "quay.io/x/y", "v1", &b);
    store(&layout, "docker.io/library/only", "v1", &a);
    let log = t.path().join("access.log");
    let srv = serve(ServeConfig {
        access_log: Some(log.clone()),
        ..cfg(t.path())
    })
    .await
    .unwrap();
    let u = srv.url();
    let http = http();
    let get = |p: String| {
        http.get(format!("{u}{p}"))
            .header("Accept", "application/vnd.oci.image.manifest.v1+json")
            .send()
    };
    let r = get("/v2/x/y/manifests/v1?ns=docker.io".into())
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["docker-content-digest"],
        a.manifest.to_string().as_str()
    );
    let r = get("/v2/x/y/manifests/v1?ns=quay.io".into()).await.unwrap();
    assert_eq!(
        r.headers()["docker-content-digest"],
        b.manifest.to_string().as_str()
    );
    // blobs follow the same resolution
    let r = get(format!("/v2/x/y/blobs/{}?ns=quay.io", b.layers[0]))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        b.store.get(&b.layers[0]).unwrap()
    );
    let r = get(format!("/v2/x/y/blobs/{}?ns=docker.io", b.layers[0]))
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "quay's layer is not linked into docker.io/x/y"
    );
    let r = http
        .head(format!("{u}/v2/x/y/blobs/{}?ns=quay.io", b.layers[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-length"],
        b.store
            .get(&b.layers[0])
            .unwrap()
            .len()
            .to_string()
            .as_str()
    );
    // without ns: ambiguous path → 404 naming both registries
    let r = get("/v2/x/y/manifests/v1".into()).await.unwrap();
    assert_eq!(r.status(), 404);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("docker.io/x/y") && body.contains("quay.io/x/y") && body.contains("ns="),
        "{body}"
    );
    // unique match without ns, and the full path
    assert_eq!(
        get("/v2/library/only/manifests/v1".into())
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        get("/v2/quay.io/x/y/manifests/v1".into())
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        get("/v2/x/y/manifests/v1?ns=ghcr.io".into())
            .await
            .unwrap()
            .status(),
        404
    );
    srv.shutdown().await;
    let recs = sealer_registry_shim::access_log::read_records(&log).unwrap();
    assert!(recs.iter().any(|r| r["ns"] == "quay.io"
        && r["repo"] == "quay.io/x/y"
        && r["status"] == 200
        && r["cache"] == "hit"));
    let blob_rec = recs
        .iter()
        .find(|r| r["path"].as_str().unwrap().contains("/blobs/") && r["status"] == 200)
        .unwrap();
    assert_eq!(blob_rec["bytes"], b.store.get(&b.layers[0]).unwrap().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_and_htpasswd() {
    let t = tempfile::tempdir().unwrap();
    let img = small_image("ro");
    store(&Layout::new(t.path()), "docker.io/library/ro", "v1", &img);
    let srv = serve(ServeConfig {
        read_only: true,
        ..cfg(t.path())
    })
    .await
    .unwrap();
    let u = srv.url();
    let http = http();
    for (m, p) in [
        ("POST", "/v2/a/b/blobs/uploads/"),
        ("PUT", "/v2/a/b/manifests/v1"),
        ("DELETE", "/v2/docker.io/library/ro/manifests/v1"),
        ("PATCH", "/v2/a/b/blobs/uploads/abc"),
    ] {
        let r = http
            .request(m.parse().unwrap(), format!("{u}{p}"))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{m} {p}");
        let v: serde_json::Value = r
            .bytes()
            .await
            .map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap())
            .unwrap();
        assert_eq!(v["errors"][0]["code"], "UNSUPPORTED");
    }
    let client = test_client(&[]);
    let target = sealer_registry_shim::reference::ImageReference::parse(&format!(
        "{}/x/y:v1",
        srv.local_addr()
    ))
    .unwrap();
    let err = client
        .push(
            &target,
            std::sync::Arc::new(img.store.clone()),
            &img.manifest,
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("405"), "{err}");
    assert_eq!(
        http.get(format!("{u}/v2/docker.io/library/ro/manifests/v1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    srv.shutdown().await;

    // htpasswd
    let hash = bcrypt::hash("s3cret", 5)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    let hp = t.path().join("htpasswd");
    std::fs::write(&hp, format!("alice:{hash}\n")).unwrap();
    let srv = serve(ServeConfig {
        htpasswd: Some(hp),
        ..cfg(t.path())
    })
    .await
    .unwrap();
    let u = srv.url();
    let r = http.get(format!("{u}/v2/")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let r = http
        .get(format!("{u}/v2/"))
        .basic_auth("alice", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(format!("{u}/v2/"))
        .basic_auth("alice", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // our client: login verifies, stores, and later pulls use the stored file
    let home = tempfile::tempdir().unwrap();
    let creds = sealer_registry_shim::client::CredentialStore {
        docker_config: Some(home.path().join(".docker/config.json")),
        sealer_auth: Some(home.path().join(".sealer/auth.json")),
        ..Default::default()
    };
    let mk = || {
        sealer_registry_shim::client::Client::new(sealer_registry_shim::client::ClientConfig {
            credentials: creds.clone(),
            ..Default::default()
        })
        .unwrap()
    };
    let reg = srv.local_addr().to_string();
    let bad = mk().login(&reg, "alice", "nope").await.unwrap_err();
    assert!(bad.to_string().contains("refused"), "{bad}");
    assert!(!home.path().join(".docker/config.json").exists());
    let anon = test_client(&[]);
    let r = sealer_registry_shim::reference::ImageReference::parse(&format!(
        "{reg}/docker.io/library/ro:v1"
    ))
    .unwrap();
    let sink = std::sync::Arc::new(sealer_registry_shim::client::MemoryStore::new());
    let e = anon
        .pull(&r, &Default::default(), sink.clone())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("credentials"), "{e}");
    mk().login(&reg, "alice", "s3cret").await.unwrap();
    assert!(
        home.path().join(".docker/config.json").is_file()
            && home.path().join(".sealer/auth.json").is_file()
    );
    let pulled = mk()
        .pull(&r, &Default::default(), sink.clone())
        .await
        .unwrap();
    assert_eq!(pulled.digest, img.manifest);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_heads_validation_pagination() {
    let t = tempfile::tempdir().unwrap();
    let srv = serve(cfg(t.path())).await.unwrap();
    let u = srv.url();
    let http = http();
    let img = make_image(&[("data.bin", vec![7u8; 10_000], 0o644)], "amd64");
    let layer = img.store.get(&img.layers[0]).unwrap();
    let mani = img.store.get(&img.manifest).unwrap();
    // manifest before its blobs → MANIFEST_BLOB_UNKNOWN
    let r = http
        .put(format!("{u}/v2/p/q/manifests/v1"))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .body(mani.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("MANIFEST_BLOB_UNKNOWN"));
    // chunked upload with a wrong Content-Range → 416, then right ones
    let r = http
        .post(format!("{u}/v2/p/q/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["range"], "0-0");
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let r = http
        .patch(format!("{u}{loc}"))
        .header("Content-Range", "5-9")
        .body(layer[..10].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    let r = http
        .patch(format!("{u}{loc}"))
        .header("Content-Range", "0-99")
        .body(layer[..100].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["range"], "0-99");
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    // wrong digest → DIGEST_INVALID, nothing stored
    let wrong = Digest::of(b"wrong");
    let r = http
        .put(format!("{u}{loc}?digest={wrong}"))
        .body(layer[100..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(!Layout::new(t.path()).blob_path(&wrong).exists());
    // a fresh monolithic upload succeeds
    let r = http
        .post(format!(
            "{u}/v2/p/q/blobs/uploads/?digest={}",
            img.layers[0]
        ))
        .body(layer.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let cfgb = img.store.get(&img.config).unwrap();
    let r = http
        .post(format!("{u}/v2/p/q/blobs/uploads/?digest={}", img.config))
        .body(cfgb)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .put(format!("{u}/v2/p/q/manifests/v1"))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .body(mani.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["docker-content-digest"],
        img.manifest.to_string().as_str()
    );
    // cross-repo mount
    let r = http
        .post(format!(
            "{u}/v2/other/repo/blobs/uploads/?mount={}&from=p/q",
            img.layers[0]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .post(format!(
            "{u}/v2/other/repo/blobs/uploads/?mount={}&from=nope/x",
            img.config
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "unmountable → regular upload session");
    // HEAD and Range
    let r = http
        .head(format!("{u}/v2/p/q/blobs/{}", img.layers[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-length"],
        layer.len().to_string().as_str()
    );
    assert_eq!(
        r.headers()["docker-content-digest"],
        img.layers[0].to_string().as_str()
    );
    let r = http
        .head(format!("{u}/v2/p/q/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-length"],
        mani.len().to_string().as_str()
    );
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let r = http
        .get(format!("{u}/v2/p/q/blobs/{}", img.layers[0]))
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 10-19/{}", layer.len()).as_str()
    );
    assert_eq!(r.bytes().await.unwrap().to_vec(), layer[10..20].to_vec());
    let r = http
        .get(format!("{u}/v2/p/q/blobs/{}", img.layers[0]))
        .header("Range", format!("bytes={}-", layer.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    // tags and catalog pagination
    for tag in ["a", "b", "c"] {
        let r = http
            .put(format!("{u}/v2/p/q/manifests/{tag}"))
            .body(mani.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let v: serde_json::Value = http
        .get(format!("{u}/v2/p/q/tags/list?n=2"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap())
        .unwrap();
    assert_eq!(v["tags"], serde_json::json!(["a", "b"]));
    let v: serde_json::Value = http
        .get(format!("{u}/v2/p/q/tags/list?n=2&last=b"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap())
        .unwrap();
    assert_eq!(v["tags"], serde_json::json!(["c", "v1"]));
    let r = http
        .get(format!("{u}/v2/_catalog?n=1"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["link"]
            .to_str()
            .unwrap()
            .contains("last=other/repo")
    );
    let v: serde_json::Value = r
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap())
        .unwrap();
    assert_eq!(v["repositories"], serde_json::json!(["other/repo"]));
    let r = http
        .get(format!("{u}/v2/nope/tags/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    srv.shutdown().await;
}
