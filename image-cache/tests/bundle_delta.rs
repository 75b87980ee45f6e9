//! Inventories and delta bundles.

mod common;

use common::bundle::*;
use sealer_image_cache::archive::{
    ArchiveCompression, Inventory, SaveOptions, inventory, inventory_of_dir, load, load_path,
    save_split, save_with,
};
use sealer_image_cache::{Store, StoreError};

fn tar_paths(bytes: &[u8]) -> Vec<(String, u64)> {
    let mut ar = tar::Archive::new(bytes);
    ar.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.path().unwrap().display().to_string(), e.size())
        })
        .collect()
}

#[test]
fn delta_carries_only_new_blobs_and_loads_on_its_base() {
    let f = fixture();
    // The site loaded base:v1 earlier.
    let site = Store::open(&f.root.join("site")).unwrap();
    let mut full_base = Vec::new();
    save_with(
        &f.src,
        &names(&["base:v1"]),
        &mut full_base,
        &plain(ArchiveCompression::None),
    )
    .unwrap();
    load(&site, &full_base[..]).unwrap();
    let inv = inventory(&site).unwrap();
    assert!(inv.contains(f.a.digest.as_ref()));
    assert!(!inv.contains(f.b.digest.as_ref()));
    let inv = Inventory::from_json(&inv.to_json().unwrap(), "site.json").unwrap();

    let mut full = Vec::new();
    let full_report = save_with(
        &f.src,
        &names(&["app:v2"]),
        &mut full,
        &plain(ArchiveCompression::None),
    )
    .unwrap();
    let mut delta = Vec::new();
    let opts = SaveOptions {
        compression: ArchiveCompression::None,
        since: Some(&inv),
    };
    let report = save_with(&f.src, &names(&["app:v2"]), &mut delta, &opts).unwrap();
    println!(
        "full bundle: {} blobs, {} blob bytes, archive {} bytes",
        full_report.blobs, full_report.blob_bytes, full_report.archive_bytes
    );
    println!(
        "delta bundle: {} blobs, {} blob bytes, archive {} bytes; omitted {} blob(s), {} bytes",
        report.blobs,
        report.blob_bytes,
        report.archive_bytes,
        report.omitted_blobs,
        report.omitted_bytes
    );
    assert_eq!(report.omitted_blobs, 1);
    assert_eq!(report.omitted_bytes, f.a.blob.len() as u64);
    assert_eq!(report.blobs, 3, "manifest, config and the new layer");
    assert_eq!(
        report.blob_bytes + report.omitted_bytes,
        full_report.blob_bytes
    );
    assert!(
        delta.len() + f.a.blob.len() <= full.len() + 1024,
        "{} vs {}",
        delta.len(),
        full.len()
    );

    let entries = tar_paths(&delta);
    let paths: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        &paths[..3],
        &["oci-layout", "index.json", "sealer-bundle.json"]
    );
    let a_path = format!("blobs/sha256/{}", f.a.digest.digest());
    let b_path = format!("blobs/sha256/{}", f.b.digest.digest());
    assert!(!paths.contains(&a_path.as_str()), "old layer shipped");
    assert!(paths.contains(&b_path.as_str()), "new layer missing");
    // The record and the index annotation.
    let mut ar = tar::Archive::new(&delta[..]);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().display().to_string();
        let mut text = String::new();
        if path == "index.json" || path == "sealer-bundle.json" {
            std::io::Read::read_to_string(&mut e, &mut text).unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if path == "index.json" {
                assert_eq!(v["annotations"]["sealer.bundle.delta"], "true");
                assert_eq!(v["annotations"]["sealer.bundle.omitted-blobs"], "1");
            } else {
                assert_eq!(v["delta"], true);
                assert_eq!(v["omitted"][0]["digest"], f.a.digest.to_string());
                assert_eq!(v["omitted"][0]["size"], f.a.blob.len());
            }
        }
    }
    // Loads where the base is.
    assert_eq!(
        load(&site, &delta[..]).unwrap(),
        vec!["docker.io/library/app:v2"]
    );
    assert_eq!(
        site.resolve("app:v2").unwrap().unwrap().digest(),
        f.src.resolve("app:v2").unwrap().unwrap().digest()
    );
    let fsck = site.fsck().unwrap();
    assert!(fsck.is_clean() && fsck.orphans == 0, "{:?}", fsck.damage);
}

