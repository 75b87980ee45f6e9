//! Split volumes: save into numbered volumes, load them back, and every way they can break.

mod common;

use std::path::PathBuf;

use common::bundle::*;
use sealer_image_cache::Store;
use sealer_image_cache::archive::volumes::{manifest_path, volume_path};
use sealer_image_cache::archive::{ArchiveCompression, load_path, save_split, save_with};

#[test]
fn split_round_trip_at_several_sizes() {
    let f = fixture();
    let all = names(&["base:v1", "app:v2"]);
    for c in [ArchiveCompression::None, ArchiveCompression::Zstd] {
        let mut whole = Vec::new();
        save_with(&f.src, &all, &mut whole, &plain(c)).unwrap();
        // 512 and 1000 put many boundaries inside the 40 KiB layer; 1 MiB gives one volume.
        for size in [512u64, 1000, 7 * 1024, 1 << 20] {
            let base = f.root.join(format!("out-{c:?}-{size}/bundle.tar"));
            std::fs::create_dir_all(base.parent().unwrap()).unwrap();
            let report = save_split(&f.src, &all, &base, size, &plain(c)).unwrap();
            let want = whole.len().div_ceil(size as usize);
            assert_eq!(report.volumes.len(), want, "{c:?} {size}");
            assert_eq!(report.archive_bytes, whole.len() as u64);
            let mut joined = Vec::new();
            for (i, v) in report.volumes.iter().enumerate() {
                assert_eq!(v.name, format!("bundle.tar.{i:03}"));
                let bytes = std::fs::read(volume_path(&base, i)).unwrap();
                assert!(bytes.len() as u64 <= size);
                assert_eq!(bytes.len() as u64, v.size);
                joined.extend(bytes);
            }
            assert_eq!(joined, whole, "volumes joined are the plain archive");
            assert!(manifest_path(&base).is_file());
            let leftovers: Vec<_> = std::fs::read_dir(base.parent().unwrap())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.'))
                .collect();
            assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
            // Each way of naming the set loads it.
            let last = volume_path(&base, report.volumes.len() - 1);
            for input in [
                base.clone(),
                volume_path(&base, 0),
                last,
                manifest_path(&base),
            ] {
                let dst = Store::open(&f.root.join(format!(
                    "dst-{c:?}-{size}-{}",
                    input.display().to_string().len()
                )))
                .unwrap();
                let loaded = load_path(&dst, &input).unwrap();
                assert_eq!(loaded.len(), 2, "{}", input.display());
                assert_eq!(tags(&dst), tags(&f.src));
                let fsck = dst.fsck().unwrap();
                assert!(fsck.is_clean() && fsck.orphans == 0, "{:?}", fsck.damage);
            }
        }
    }
}

#[test]
fn resave_with_fewer_volumes_removes_stale_ones() {
    let f = fixture();
    let base = f.root.join("b.tar");
    let big = save_split(
        &f.src,
        &names(&["app:v2"]),
        &base,
        1024,
        &plain(ArchiveCompression::None),
    )
    .unwrap();
    let small = save_split(
        &f.src,
        &names(&["app:v2"]),
        &base,
        64 << 10,
        &plain(ArchiveCompression::None),
    )
    .unwrap();
    assert!(big.volumes.len() > small.volumes.len());
    assert_eq!(small.volumes.len(), 1);
    assert!(!volume_path(&base, 1).exists(), "stale volume kept");
    let dst = Store::open(&f.root.join("dst")).unwrap();
    assert_eq!(
        load_path(&dst, &base).unwrap(),
        vec!["docker.io/library/app:v2"]
    );
}

/// A set of 1 KiB volumes of both images; returns the base path and the volume count.
fn split_set(f: &Fixture, c: ArchiveCompression) -> (PathBuf, usize) {
    let base = f.root.join(format!("set-{c:?}/b.tar.zst"));
    std::fs::create_dir_all(base.parent().unwrap()).unwrap();
    let r = save_split(
        &f.src,
        &names(&["base:v1", "app:v2"]),
        &base,
        1024,
        &plain(c),
    )
    .unwrap();
    (base, r.volumes.len())
}

