//! save/load of OCI archives.

mod common;

use std::io::Write;

use sealer_image_cache::archive::{ArchiveCompression, load, save};
use sealer_image_cache::{Store, StoreError};

fn new_store(dir: &tempfile::TempDir, name: &str) -> Store {
    Store::open(&dir.path().join(name)).unwrap()
}

fn source(dir: &tempfile::TempDir) -> (Store, Vec<String>) {
    let store = new_store(dir, "src");
    common::make_image(&store, "app:v1", b"one", false);
    common::make_image(&store, "localhost:5000/team/app:v2", b"two", true);
    // An image sharing nothing but existing too; not saved.
    common::make_image(&store, "unsaved:v1", b"three", false);
    (
        store,
        vec!["app:v1".into(), "localhost:5000/team/app:v2".into()],
    )
}

fn saved(store: &Store, names: &[String], c: ArchiveCompression) -> Vec<u8> {
    let mut out = Vec::new();
    save(store, names, &mut out, c).unwrap();
    out
}

fn digests(store: &Store) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = store
        .images()
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.descriptor.digest().to_string()))
        .collect();
    v.sort();
    v
}

fn round_trip(c: ArchiveCompression) {
    let dir = tempfile::tempdir().unwrap();
    let (src, names) = source(&dir);
    let bytes = saved(&src, &names, c);
    if c == ArchiveCompression::Zstd {
        assert_eq!(&bytes[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
    }
    assert_eq!(bytes, saved(&src, &names, c), "save must be deterministic");
    let dst = new_store(&dir, "dst");
    let loaded = load(&dst, &bytes[..]).unwrap();
    assert_eq!(
        loaded,
        vec![
            "docker.io/library/app:v1".to_string(),
            "localhost:5000/team/app:v2".to_string()
        ]
    );
    let want: Vec<_> = digests(&src)
        .into_iter()
        .filter(|(n, _)| !n.contains("unsaved"))
        .collect();
    assert_eq!(digests(&dst), want);
    for name in &names {
        let a = src
            .manifest(&src.resolve(name).unwrap().unwrap())
            .unwrap()
            .1;
        let b = dst
            .manifest(&dst.resolve(name).unwrap().unwrap())
            .unwrap()
            .1;
        assert_eq!(a, b);
    }
    let fsck = dst.fsck().unwrap();
    assert!(fsck.is_clean(), "{:?}", fsck.damage);
    assert_eq!(fsck.orphans, 0);
    // Loading again is a no-op that still succeeds.
    assert_eq!(load(&dst, &bytes[..]).unwrap().len(), 2);
}

#[test]
fn plain_round_trip() {
    round_trip(ArchiveCompression::None);
}

#[test]
fn zstd_round_trip() {
    round_trip(ArchiveCompression::Zstd);
}

#[test]
fn plain_archive_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (src, names) = source(&dir);
    let bytes = saved(&src, &names[..1], ArchiveCompression::None);
    let mut ar = tar::Archive::new(&bytes[..]);
    let mut paths = Vec::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        assert_eq!(e.header().mtime().unwrap(), 0);
        assert_eq!(e.header().uid().unwrap(), 0);
        paths.push(e.path().unwrap().display().to_string());
    }
    assert_eq!(
        &paths[..4],
        &["oci-layout", "index.json", "blobs/", "blobs/sha256/"]
    );
    let blobs = &paths[4..];
    assert_eq!(blobs.len(), 3, "manifest, config, one layer: {paths:?}");
    let mut sorted = blobs.to_vec();
    sorted.sort();
    assert_eq!(blobs, &sorted[..]);
}

#[test]
fn gzip_archive_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (src, names) = source(&dir);
    let plain = saved(&src, &names, ArchiveCompression::None);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&plain).unwrap();
    let gz = enc.finish().unwrap();
    let dst = new_store(&dir, "dst");
    assert_eq!(load(&dst, &gz[..]).unwrap().len(), 2);
}

#[test]
fn truncated_archive_changes_nothing_visible() {
    let dir = tempfile::tempdir().unwrap();
    let (src, names) = source(&dir);
    let dst = new_store(&dir, "dst");
    common::make_image(&dst, "app:v1", b"older content", false);
    let before = digests(&dst);
    for c in [ArchiveCompression::None, ArchiveCompression::Zstd] {
        let bytes = saved(&src, &names, c);
        for cut in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 1100] {
            let res = load(&dst, &bytes[..cut]);
            assert!(res.is_err(), "{c:?} cut at {cut} of {} loaded", bytes.len());
            assert_eq!(digests(&dst), before, "tags changed after a failed load");
        }
    }
    assert!(dst.fsck().unwrap().is_clean());
}

#[test]
fn corrupt_blob_in_archive_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (src, names) = source(&dir);
    let mut bytes = saved(&src, &names, ArchiveCompression::None);
    // Flip a byte inside the last blob's data (the archive ends with 2 zero blocks + padding).
    let mut ar = tar::Archive::new(&bytes[..]);
    let mut last = 0;
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        if e.size() > 0 {
            last = e.raw_file_position();
        }
    }
    bytes[last as usize + 1] ^= 0x20;
    let dst = new_store(&dir, "dst");
    let err = load(&dst, &bytes[..]).unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    assert!(dst.images().unwrap().is_empty());
}

#[test]
fn save_unknown_name_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (src, _) = source(&dir);
    let err = save(
        &src,
        &["nope:v1".into()],
        Vec::new(),
        ArchiveCompression::None,
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::ImageNotFound { .. }), "{err}");
}

#[test]
fn load_rejects_non_oci_archives() {
    let dir = tempfile::tempdir().unwrap();
    let dst = new_store(&dir, "dst");
    let docker_like = common::tar_bytes(&[("manifest.json", b"[]")]);
    let err = load(&dst, &docker_like[..]).unwrap_err();
    assert!(err.to_string().contains("docker-archive"), "{err}");
    assert!(load(&dst, &b"garbage that is not a tar"[..]).is_err());
}
