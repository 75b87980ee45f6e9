//! Offline bundles through the binary: a bundle saved, split into volumes, moved and loaded
//! into an empty store inside a network namespace with no network; damaged volume sets; site
//! inventories and delta bundles that carry only new layers.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Write `len` incompressible bytes.
fn noise_file(path: &Path, len: usize, seed: u64) {
    let mut x = seed | 1;
    let mut buf = Vec::with_capacity(len + 8);
    while buf.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf.extend_from_slice(&x.to_le_bytes());
    }
    buf.truncate(len);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, buf).unwrap();
}

fn build(root: &Path, ctx: &Path, tag: &str) {
    sealer(
        root,
        &[
            "build",
            "--cluster",
            "none",
            "--progress",
            "plain",
            "-t",
            tag,
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
}

/// `sealer images --json`, sorted.
fn images(root: &Path) -> Vec<serde_json::Value> {
    let out = sealer(root, &["images", "--json"]).ok().stdout;
    let mut v: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    v.sort_by_key(|i| i["name"].as_str().unwrap_or_default().to_string());
    v
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Files of `dir` named `prefix.*`, sorted.
fn volume_files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{prefix}."))
        })
        .collect();
    v.sort();
    v
}

/// `sealer --root ROOT load -i INPUT`, inside `unshare -n` when possible.
fn load_offline(root: &Path, input: &Path, cut: bool) -> Run {
    let mut cmd = if cut {
        let mut c = Command::new("unshare");
        c.arg("-n").arg("--").arg(sealer_bin());
        c
    } else {
        Command::new(sealer_bin())
    };
    cmd.arg("--root").arg(root).args(["load", "-i"]).arg(input);
    cmd.output().expect("spawn sealer load").into()
}

/// An image of one 3 MiB incompressible file plus a manifest.
fn big_context(dir: &Path) -> PathBuf {
    let ctx = dir.join("ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY bin bin/\nCOPY app.yaml manifests/\n",
            ),
            ("app.yaml", "apiVersion: v1\nkind: ConfigMap\n"),
        ],
    );
    noise_file(&ctx.join("bin/tool"), 3 << 20, 7);
    ctx
}

#[test]
fn split_bundle_moves_and_loads_without_network() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = big_context(tmp.path());
    let src = tmp.path().join("src");
    build(&src, &ctx, "bundle/app:v1");
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let cut = can_cut_network();
    for (file, split, want) in [("app.tar.zst", "1M", 4), ("app.tar", "650KiB", 5)] {
        let base = out.join(file);
        let run = sealer(
            &src,
            &["save", "-o", s(&base), "--split", split, "bundle/app:v1"],
        )
        .ok();
        eprintln!("{}", run.stderr.trim());
        let vols = volume_files(&out, file);
        let names: Vec<String> = vols
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), want + 1, "{names:?}");
        assert_eq!(names[0], format!("{file}.000"));
        assert_eq!(names[want], format!("{file}.volumes"));
        // Move the set somewhere else, as onto removable media.
        let media = tmp.path().join(format!("media-{file}"));
        std::fs::create_dir_all(&media).unwrap();
        for v in &vols {
            std::fs::rename(v, media.join(v.file_name().unwrap())).unwrap();
        }
        let dst = tmp.path().join(format!("dst-{file}"));
        let run = load_offline(&dst, &media.join(format!("{file}.000")), cut).ok();
        assert_eq!(run.stdout.trim(), "docker.io/bundle/app:v1");
        assert_eq!(images(&dst), images(&src));
        assert_eq!(
            inspect(&dst, "bundle/app:v1"),
            inspect(&src, "bundle/app:v1")
        );
        sealer(&dst, &["fsck"]).ok();
    }
}

#[test]
fn damaged_volume_set_loads_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = big_context(tmp.path());
    let src = tmp.path().join("src");
    build(&src, &ctx, "bundle/app:v1");
    let base = tmp.path().join("b.tar.zst");
    sealer(
        &src,
        &["save", "-o", s(&base), "--split", "512K", "bundle/app:v1"],
    )
    .ok();
    let dst = tmp.path().join("dst");
    sealer(&dst, &["images"]).ok();
    let before = store_state(&dst);
    let vol = |i: usize| tmp.path().join(format!("b.tar.zst.{i:03}"));

    // Missing volume.
    let saved = std::fs::read(vol(3)).unwrap();
    std::fs::remove_file(vol(3)).unwrap();
    let run = sealer(&dst, &["load", "-i", s(&base)]);
    assert!(!run.status.success());
    assert!(
        run.stderr.contains("b.tar.zst.003") && run.stderr.contains("missing"),
        "{}",
        run.stderr
    );
    assert_eq!(store_state(&dst), before);

    // Damaged volume (same size, one byte flipped).
    let mut bad = saved.clone();
    bad[1000] ^= 0x40;
    std::fs::write(vol(3), &bad).unwrap();
    let run = sealer(&dst, &["load", "-i", s(&vol(0))]);
    assert!(!run.status.success());
    assert!(
        run.stderr.contains("b.tar.zst.003") && run.stderr.contains("damaged"),
        "{}",
        run.stderr
    );
    assert_eq!(store_state(&dst).0, before.0, "index.json changed");
    assert!(images(&dst).is_empty());

    // Restored: loads.
    std::fs::write(vol(3), &saved).unwrap();
    sealer(&dst, &["load", "-i", s(&base)]).ok();
    assert_eq!(images(&dst), images(&src));
}

