//! Store behaviour: layout, blobs, tags, resolve, cache records.

mod common;

use std::io::Write;

use oci_spec::image::{Digest, MediaType};
use sealer_image_cache::digest::sha256_of;
use sealer_image_cache::{CacheRecord, LayerRef, Store, StoreError};

fn new_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("root")).unwrap();
    (dir, store)
}

#[test]
fn open_creates_layout_and_refuses_foreign_dirs() {
    let (dir, store) = new_store();
    let root = store.root();
    assert_eq!(
        std::fs::read_to_string(root.join("oci-layout")).unwrap(),
        r#"{"imageLayoutVersion":"1.0.0"}"#
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["manifests"], serde_json::json!([]));
    assert!(root.join("blobs/sha256").is_dir());
    // Reopen is fine and keeps content.
    let d = store.put_blob(b"abc").unwrap();
    assert!(Store::open(root).unwrap().has_blob(&d));
    // An empty existing dir is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    Store::open(&empty).unwrap();
    // A non-empty dir that is not a layout is refused with a clear error.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let err = Store::open(&foreign).unwrap_err();
    assert!(matches!(err, StoreError::NotALayout { .. }), "{err}");
    assert!(err.to_string().contains("not an OCI image layout"), "{err}");
    assert!(!foreign.join("oci-layout").exists());
    // A wrong layout version is refused.
    let odd = dir.path().join("odd");
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(odd.join("oci-layout"), r#"{"imageLayoutVersion":"2.0.0"}"#).unwrap();
    assert!(matches!(
        Store::open(&odd),
        Err(StoreError::LayoutVersion { .. })
    ));
}

#[test]
fn blob_writer_streams_verifies_and_is_idempotent() {
    let (_d, store) = new_store();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let expected = sha256_of(&data);
    let mut w = store.blob_writer().unwrap();
    for chunk in data.chunks(70_000) {
        w.write_all(chunk).unwrap();
    }
    assert_eq!(w.written(), data.len() as u64);
    let (d, n) = w.finish(Some(&expected)).unwrap();
    assert_eq!((d.clone(), n), (expected.clone(), data.len() as u64));
    assert!(store.has_blob(&d));
    assert_eq!(std::fs::read(store.blob_path(&d)).unwrap(), data);
    // Second ingest of the same content: fine, nothing left behind.
    let mut w = store.blob_writer().unwrap();
    w.write_all(&data).unwrap();
    assert_eq!(w.finish(None).unwrap().0, expected);
    assert!(common::tmp_files(&store).is_empty());
    assert_eq!(store.read_blob(&d, 4 << 20).unwrap(), data);
    let err = store.read_blob(&d, 1000).unwrap_err();
    assert!(matches!(err, StoreError::BlobTooLarge { .. }), "{err}");
    assert_eq!(store.put_blob(b"x").unwrap(), sha256_of(b"x"));
}

#[test]
fn dropped_writer_leaves_nothing() {
    let (_d, store) = new_store();
    let mut w = store.blob_writer().unwrap();
    w.write_all(&vec![7u8; 2_500_000]).unwrap();
    assert_eq!(common::tmp_files(&store).len(), 1);
    drop(w);
    assert!(common::tmp_files(&store).is_empty());
    assert_eq!(common::blob_count(&store), 0);
}

#[test]
fn digest_mismatch_is_rejected() {
    let (_d, store) = new_store();
    let wrong = sha256_of(b"something else");
    let mut w = store.blob_writer().unwrap();
    w.write_all(b"actual content").unwrap();
    let err = w.finish(Some(&wrong)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&wrong.to_string()), "{text}");
    assert!(
        text.contains(&sha256_of(b"actual content").to_string()),
        "{text}"
    );
    assert!(common::tmp_files(&store).is_empty());
    assert_eq!(common::blob_count(&store), 0);
    // A non-sha256 expectation is refused too.
    let w = store.blob_writer().unwrap();
    let sha512 = Digest::try_from(format!("sha512:{}", "a".repeat(128))).unwrap();
    assert!(matches!(
        w.finish(Some(&sha512)),
        Err(StoreError::UnsupportedDigest { .. })
    ));
}

