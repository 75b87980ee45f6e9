//! Helpers shared by the integration tests: tiny real images built in memory.
#![allow(dead_code)]

pub mod bundle;

use std::io::Write;

use oci_spec::image::{Descriptor, Digest};
use sealer_image_cache::Store;
use sealer_image_cache::digest::sha256_of;
use serde_json::json;

pub const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const ZSTD_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// A layer: an uncompressed tar with one directory and one file, then compressed.
pub struct Layer {
    pub media_type: &'static str,
    pub blob: Vec<u8>,
    pub digest: Digest,
    pub diff_id: Digest,
}

pub fn tar_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_ustar();
    dir.set_path("etc/").unwrap();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    dir.set_mtime(1);
    dir.set_cksum();
    b.append(&dir, std::io::empty()).unwrap();
    for (path, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).unwrap();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(1);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn layer(content: &[u8], zstd: bool) -> Layer {
    let tar = tar_bytes(&[("etc/hello.txt", content)]);
    let diff_id = sha256_of(&tar);
    let (media_type, blob) = if zstd {
        (ZSTD_LAYER, zstd::encode_all(&tar[..], 3).unwrap())
    } else {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&tar).unwrap();
        (GZIP_LAYER, enc.finish().unwrap())
    };
    Layer {
        media_type,
        digest: sha256_of(&blob),
        blob,
        diff_id,
    }
}

pub fn config_json(layers: &[&Layer]) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.to_string()).collect();
    serde_json::to_vec(&json!({
        "created": "2024-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "test"}],
    }))
    .unwrap()
}

pub fn manifest_json(config: &[u8], layers: &[&Layer]) -> Vec<u8> {
    let layer_descs: Vec<_> = layers
        .iter()
        .map(|l| json!({"mediaType": l.media_type, "digest": l.digest.to_string(), "size": l.blob.len()}))
        .collect();
    serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256_of(config).to_string(),
            "size": config.len(),
        },
        "layers": layer_descs,
        "annotations": {"sealer.image.extension": "{\"type\":\"kube-installer\"}", "z": "1", "a": "2"},
    }))
    .unwrap()
}

/// Store the layer blobs of a one-layer image and tag it; returns (descriptor, layer).
pub fn make_image(store: &Store, name: &str, content: &[u8], zstd: bool) -> (Descriptor, Layer) {
    let l = layer(content, zstd);
    let mut w = store.blob_writer().unwrap();
    w.write_all(&l.blob).unwrap();
    w.finish(Some(&l.digest)).unwrap();
    let config = config_json(&[&l]);
    let manifest = manifest_json(&config, &[&l]);
    let desc = store.write_image(name, &config, &manifest).unwrap();
    (desc, l)
}

/// Files currently in ROOT/tmp.
pub fn tmp_files(store: &Store) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(store.root().join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

pub fn blob_count(store: &Store) -> usize {
    std::fs::read_dir(store.root().join("blobs/sha256"))
        .unwrap()
        .count()
}