#[test]
fn delta_bundle_carries_only_new_layers() {
    let tmp = tempfile::tempdir().unwrap();
    let base_ctx = big_context(tmp.path());
    let app_ctx = tmp.path().join("app");
    write_files(
        &app_ctx,
        &[("Kubefile", "FROM bundle/base:v1\nCOPY extra extra/\n")],
    );
    noise_file(&app_ctx.join("extra/data.bin"), 256 << 10, 9);
    let factory = tmp.path().join("factory");
    build(&factory, &base_ctx, "bundle/base:v1");
    build(&factory, &app_ctx, "bundle/app:v2");

    // The site got base:v1 earlier and reports what it holds.
    let site = tmp.path().join("site");
    let full_base = tmp.path().join("base.tar.zst");
    sealer(&factory, &["save", "-o", s(&full_base), "bundle/base:v1"]).ok();
    sealer(&site, &["load", "-i", s(&full_base)]).ok();
    let inv_path = tmp.path().join("site.json");
    sealer(&site, &["inventory", "-o", s(&inv_path)]).ok();
    let inv: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&inv_path).unwrap()).unwrap();
    assert_eq!(inv["schemaVersion"], 1);
    let base_layers: Vec<String> = inspect(&factory, "bundle/base:v1")["manifest"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();
    for d in &base_layers {
        assert!(inv["blobs"].as_array().unwrap().iter().any(|b| b == d));
    }

    let full = tmp.path().join("app-full.tar.zst");
    let delta = tmp.path().join("app-delta.tar.zst");
    sealer(&factory, &["save", "-o", s(&full), "bundle/app:v2"]).ok();
    let run = sealer(
        &factory,
        &[
            "save",
            "--since",
            s(&inv_path),
            "-o",
            s(&delta),
            "bundle/app:v2",
        ],
    )
    .ok();
    let full_size = std::fs::metadata(&full).unwrap().len();
    let delta_size = std::fs::metadata(&delta).unwrap().len();
    println!("full bundle {full_size} bytes, delta bundle {delta_size} bytes");
    println!("{}", run.stderr.trim());
    assert!(run.stderr.contains("left out"), "{}", run.stderr);
    assert!(delta_size < (300 << 10), "delta is {delta_size} bytes");
    assert!(full_size > (3 << 20), "full is {full_size} bytes");

    // At the site, with the network cut: loads from delta + what it holds.
    let cut = can_cut_network();
    load_offline(&site, &delta, cut).ok();
    assert_eq!(
        inspect(&site, "bundle/app:v2"),
        inspect(&factory, "bundle/app:v2")
    );
    sealer(&site, &["fsck"]).ok();

    // Split delta too.
    let site2 = tmp.path().join("site2");
    sealer(&site2, &["load", "-i", s(&full_base)]).ok();
    let split = tmp.path().join("split-delta.tar");
    sealer(
        &factory,
        &[
            "save",
            "--since",
            s(&inv_path),
            "--split",
            "100K",
            "-o",
            s(&split),
            "bundle/app:v2",
        ],
    )
    .ok();
    load_offline(&site2, &split, cut).ok();
    assert_eq!(images(&site2), images(&site));

    // Somewhere without the base: fails naming the missing layer, changes nothing.
    let empty = tmp.path().join("empty");
    sealer(&empty, &["images"]).ok();
    let before = store_state(&empty);
    let run = sealer(&empty, &["load", "-i", s(&delta)]);
    assert!(!run.status.success());
    eprintln!("{}", run.stderr.trim());
    for d in &base_layers {
        assert!(
            run.stderr.contains(d.as_str()),
            "{d} not named: {}",
            run.stderr
        );
    }
    assert_eq!(store_state(&empty), before);
}

#[test]
fn inventory_includes_registry_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let hex = "ab".repeat(32);
    let reg = tmp.path().join("rootfs/registry");
    let blob = reg.join(format!("docker/registry/v2/blobs/sha256/ab/{hex}"));
    std::fs::create_dir_all(&blob).unwrap();
    std::fs::write(blob.join("data"), b"x").unwrap();
    let root = tmp.path().join("store");
    let run = sealer(&root, &["inventory", "-o", "-", "--registry-dir", s(&reg)]).ok();
    let inv: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(inv["blobs"], serde_json::json!([format!("sha256:{hex}")]));
    let run = sealer(
        &root,
        &[
            "inventory",
            "-o",
            "-",
            "--registry-dir",
            s(&tmp.path().join("rootfs/nothing")),
        ],
    );
    assert!(!run.status.success());
    assert!(
        run.stderr.contains("not a registry directory"),
        "{}",
        run.stderr
    );
    // --split needs a real file name.
    let run = sealer(&root, &["save", "-o", "-", "--split", "1M", "x:v1"]);
    assert!(
        run.stderr.contains("--split writes numbered files"),
        "{}",
        run.stderr
    );
    let run = sealer(&root, &["save", "-o", "x.tar", "--split", "12X", "x:v1"]);
    assert!(run.stderr.contains("invalid size"), "{}", run.stderr);
}