#[test]
fn read_blob_detects_corruption() {
    let (_d, store) = new_store();
    let d = store.put_blob(b"precious bytes").unwrap();
    let p = store.blob_path(&d);
    std::fs::write(&p, b"precious bytez").unwrap();
    assert!(matches!(
        store.read_blob(&d, 100),
        Err(StoreError::DigestMismatch { .. })
    ));
    let missing = sha256_of(b"never stored");
    assert!(matches!(
        store.open_blob(&missing),
        Err(StoreError::BlobNotFound { .. })
    ));
}

#[test]
fn write_image_tags_and_keeps_raw_manifest() {
    let (_d, store) = new_store();
    let l = common::layer(b"hi", false);
    store.put_blob(&l.blob).unwrap();
    let config = common::config_json(&[&l]);
    let manifest = common::manifest_json(&config, &[&l]);
    let desc = store.write_image("app:v1", &config, &manifest).unwrap();
    assert_eq!(desc.digest(), &sha256_of(&manifest));
    assert_eq!(desc.size(), manifest.len() as u64);
    assert_eq!(desc.media_type(), &MediaType::ImageManifest);
    let platform = desc.platform().clone().unwrap();
    assert_eq!(platform.architecture().to_string(), "amd64");
    assert_eq!(platform.os().to_string(), "linux");
    let images = store.images().unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].name, "docker.io/library/app:v1");
    let (parsed, raw) = store.manifest(&images[0].descriptor).unwrap();
    assert_eq!(raw, manifest, "manifest bytes must be kept verbatim");
    assert_eq!(parsed.layers()[0].digest(), &l.digest);
}

#[test]
fn incomplete_image_is_not_tagged() {
    let (_d, store) = new_store();
    let l = common::layer(b"never stored", true);
    let config = common::config_json(&[&l]);
    let manifest = common::manifest_json(&config, &[&l]);
    let err = store.write_image("app:v1", &config, &manifest).unwrap_err();
    match &err {
        StoreError::IncompleteImage { name, missing } => {
            assert_eq!(name, "docker.io/library/app:v1");
            assert!(missing[0].contains(&l.digest.to_string()), "{missing:?}");
        }
        other => panic!("unexpected {other}"),
    }
    assert!(store.images().unwrap().is_empty());
}

#[test]
fn set_tag_replaces_and_remove_tag_removes() {
    let (_d, store) = new_store();
    let (a, _) = common::make_image(&store, "app:v1", b"a", false);
    let (b, _) = common::make_image(&store, "other:v1", b"b", false);
    store
        .set_tag("docker.io/library/app:v1", b.clone())
        .unwrap();
    let images = store.images().unwrap();
    assert_eq!(images.len(), 2);
    assert_eq!(
        store.resolve("app:v1").unwrap().unwrap().digest(),
        b.digest()
    );
    store.set_tag("app:v2", a.clone()).unwrap();
    assert_eq!(store.images().unwrap().len(), 3);
    let removed = store.remove_tag("app:v1").unwrap().unwrap();
    assert_eq!(removed.digest(), b.digest());
    assert!(store.remove_tag("app:v1").unwrap().is_none());
    assert!(store.resolve("app:v1").unwrap().is_none());
    assert!(
        store.resolve("other").unwrap().is_none(),
        "other:latest was never tagged"
    );
    assert!(store.set_tag("Bad Name", a).is_err());
}

