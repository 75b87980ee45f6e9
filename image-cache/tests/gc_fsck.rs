//! prune and fsck.

mod common;

use std::io::Write;

use sealer_image_cache::digest::sha256_of;
use sealer_image_cache::gc::PruneOptions;
use sealer_image_cache::{CacheRecord, LayerRef, Store, StoreError};

fn new_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("root")).unwrap();
    (dir, store)
}

fn record_for(layer: &oci_spec::image::Digest) -> CacheRecord {
    CacheRecord {
        layers: vec![LayerRef {
            media_type: common::ZSTD_LAYER.into(),
            digest: layer.to_string(),
            size: 1,
            diff_id: layer.to_string(),
        }],
        created_by: "RUN x".into(),
        extra: Default::default(),
    }
}

#[test]
fn prune_keeps_reachable_and_removes_orphans() {
    let (_d, store) = new_store();
    let (kept, kept_layer) = common::make_image(&store, "keep:v1", b"keep", false);
    let (_gone, gone_layer) = common::make_image(&store, "gone:v1", b"gone", true);
    let orphan = store.put_blob(b"orphan blob").unwrap();
    let cached = store.put_blob(b"cached layer").unwrap();
    let key = sha256_of(b"cache key").to_string();
    store.put_cache_record(&key, &record_for(&cached)).unwrap();
    // A record whose layer is gone is dead and gets dropped.
    let dead_key = sha256_of(b"dead key").to_string();
    store
        .put_cache_record(&dead_key, &record_for(&sha256_of(b"not stored")))
        .unwrap();
    // A temp file of a killed writer (nobody holds its lock) ...
    std::fs::write(store.root().join("tmp/blob-99999-0-0"), b"half").unwrap();
    // A scratch directory left by a killed build.
    std::fs::create_dir_all(store.root().join("tmp/scratch.x/sub")).unwrap();
    std::fs::write(store.root().join("tmp/scratch.x/sub/f"), b"12345").unwrap();
    // ... and one of a live writer, which must survive.
    let mut live = store.blob_writer().unwrap();
    live.write_all(b"in flight").unwrap();
    store.remove_tag("gone:v1").unwrap();

    let fsck = store.fsck().unwrap();
    assert_eq!(fsck.damage.len(), 1, "{:?}", fsck.damage);
    assert!(fsck.damage[0].contains(&dead_key), "{:?}", fsck.damage);
    assert_eq!(
        fsck.temp_files, 2,
        "the live writer's temp file is not stale"
    );
    let report = store.prune(&PruneOptions::default()).unwrap();
    // gone: manifest + config + layer, plus the orphan.
    assert_eq!(report.removed_blobs, 4, "{report:?}");
    assert_eq!(report.removed_cache_records, 1, "{report:?}");
    assert_eq!(report.removed_temp_files, 2, "{report:?}");
    assert!(!store.root().join("tmp/scratch.x").exists());
    assert!(report.removed_bytes > 0);
    assert!(!store.has_blob(&orphan));
    assert!(!store.has_blob(&gone_layer.digest));
    assert!(store.has_blob(&kept_layer.digest));
    assert!(store.has_blob(kept.digest()));
    assert!(store.has_blob(&cached));
    assert!(store.cache_record(&key).unwrap().is_some());
    assert!(store.cache_record(&dead_key).unwrap().is_none());
    assert_eq!(report.kept_blobs, common::blob_count(&store));
    let (d, _) = live.finish(None).unwrap();
    assert!(store.has_blob(&d));
    assert!(store.fsck().unwrap().is_clean());

    // all_cache drops the remaining record and so its layer.
    let report = store.prune(&PruneOptions { all_cache: true }).unwrap();
    assert_eq!(report.removed_cache_records, 1);
    assert!(!store.has_blob(&cached));
    assert!(store.has_blob(&kept_layer.digest));
    assert_eq!(store.fsck().unwrap().orphans, 0);
}

#[test]
fn prune_waits_for_builds() {
    let (_d, store) = new_store();
    let other_handle = Store::open(store.root()).unwrap();
    let lease = other_handle.lease().unwrap();
    let err = store.prune(&PruneOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    // Leases are shared: two builds at once are fine.
    let second = store.lease().unwrap();
    drop(lease);
    drop(second);
    store.prune(&PruneOptions::default()).unwrap();
}

#[test]
fn fsck_finds_corrupt_byte_and_missing_layer() {
    let (_d, store) = new_store();
    let (_a, la) = common::make_image(&store, "a:1", b"aaaa", false);
    let (_b, lb) = common::make_image(&store, "b:1", b"bbbb", true);
    let orphan = store.put_blob(b"orphan").unwrap();
    let report = store.fsck().unwrap();
    assert!(report.is_clean(), "{:?}", report.damage);
    assert_eq!(report.orphans, 1);
    assert_eq!(report.temp_files, 0);

    // Flip one byte of a layer.
    let p = store.blob_path(&la.digest);
    let mut bytes = std::fs::read(&p).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&p, &bytes).unwrap();
    // Remove another image's layer.
    std::fs::remove_file(store.blob_path(&lb.digest)).unwrap();
    std::fs::write(store.root().join("tmp/write-1-2-3"), b"stale").unwrap();

    let report = store.fsck().unwrap();
    assert!(!report.is_clean());
    let all = report.damage.join("\n");
    assert!(
        report
            .damage
            .iter()
            .any(|d| d.contains(&la.digest.to_string()) && d.contains("corrupt")),
        "{all}"
    );
    assert!(
        report
            .damage
            .iter()
            .any(|d| d.contains(&lb.digest.to_string()) && d.contains("missing")),
        "{all}"
    );
    assert_eq!(report.orphans, 1);
    assert_eq!(report.temp_files, 1);
    assert!(store.has_blob(&orphan));
}

#[test]
fn prune_refuses_when_a_manifest_is_damaged() {
    let (_d, store) = new_store();
    let (desc, layer) = common::make_image(&store, "a:1", b"aaaa", false);
    std::fs::write(store.blob_path(desc.digest()), b"{not json").unwrap();
    let err = store.prune(&PruneOptions::default()).unwrap_err();
    assert!(err.to_string().contains("refusing to prune"), "{err}");
    assert!(store.has_blob(&layer.digest), "nothing may be deleted");
}
