//! Unpacking from a real store: once per digest, verified against diffIDs.

use super::*;
use sealer_image_cache::sealer_meta::{ImageType, Launch};
use sealer_snapshotter::{Compression, CopyDiff, CopyEntry, TarOptions, write_layer};

/// One layer holding the tree `src`, stored as a blob; returns (descriptor JSON, diffID).
fn layer(store: &Store, src: &Path) -> (Value, String) {
    let diff = CopyDiff::new(vec![CopyEntry {
        host_path: src.to_path_buf(),
        dest: String::new(),
    }]);
    let (stats, w) = write_layer(
        &diff,
        Compression::None,
        &TarOptions::default(),
        store.blob_writer().unwrap(),
    )
    .unwrap();
    let (digest, size) = w.finish(None).unwrap();
    (
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": digest.to_string(),
            "size": size,
        }),
        stats.diff_id.clone(),
    )
}

#[test]
fn unpacks_once_and_reads_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("store")).unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("bin")).unwrap();
    std::fs::write(src.join("bin/kubeadm"), "#!/bin/sh\n").unwrap();
    let (l1, d1) = layer(&store, &src);
    let ext = ImageExtension {
        image_type: ImageType::KubeInstaller,
        launch: Launch {
            cmds: vec!["echo hi".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [d1]},
        "config": {},
    });
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let cdigest = store.put_blob(&config_bytes).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest.to_string(), "size": config_bytes.len()},
        "layers": [l1],
        "annotations": {
            ANNOTATION_IMAGE_EXTENSION: serde_json::to_string(&ext).unwrap(),
            ANNOTATION_CONTAINER_IMAGES: "[{\"image\":\"docker.io/library/nginx:alpine\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]",
        },
    });
    let desc = store
        .write_image(
            "test/img:1",
            &config_bytes,
            &serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
    let p = StoreImageProvider::new(store.clone());
    let info = p.image("test/img:1").unwrap();
    assert_eq!(info.id, desc.digest().to_string());
    assert_eq!(info.extension, ext);
    assert_eq!(
        info.container_images[0].image,
        "docker.io/library/nginx:alpine"
    );
    assert_eq!(info.platform.architecture, "amd64");
    assert_eq!(
        info.rootfs,
        store.root().join("rootfs").join(desc.digest().digest())
    );
    assert_eq!(
        std::fs::read_to_string(info.rootfs.join("bin/kubeadm")).unwrap(),
        "#!/bin/sh\n"
    );
    // A second provider reuses the directory (a marker survives), never re-unpacks.
    std::fs::write(info.rootfs.join("marker"), "x").unwrap();
    let again = StoreImageProvider::new(store.clone())
        .image("test/img:1")
        .unwrap();
    assert!(again.rootfs.join("marker").is_file());
    // Nothing temporary is left beside it.
    let names: Vec<String> = std::fs::read_dir(store.root().join("rootfs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(TMP_PREFIX))
        .collect();
    assert!(names.is_empty(), "{names:?}");
    match p.image("test/missing:1") {
        Err(ImageError::NotFound { name }) => assert_eq!(name, "test/missing:1"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_wrong_diff_id_is_refused_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("store")).unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a"), "a").unwrap();
    let (l1, _) = layer(&store, &src);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", "0".repeat(64))]},
    });
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let cdigest = store.put_blob(&config_bytes).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest.to_string(), "size": config_bytes.len()},
        "layers": [l1],
    });
    store
        .write_image(
            "bad:1",
            &config_bytes,
            &serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
    let err = StoreImageProvider::new(store.clone())
        .image("bad:1")
        .unwrap_err();
    assert!(err.to_string().contains("the store is damaged"), "{err}");
    let left: Vec<_> = std::fs::read_dir(store.root().join("rootfs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| !n.to_string_lossy().ends_with(".lock"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