#[test]
fn resolve_by_name_digest_and_prefix() {
    let (_d, store) = new_store();
    let mut descs = Vec::new();
    // Enough images that two manifest digests share their first hex digit.
    for i in 0..20 {
        let (d, _) = common::make_image(
            &store,
            &format!("localhost:5000/app:{i}"),
            format!("c{i}").as_bytes(),
            false,
        );
        descs.push(d);
    }
    let first = &descs[0];
    let full = first.digest().to_string();
    let hex = first.digest().digest().to_string();
    for query in [
        "localhost:5000/app:0".to_string(),
        full.clone(),
        format!("sha256:{}", &hex[..12]),
        hex[..12].to_string(),
        hex.clone(),
        format!("localhost:5000/app@{full}"),
    ] {
        let got = store.resolve(&query).unwrap();
        assert_eq!(
            got.as_ref().map(|d| d.digest()),
            Some(first.digest()),
            "query {query}"
        );
    }
    assert!(store.resolve("localhost:5000/app:99").unwrap().is_none());
    assert!(
        store
            .resolve(&format!("localhost:5000/nope@{full}"))
            .unwrap()
            .is_none()
    );
    assert!(
        store.resolve("sha256:ffffffffffff").unwrap().is_none() || hex.starts_with("ffffffffffff")
    );
    // An ambiguous single-digit prefix names its candidates.
    let mut by_first = std::collections::HashMap::new();
    for d in &descs {
        *by_first
            .entry(d.digest().digest().chars().next().unwrap())
            .or_insert(0) += 1;
    }
    let (c, _) = by_first.iter().find(|(_, n)| **n > 1).unwrap();
    let err = store.resolve(&format!("sha256:{c}")).unwrap_err();
    assert!(
        matches!(&err, StoreError::Ambiguous { candidates, .. } if candidates.len() > 1),
        "{err}"
    );
    // Not a name and not hex: a reference error.
    assert!(store.resolve("UPPER:case:x").is_err());
}

#[test]
fn cache_records_round_trip() {
    let (_d, store) = new_store();
    let key = sha256_of(b"step key").to_string();
    assert!(store.cache_record(&key).unwrap().is_none());
    let layer = store.put_blob(b"layer").unwrap();
    let rec = CacheRecord {
        layers: vec![LayerRef {
            media_type: common::ZSTD_LAYER.into(),
            digest: layer.to_string(),
            size: 5,
            diff_id: sha256_of(b"diff").to_string(),
        }],
        created_by: "RUN echo hi".into(),
        extra: [("k".to_string(), "v".to_string())].into(),
    };
    store.put_cache_record(&key, &rec).unwrap();
    assert_eq!(store.cache_record(&key).unwrap(), Some(rec.clone()));
    assert!(
        store
            .root()
            .join("cache/records")
            .join(format!("{}.json", key.trim_start_matches("sha256:")))
            .is_file()
    );
    assert!(rec.missing_layers(&store).is_empty());
    assert_eq!(store.cache_keys().unwrap(), vec![key]);
    assert!(matches!(
        store.put_cache_record("sha256:../../x", &rec),
        Err(StoreError::InvalidCacheKey { .. })
    ));
    assert!(common::tmp_files(&store).is_empty());
}

/// Throughput of the ingest path (hash + write + fsync + rename). Run with
/// `cargo test --release -p sealer-image-cache --test store -- --ignored --nocapture`.
#[test]
#[ignore]
fn ingest_throughput() {
    let (_d, store) = new_store();
    let chunk: Vec<u8> = (0..(8 << 20))
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let total = 1u64 << 30;
    let start = std::time::Instant::now();
    let mut w = store.blob_writer().unwrap();
    let mut n = 0;
    while n < total {
        w.write_all(&chunk).unwrap();
        n += chunk.len() as u64;
    }
    let (d, size) = w.finish(None).unwrap();
    let write_s = start.elapsed().as_secs_f64();
    let start = std::time::Instant::now();
    let report = store.fsck().unwrap();
    let fsck_s = start.elapsed().as_secs_f64();
    assert_eq!(size, total);
    assert!(store.has_blob(&d) && report.orphans == 1);
    eprintln!(
        "ingest 1 GiB: {write_s:.2}s ({:.0} MB/s); fsck re-hash: {fsck_s:.2}s ({:.0} MB/s)",
        total as f64 / 1e6 / write_s,
        total as f64 / 1e6 / fsck_s
    );
}
