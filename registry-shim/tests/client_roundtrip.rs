//! Our client against Debian's docker-registry and against our server: push/pull round
//! trips, no re-upload of existing blobs, cross-repository mount, multi-arch selection.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::*;
use sealer_registry_shim::client::{
    LayoutSink, LayoutSource, MemoryStore, PullOptions, PushOptions,
};
use sealer_registry_shim::distribution_layout::Layout;
use sealer_registry_shim::platform::Platform;
use sealer_registry_shim::reference::ImageReference;
use sealer_registry_shim::server::{ServeConfig, serve};

fn r(s: &str) -> ImageReference {
    ImageReference::parse(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_pull_roundtrip_with_docker_registry() {
    if missing(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let dreg = DockerRegistry::start(&t.path().join("up"), false);
    let client = test_client(&[]);
    let img = make_image(
        &[
            ("a.txt", b"hello".to_vec(), 0o644),
            ("b.bin", vec![1u8; 200_000], 0o644),
        ],
        "amd64",
    );
    let target = r(&format!("{}/test/app:v1", dreg.addr()));
    let rep = client
        .push(
            &target,
            Arc::new(img.store.clone()),
            &img.manifest,
            &PushOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(rep.uploaded.len(), 2);
    assert_eq!(rep.digest, img.manifest);
    let a = dreg.addr();
    let d = tokio::task::spawn_blocking(move || skopeo_digest(&format!("{a}/test/app:v1")))
        .await
        .unwrap();
    assert_eq!(d, img.manifest.to_string());
    // existing blobs are not uploaded again
    let again = client
        .push(
            &target,
            Arc::new(img.store.clone()),
            &img.manifest,
            &PushOptions::default(),
        )
        .await
        .unwrap();
    assert!(
        again.uploaded.is_empty() && again.skipped.len() == 2,
        "{again:?}"
    );
    // cross-repository mount
    let other = r(&format!("{}/other/app:v1", dreg.addr()));
    let mounted = client
        .push(
            &other,
            Arc::new(img.store.clone()),
            &img.manifest,
            &PushOptions {
                mount_from: vec!["test/app".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(mounted.mounted.len(), 2, "{mounted:?}");
    assert!(mounted.uploaded.is_empty());
    // pull into a fresh layout and into memory: same bytes
    let dest = Layout::new(t.path().join("dest"));
    let pulled = client
        .pull(
            &target,
            &PullOptions::default(),
            Arc::new(LayoutSink::new(dest.clone(), target.layout_repo())),
        )
        .await
        .unwrap();
    assert_eq!(pulled.digest, img.manifest);
    assert_eq!(pulled.blobs_fetched, 2);
    for d in [&img.manifest, &img.config, &img.layers[0]] {
        assert_eq!(
            std::fs::read(dest.blob_path(d)).unwrap(),
            img.store.get(d).unwrap()
        );
    }
    assert_eq!(
        dest.resolve_tag(&target.layout_repo(), "v1").unwrap(),
        Some(img.manifest.clone())
    );
    // chunked upload (PATCH with Content-Range) into distribution
    let chunky =
        sealer_registry_shim::client::Client::new(sealer_registry_shim::client::ClientConfig {
            chunk_size: 64 * 1024,
            credentials: sealer_registry_shim::client::CredentialStore::none(),
            ..Default::default()
        })
        .unwrap();
    let big = make_image(&[("big.bin", noise(500_000, 31), 0o644)], "amd64");
    assert!(big.store.get(&big.layers[0]).unwrap().len() > 3 * 64 * 1024);
    push_image(
        &chunky,
        &big.store,
        &big.manifest,
        &format!("{}/test/big:v1", dreg.addr()),
    )
    .await;
    let a = dreg.addr();
    let d = tokio::task::spawn_blocking(move || skopeo_digest(&format!("{a}/test/big:v1")))
        .await
        .unwrap();
    assert_eq!(d, big.manifest.to_string());
    let mem = MemoryStore::new();
    client
        .pull(
            &r(&format!("{}/test/big:v1", dreg.addr())),
            &PullOptions::default(),
            Arc::new(mem.clone()),
        )
        .await
        .unwrap();
    assert_eq!(mem.get(&big.layers[0]), big.store.get(&big.layers[0]));
    // pulling again fetches nothing
    let again = client
        .pull(
            &target,
            &PullOptions::default(),
            Arc::new(LayoutSink::new(dest.clone(), target.layout_repo())),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            again.blobs_fetched,
            again.bytes_fetched,
            again.blobs_present
        ),
        (0, 0, 2)
    );
    // the pulled layout can be pushed again (LayoutSource) by digest
    let mem = MemoryStore::new();
    let copy = r(&format!("{}/copy/app@{}", dreg.addr(), img.manifest));
    client
        .push(
            &r(&format!("{}/copy/app:v9", dreg.addr())),
            Arc::new(LayoutSource { layout: dest }),
            &img.manifest,
            &PushOptions::default(),
        )
        .await
        .unwrap();
    client
        .pull(&copy, &PullOptions::default(), Arc::new(mem.clone()))
        .await
        .unwrap();
    assert_eq!(
        mem.get(&img.layers[0]).unwrap(),
        img.store.get(&img.layers[0]).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_push_uploads_nothing_counted_in_access_log() {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("access.log");
    let srv = serve(ServeConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        access_log: Some(log.clone()),
        ..ServeConfig::new(t.path().join("reg"))
    })
    .await
    .unwrap();
    let client = test_client(&[]);
    let img = small_image("count me");
    let target = format!("{}/count/app:v1", srv.local_addr());
    push_image(&client, &img.store, &img.manifest, &target).await;
    let first = sealer_registry_shim::access_log::read_records(&log).unwrap();
    let uploads = |recs: &[serde_json::Value]| {
        recs.iter()
            .filter(|r| r["path"].as_str().unwrap_or("").contains("/blobs/uploads"))
            .count()
    };
    assert!(uploads(&first) >= 2, "{first:?}");
    push_image(&client, &img.store, &img.manifest, &target).await;
    let all = sealer_registry_shim::access_log::read_records(&log).unwrap();
    let second = &all[first.len()..];
    assert_eq!(uploads(second), 0, "second push uploaded: {second:?}");
    assert_eq!(second.iter().filter(|r| r["method"] == "HEAD").count(), 2);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_arch_index_platform_selection() {
    let t = tempfile::tempdir().unwrap();
    let srv = serve(ServeConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..ServeConfig::new(t.path().join("reg"))
    })
    .await
    .unwrap();
    let client = test_client(&[]);
    let amd = make_image(&[("arch", b"amd64".to_vec(), 0o644)], "amd64");
    let arm = make_image(&[("arch", b"arm64".to_vec(), 0o644)], "arm64");
    let (store, index) = make_index(&[&amd, &arm]);
    let target = format!("{}/multi/app:v1", srv.local_addr());
    push_image(&client, &store, &index, &target).await;
    let mem = MemoryStore::new();
    let pulled = client
        .pull(
            &r(&target),
            &PullOptions {
                platform: Some(Platform::parse("linux/arm64").unwrap()),
                all_platforms: false,
            },
            Arc::new(mem.clone()),
        )
        .await
        .unwrap();
    assert_eq!(pulled.digest, index);
    assert_eq!(pulled.manifests.len(), 1);
    assert_eq!(pulled.manifests[0].digest, arm.manifest);
    assert!(mem.get(&arm.layers[0]).is_some() && mem.get(&amd.layers[0]).is_none());
    let err = client
        .pull(
            &r(&target),
            &PullOptions {
                platform: Some(Platform::parse("linux/s390x").unwrap()),
                all_platforms: false,
            },
            Arc::new(MemoryStore::new()),
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("multi/app:v1") && msg.contains("linux/s390x") && msg.contains("linux/arm64"),
        "{msg}"
    );
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_into_and_push_from_the_image_store() {
    use sealer_registry_shim::client::{StoreSink, StoreSource};
    let t = tempfile::tempdir().unwrap();
    let srv = serve(ServeConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..ServeConfig::new(t.path().join("reg"))
    })
    .await
    .unwrap();
    let client = test_client(&[]);
    let amd = make_image(&[("arch", b"amd64".to_vec(), 0o644)], "amd64");
    let arm = make_image(&[("arch", b"arm64".to_vec(), 0o644)], "arm64");
    let (store, index) = make_index(&[&amd, &arm]);
    let target = r(&format!("{}/store/app:v1", srv.local_addr()));
    push_image(&client, &store, &index, &target.to_string()).await;
    let cache = sealer_image_cache::Store::open(&t.path().join("cache")).unwrap();
    let sink = Arc::new(StoreSink::new(cache.clone(), target.name()));
    let pulled = client
        .pull(
            &target,
            &PullOptions {
                platform: Some(Platform::parse("linux/amd64").unwrap()),
                all_platforms: false,
            },
            sink,
        )
        .await
        .unwrap();
    assert_eq!(pulled.manifests[0].digest, amd.manifest);
    // one platform of an index: the platform's manifest is what the store tags
    let desc = cache.resolve(&target.to_string()).unwrap().unwrap();
    assert_eq!(desc.digest().to_string(), amd.manifest.to_string());
    // all platforms: the index itself is tagged
    let all = Arc::new(StoreSink::new(cache.clone(), target.name()));
    client
        .pull(
            &target,
            &PullOptions {
                platform: None,
                all_platforms: true,
            },
            all,
        )
        .await
        .unwrap();
    let desc = cache.resolve(&target.to_string()).unwrap().unwrap();
    assert_eq!(desc.digest().to_string(), index.to_string());
    // and back out of the store
    let copy = r(&format!("{}/store/copy:v1", srv.local_addr()));
    let rep = client
        .push(
            &copy,
            Arc::new(StoreSource { store: cache }),
            &index,
            &PushOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(rep.uploaded.len(), 4);
    srv.shutdown().await;
}
