//! Embedding images into a `registry/` tree: two upstreams with the same repository path,
//! served by our server and by docker-registry (read-only) with upstream digests, unchanged
//! rebuilds fetch nothing, per-image layer trees are deterministic, failures are explicit.

mod common;

use std::net::SocketAddr;

use common::*;
use sealer_registry_shim::embed::{EmbedFailure, embed_images, image_layer_tree, parse_image_list};
use sealer_registry_shim::platform::Platform;
use sealer_registry_shim::server::{ServeConfig, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embed_three_images_from_two_upstreams() {
    if missing(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let hub = DockerRegistry::start(&t.path().join("hub"), false);
    let quay = DockerRegistry::start(&t.path().join("quay"), false);
    let c = test_client(&[]);
    let (a, b, q) = (
        small_image("hub app"),
        small_image("hub tool"),
        small_image("quay app"),
    );
    let amd = make_image(&[("arch", b"amd64".to_vec(), 0o644)], "amd64");
    let arm = make_image(&[("arch", b"arm64".to_vec(), 0o644)], "arm64");
    let (multi, index) = make_index(&[&amd, &arm]);
    push_image(
        &c,
        &a.store,
        &a.manifest,
        &format!("{}/team/app:v1", hub.addr()),
    )
    .await;
    push_image(
        &c,
        &b.store,
        &b.manifest,
        &format!("{}/library/tool:2", hub.addr()),
    )
    .await;
    push_image(
        &c,
        &q.store,
        &q.manifest,
        &format!("{}/team/app:v1", quay.addr()),
    )
    .await;
    push_image(
        &c,
        &multi,
        &index,
        &format!("{}/library/multi:1", hub.addr()),
    )
    .await;
    let client = test_client(&[
        ("docker.io", format!("http://{}", hub.addr())),
        ("quay.io", format!("http://{}", quay.addr())),
    ]);
    let list = parse_image_list(
        "# app images\nteam/app:v1\ntool:2   # short name\n\nquay.io/team/app:v1\nmulti:1\n",
    );
    assert_eq!(list.len(), 4);
    let arm64 = Platform::parse("linux/arm64").unwrap();
    let dest = t.path().join("registry");
    let got = embed_images(&list, &arm64, &client, &dest).await.unwrap();
    assert_eq!(got[0].image, "docker.io/team/app:v1");
    assert_eq!(got[0].repo, "docker.io/team/app");
    assert_eq!(got[1].repo, "docker.io/library/tool");
    assert_eq!(got[2].repo, "quay.io/team/app");
    assert_eq!(
        (got[0].digest.clone(), got[2].digest.clone()),
        (a.manifest.clone(), q.manifest.clone())
    );
    // multi-arch: the tag keeps the upstream index, the arm64 child and its blobs are stored
    assert_eq!(got[3].digest, index);
    assert_eq!(got[3].manifest_digest, arm.manifest);
    assert_eq!(got[3].platform.architecture, "arm64");
    let layout = sealer_registry_shim::distribution_layout::Layout::new(&dest);
    assert!(layout.blob_path(&arm.layers[0]).is_file());
    assert!(!layout.blob_path(&amd.layers[0]).exists());
    // unchanged rebuild: nothing fetched
    let again = embed_images(&list, &arm64, &client, &dest).await.unwrap();
    assert!(again.iter().all(|e| e.bytes_fetched == 0), "{again:?}");
    assert_eq!(
        again,
        got.iter()
            .map(|e| sealer_registry_shim::embed::EmbeddedImage {
                bytes_fetched: 0,
                ..e.clone()
            })
            .collect::<Vec<_>>()
    );
    // the same image embedded elsewhere has the same layer tree, byte for byte
    let dest2 = t.path().join("registry2");
    let other = embed_images(
        &["quay.io/team/app:v1".to_string()],
        &arm64,
        &client,
        &dest2,
    )
    .await
    .unwrap();
    let tree1 = image_layer_tree(&dest, &got[2]);
    let tree2 = image_layer_tree(&dest2, &other[0]);
    assert_eq!(
        tree1.iter().map(|e| &e.path).collect::<Vec<_>>(),
        tree2.iter().map(|e| &e.path).collect::<Vec<_>>()
    );
    for (x, y) in tree1.iter().zip(&tree2) {
        if let (Some(sx), Some(sy)) = (&x.source, &y.source) {
            assert_eq!(
                std::fs::read(sx).unwrap(),
                std::fs::read(sy).unwrap(),
                "{}",
                x.path
            );
        }
    }
    // every file of the second tree exists; nothing else in that layout
    let files2: usize = tree2
        .iter()
        .filter(|e| e.source.as_ref().is_some_and(|s| s.is_file()))
        .count();
    assert_eq!(files2, tree2.iter().filter(|e| e.source.is_some()).count());
    // errors name the reference, the upstream and the reason
    let e = embed_images(
        &["quay.io/team/missing:v1".to_string()],
        &arm64,
        &client,
        &dest,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, EmbedFailure::UnknownManifest);
    assert!(
        e.to_string().contains("quay.io/team/missing:v1") && e.to_string().contains(&quay.addr()),
        "{e}"
    );
    let dead = test_client(&[("docker.io", format!("http://127.0.0.1:{}", free_port()))]);
    let e = embed_images(&["team/app:v1".to_string()], &arm64, &dead, &dest)
        .await
        .unwrap_err();
    assert_eq!(e.kind, EmbedFailure::Unreachable, "{e}");
    drop(hub);
    drop(quay);
    // (a) our server, (b) docker-registry read-only: skopeo sees the upstream digests
    let srv = serve(ServeConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        read_only: true,
        ..ServeConfig::new(&dest)
    })
    .await
    .unwrap();
    let ours = srv.local_addr().to_string();
    let dreg = DockerRegistry::start(&dest, true);
    let theirs = dreg.addr();
    let expect = vec![
        ("docker.io/team/app:v1", a.manifest.to_string()),
        ("docker.io/library/tool:2", b.manifest.to_string()),
        ("quay.io/team/app:v1", q.manifest.to_string()),
        ("docker.io/library/multi:1", index.to_string()),
    ];
    tokio::task::spawn_blocking(move || {
        for host in [ours, theirs] {
            for (name, digest) in &expect {
                assert_eq!(
                    &skopeo_digest(&format!("{host}/{name}")),
                    digest,
                    "{host}/{name}"
                );
            }
            let out = tempfile::tempdir().unwrap();
            skopeo(&[
                "copy",
                "--src-tls-verify=false",
                "--override-arch",
                "arm64",
                &format!("docker://{host}/docker.io/library/multi:1"),
                &format!("oci:{}:x", out.path().display()),
            ]);
            skopeo(&[
                "copy",
                "--src-tls-verify=false",
                &format!("docker://{host}/quay.io/team/app:v1"),
                &format!("oci:{}:y", out.path().display()),
            ]);
        }
    })
    .await
    .unwrap();
    srv.shutdown().await;
}
