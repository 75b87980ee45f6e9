//! Our server serves what Debian's docker-registry wrote, and docker-registry serves what we
//! wrote; skopeo copies with equal digests both ways.

mod common;

use std::net::SocketAddr;

use common::*;
use sealer_registry_shim::server::{ServeConfig, serve};

fn cfg(root: &std::path::Path) -> ServeConfig {
    ServeConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..ServeConfig::new(root)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_serve_a_docker_registry_dir() {
    if missing(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("reg");
    let img = small_image("written-by-docker-registry");
    let oci = t.path().join("oci");
    write_oci_layout(&oci, &img, "v1");
    {
        let dreg = DockerRegistry::start(&root, false);
        skopeo(&[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:v1", oci.display()),
            &format!("docker://{}/test/bb:v1", dreg.addr()),
        ]);
        assert_eq!(
            skopeo_digest(&format!("{}/test/bb:v1", dreg.addr())),
            img.manifest.to_string()
        );
    } // docker-registry stopped
    let srv = serve(ServeConfig {
        read_only: true,
        ..cfg(&root)
    })
    .await
    .unwrap();
    let addr = srv.local_addr().to_string();
    let r = format!("{addr}/test/bb:v1");
    assert_eq!(skopeo_digest(&r), img.manifest.to_string());
    let out = t.path().join("out");
    let addr2 = addr.clone();
    let out2 = out.clone();
    tokio::task::spawn_blocking(move || {
        skopeo(&[
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{addr2}/test/bb:v1"),
            &format!("oci:{}:v1", out2.display()),
        ])
    })
    .await
    .unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], img.manifest.to_string());
    let layer = std::fs::read(out.join("blobs/sha256").join(img.layers[0].hex())).unwrap();
    assert_eq!(layer, img.store.get(&img.layers[0]).unwrap());
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_registry_serves_our_dir() {
    if missing(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("reg");
    let img = small_image("written-by-us");
    let oci = t.path().join("oci");
    write_oci_layout(&oci, &img, "v1");
    let srv = serve(cfg(&root)).await.unwrap();
    let addr = srv.local_addr().to_string();
    // skopeo pushes through our upload API; a domain-qualified name lands in docker.io/...
    let (oci2, addr2) = (oci.clone(), addr.clone());
    tokio::task::spawn_blocking(move || {
        skopeo(&[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:v1", oci2.display()),
            &format!("docker://{addr2}/docker.io/library/bb:v1"),
        ])
    })
    .await
    .unwrap();
    // our client too (monolithic + chunked)
    let client = test_client(&[]);
    let big = make_image(&[("big.bin", noise(300_000, 7), 0o644)], "amd64");
    let chunky =
        sealer_registry_shim::client::Client::new(sealer_registry_shim::client::ClientConfig {
            chunk_size: 64 * 1024,
            credentials: sealer_registry_shim::client::CredentialStore::none(),
            ..Default::default()
        })
        .unwrap();
    push_image(
        &chunky,
        &big.store,
        &big.manifest,
        &format!("{addr}/quay.io/x/big:v1"),
    )
    .await;
    push_image(
        &client,
        &img.store,
        &img.manifest,
        &format!("{addr}/quay.io/x/y:v2"),
    )
    .await;
    srv.shutdown().await;
    let dreg = DockerRegistry::start(&root, true);
    let a = dreg.addr();
    tokio::task::spawn_blocking(move || {
        assert_eq!(
            skopeo_digest(&format!("{a}/docker.io/library/bb:v1")),
            img.manifest.to_string()
        );
        assert_eq!(
            skopeo_digest(&format!("{a}/quay.io/x/y:v2")),
            img.manifest.to_string()
        );
        assert_eq!(
            skopeo_digest(&format!("{a}/quay.io/x/big:v1")),
            big.manifest.to_string()
        );
        let out = tempfile::tempdir().unwrap();
        skopeo(&[
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{a}/quay.io/x/big:v1"),
            &format!("oci:{}:v1", out.path().display()),
        ]);
        let layer =
            std::fs::read(out.path().join("blobs/sha256").join(big.layers[0].hex())).unwrap();
        assert_eq!(layer, big.store.get(&big.layers[0]).unwrap());
        // read-only docker-registry refuses pushes (sanity of the fixture)
        let status = std::process::Command::new("skopeo")
            .args([
                "copy",
                "--dest-tls-verify=false",
                &format!("docker://{a}/quay.io/x/y:v2"),
                &format!("docker://{a}/other/y:v2"),
            ])
            .output()
            .unwrap();
        assert!(!status.status.success());
    })
    .await
    .unwrap();
    // the catalog lists domain-qualified repositories
    let body = http()
        .get(format!("http://{}/v2/_catalog", dreg.addr()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("docker.io/library/bb") && body.contains("quay.io/x/y"),
        "{body}"
    );
}
