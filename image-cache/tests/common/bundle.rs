//! Fixtures for the bundle tests: images with real, incompressible layers.

use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::image::Descriptor;
use sealer_image_cache::archive::{ArchiveCompression, SaveOptions};
use sealer_image_cache::{Store, StoreError};

use super::{Layer, blob_count, config_json, layer, make_image, manifest_json};

/// Incompressible bytes (xorshift), so blobs stay as big as asked.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Tag an image made of `layers` (blobs stored first).
pub fn image(store: &Store, name: &str, layers: &[&Layer]) -> Descriptor {
    for l in layers {
        let mut w = store.blob_writer().unwrap();
        w.write_all(&l.blob).unwrap();
        w.finish(Some(&l.digest)).unwrap();
    }
    let config = config_json(layers);
    let manifest = manifest_json(&config, layers);
    store.write_image(name, &config, &manifest).unwrap()
}

/// base:v1 = [A]; app:v2 = [A, B]; A is 40 KiB and B 12 KiB of noise.
pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub src: Store,
    pub a: Layer,
    pub b: Layer,
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let src = Store::open(&root.join("src")).unwrap();
    let a = layer(&noise(40 << 10, 1), false);
    let b = layer(&noise(12 << 10, 2), true);
    image(&src, "base:v1", &[&a]);
    image(&src, "app:v2", &[&a, &b]);
    Fixture {
        _dir: dir,
        root,
        src,
        a,
        b,
    }
}

pub fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub fn tags(store: &Store) -> Vec<(String, String)> {
    let mut v: Vec<_> = store
        .images()
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.descriptor.digest().to_string()))
        .collect();
    v.sort();
    v
}

pub fn plain(opts: ArchiveCompression) -> SaveOptions<'static> {
    SaveOptions {
        compression: opts,
        since: None,
    }
}

/// A store that already holds an unrelated image; returns it and its state.
pub fn target(f: &Fixture, name: &str) -> (Store, Vec<(String, String)>, usize) {
    let dst = Store::open(&f.root.join(name)).unwrap();
    make_image(&dst, "keep:v1", b"keep", false);
    let before = tags(&dst);
    let blobs = blob_count(&dst);
    (dst, before, blobs)
}

pub fn expect_volume_error(err: StoreError, volume: &Path, words: &str) {
    match &err {
        StoreError::Volume { path, message } => {
            assert_eq!(path, volume, "{err}");
            assert!(message.contains(words), "{err}");
        }
        other => panic!(
            "expected a volume error naming {}, got {other}",
            volume.display()
        ),
    }
}