#[test]
fn missing_or_truncated_volume_fails_before_reading() {
    let f = fixture();
    for c in [ArchiveCompression::None, ArchiveCompression::Zstd] {
        let (base, count) = split_set(&f, c);
        assert!(count > 10);
        let (dst, before, blobs) = target(&f, &format!("dst-missing-{c:?}"));
        // Missing: the volume is named and nothing at all is written.
        let gone = volume_path(&base, 4);
        let saved = std::fs::read(&gone).unwrap();
        std::fs::remove_file(&gone).unwrap();
        let err = load_path(&dst, &volume_path(&base, 0)).unwrap_err();
        eprintln!("missing volume: {err}");
        expect_volume_error(err, &gone, "missing 1 of");
        assert_eq!(tags(&dst), before);
        assert_eq!(common::blob_count(&dst), blobs);
        // Truncated.
        std::fs::write(&gone, &saved[..saved.len() - 1]).unwrap();
        let err = load_path(&dst, &base).unwrap_err();
        eprintln!("truncated volume: {err}");
        expect_volume_error(err, &gone, "truncated");
        assert_eq!(common::blob_count(&dst), blobs);
        // The list itself gone.
        std::fs::write(&gone, &saved).unwrap();
        let list = manifest_path(&base);
        let list_bytes = std::fs::read(&list).unwrap();
        std::fs::remove_file(&list).unwrap();
        let err = load_path(&dst, &volume_path(&base, 2)).unwrap_err();
        expect_volume_error(err, &list, "volume list is missing");
        let err = load_path(&dst, &base).unwrap_err();
        expect_volume_error(err, &list, "volume list is missing");
        std::fs::write(&list, list_bytes).unwrap();
        assert_eq!(tags(&dst), before);
        assert_eq!(load_path(&dst, &base).unwrap().len(), 2);
    }
}

#[test]
fn corrupt_or_reordered_volume_is_named_and_nothing_tagged() {
    let f = fixture();
    for c in [ArchiveCompression::None, ArchiveCompression::Zstd] {
        let (base, count) = split_set(&f, c);
        let (dst, before, _) = target(&f, &format!("dst-corrupt-{c:?}"));
        // A flipped byte in the first, a middle and the last volume (headers, blob data,
        // the archive's tail that the tar reader never needs).
        for i in [0, count / 2, count - 1] {
            let p = volume_path(&base, i);
            let good = std::fs::read(&p).unwrap();
            let mut bad = good.clone();
            let at = bad.len() / 2;
            bad[at] ^= 0x01;
            std::fs::write(&p, &bad).unwrap();
            let err = load_path(&dst, &base).unwrap_err();
            eprintln!("{c:?} corrupt volume {i}: {err}");
            expect_volume_error(err, &p, "damaged or out of order");
            assert_eq!(tags(&dst), before, "tags changed");
            std::fs::write(&p, &good).unwrap();
        }
        // Two equal-size volumes swapped.
        let (p1, p2) = (volume_path(&base, 1), volume_path(&base, 2));
        let (b1, b2) = (std::fs::read(&p1).unwrap(), std::fs::read(&p2).unwrap());
        assert_eq!(b1.len(), b2.len());
        std::fs::write(&p1, &b2).unwrap();
        std::fs::write(&p2, &b1).unwrap();
        let err = load_path(&dst, &base).unwrap_err();
        expect_volume_error(err, &p1, "out of order");
        assert_eq!(tags(&dst), before);
        std::fs::write(&p1, &b1).unwrap();
        std::fs::write(&p2, &b2).unwrap();
        assert_eq!(load_path(&dst, &base).unwrap().len(), 2);
        assert!(dst.fsck().unwrap().is_clean());
    }
}

#[test]
fn single_file_still_loads_by_path() {
    let f = fixture();
    let p = f.root.join("one.tar");
    let mut out = std::fs::File::create(&p).unwrap();
    save_with(
        &f.src,
        &names(&["app:v2"]),
        &mut out,
        &plain(ArchiveCompression::Zstd),
    )
    .unwrap();
    let dst = Store::open(&f.root.join("dst")).unwrap();
    assert_eq!(
        load_path(&dst, &p).unwrap(),
        vec!["docker.io/library/app:v2"]
    );
    let err = load_path(&dst, &f.root.join("nope.tar")).unwrap_err();
    assert!(err.to_string().contains("nope.tar"), "{err}");
}

#[test]
fn failed_split_save_leaves_no_file() {
    let f = fixture();
    // Damage the big layer in place (same size): the save re-hashes it and stops mid-stream.
    let path = f.src.blob_path(&f.a.digest);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let out = f.root.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let err = save_split(
        &f.src,
        &names(&["app:v2"]),
        &out.join("b.tar"),
        1024,
        &plain(ArchiveCompression::None),
    )
    .unwrap_err();
    assert!(
        matches!(err, sealer_image_cache::StoreError::DigestMismatch { .. }),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}