#[test]
fn delta_into_store_lacking_base_fails_naming_it_and_writes_nothing() {
    let f = fixture();
    let mut inv = Inventory::new();
    inv.blobs.insert(f.a.digest.to_string());
    // A manifest/config digest in the inventory must not be left out.
    let app = f.src.resolve("app:v2").unwrap().unwrap();
    inv.blobs.insert(app.digest().to_string());
    let opts = SaveOptions {
        compression: ArchiveCompression::Zstd,
        since: Some(&inv),
    };
    let mut delta = Vec::new();
    let r = save_with(&f.src, &names(&["app:v2"]), &mut delta, &opts).unwrap();
    assert_eq!(r.omitted_blobs, 1);
    let (dst, before, blobs) = target(&f, "empty-site");
    let index_before = std::fs::read(dst.root().join("index.json")).unwrap();
    let err = load(&dst, &delta[..]).unwrap_err();
    eprintln!("delta without base: {err}");
    match &err {
        StoreError::DeltaBaseMissing { missing } => {
            assert_eq!(missing.len(), 1);
            assert!(missing[0].contains(&f.a.digest.to_string()), "{err}");
        }
        other => panic!("expected DeltaBaseMissing, got {other}"),
    }
    assert!(err.to_string().contains(&f.a.digest.to_string()));
    assert_eq!(tags(&dst), before);
    assert_eq!(common::blob_count(&dst), blobs, "blobs were ingested");
    assert_eq!(
        std::fs::read(dst.root().join("index.json")).unwrap(),
        index_before
    );
    assert!(common::tmp_files(&dst).is_empty());

    // Split delta volumes behave the same, and a base of the wrong size counts as missing.
    let base = f.root.join("delta.tar.zst");
    save_split(&f.src, &names(&["app:v2"]), &base, 2048, &opts).unwrap();
    let err = load_path(&dst, &base).unwrap_err();
    assert!(matches!(err, StoreError::DeltaBaseMissing { .. }), "{err}");
    // Once the base arrives (full base bundle), the delta loads.
    let mut full_base = Vec::new();
    save_with(
        &f.src,
        &names(&["base:v1"]),
        &mut full_base,
        &plain(ArchiveCompression::None),
    )
    .unwrap();
    load(&dst, &full_base[..]).unwrap();
    assert_eq!(
        load_path(&dst, &base).unwrap(),
        vec!["docker.io/library/app:v2"]
    );
    assert!(dst.fsck().unwrap().is_clean());
}

#[test]
fn delta_with_everything_known_still_carries_manifests_and_configs() {
    let f = fixture();
    let inv = inventory(&f.src).unwrap();
    let mut delta = Vec::new();
    let opts = SaveOptions {
        compression: ArchiveCompression::None,
        since: Some(&inv),
    };
    let r = save_with(&f.src, &names(&["base:v1", "app:v2"]), &mut delta, &opts).unwrap();
    assert_eq!(r.omitted_blobs, 2, "both layers");
    assert_eq!(r.blobs, 4, "two manifests, two configs");
    let site = Store::open(&f.root.join("site")).unwrap();
    assert!(matches!(
        load(&site, &delta[..]).unwrap_err(),
        StoreError::DeltaBaseMissing { missing } if missing.len() == 2
    ));
}

#[test]
fn inventory_json_shape_and_validation() {
    let f = fixture();
    let inv = inventory(&f.src).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&inv.to_json().unwrap()).unwrap();
    assert_eq!(v["schemaVersion"], 1);
    let blobs: Vec<&str> = v["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(blobs.len(), common::blob_count(&f.src));
    let mut sorted = blobs.clone();
    sorted.sort();
    assert_eq!(blobs, sorted);
    assert!(
        blobs
            .iter()
            .all(|b| b.starts_with("sha256:") && b.len() == 71)
    );
    assert_eq!(v["images"].as_array().unwrap().len(), 2);
    // Minimal documents parse; bad ones are refused with the reason.
    let min = Inventory::from_json(br#"{"schemaVersion":1,"blobs":[]}"#, "min.json").unwrap();
    assert!(min.blobs.is_empty());
    for (doc, words) in [
        (r#"{"schemaVersion":2,"blobs":[]}"#, "schemaVersion"),
        (r#"{"schemaVersion":1,"blobs":["md5:abc"]}"#, "not a sha256"),
        (r#"{"schemaVersion":1}"#, "blobs"),
    ] {
        let err = Inventory::from_json(doc.as_bytes(), "bad.json").unwrap_err();
        assert!(
            err.to_string().contains(words) && err.to_string().contains("bad.json"),
            "{err}"
        );
    }
}

#[test]
fn inventory_of_registry_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("rootfs/registry");
    let v2 = reg.join("docker/registry/v2");
    let d1 = "a".repeat(64);
    let d2 = format!("b{}", "0".repeat(63));
    for d in [&d1, &d2] {
        let p = v2.join("blobs/sha256").join(&d[..2]).join(d);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("data"), b"x").unwrap();
    }
    // Not blobs: an upload in progress, a misplaced directory.
    std::fs::create_dir_all(v2.join("blobs/sha256/cc").join("c".repeat(64))).unwrap();
    std::fs::create_dir_all(v2.join("blobs/sha256/dd").join("e".repeat(64))).unwrap();
    std::fs::write(
        v2.join("blobs/sha256/dd").join("e".repeat(64)).join("data"),
        b"x",
    )
    .unwrap();
    let want: Vec<String> = vec![format!("sha256:{d1}"), format!("sha256:{d2}")];
    for p in [reg.clone(), v2.clone(), dir.path().join("rootfs")] {
        let inv = inventory_of_dir(&p).unwrap();
        assert_eq!(
            inv.blobs.iter().cloned().collect::<Vec<_>>(),
            want,
            "{}",
            p.display()
        );
    }
    // An OCI layout works too.
    let store = Store::open(&dir.path().join("layout")).unwrap();
    common::make_image(&store, "x:v1", b"x", false);
    let inv = inventory_of_dir(store.root()).unwrap();
    assert_eq!(inv.blobs.len(), 3);
    let err = inventory_of_dir(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("not a registry directory"),
        "{err}"
    );
}
