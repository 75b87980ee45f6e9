//! The store and saved archives are read by tools we did not write: umoci, skopeo,
//! oci-image-tool. Builds are reproducible across stores.

mod common;
use common::*;
use std::path::Path;

fn dashboard_like_context(dir: &Path) {
    write_files(
        dir,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY manifests manifests/\nCOPY bin/tool bin/\nCOPY imageList manifests/\nCMDS [\"kubectl apply -f manifests/\"]\n",
            ),
            ("manifests/dashboard.yaml", "kind: Deployment\n"),
            ("manifests/sub/extra.yaml", "kind: Service\n"),
            ("bin/tool", "#!/bin/sh\necho tool\n"),
            ("imageList", "docker.io/library/busybox:1.36\n"),
        ],
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("bin/tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every regular file under `dir`, relative, sorted, with content.
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read_to_string(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

fn expected_tree() -> Vec<(String, String)> {
    let mut t = vec![
        ("bin/tool".to_string(), "#!/bin/sh\necho tool\n".to_string()),
        (
            "manifests/dashboard.yaml".to_string(),
            "kind: Deployment\n".to_string(),
        ),
        (
            "manifests/imageList".to_string(),
            "docker.io/library/busybox:1.36\n".to_string(),
        ),
        (
            "manifests/sub/extra.yaml".to_string(),
            "kind: Service\n".to_string(),
        ),
    ];
    t.sort();
    t
}

#[test]
fn umoci_and_skopeo_read_store_and_archive() {
    if !(have("umoci") && have("skopeo") && is_root()) {
        eprintln!("SKIP: needs umoci, skopeo and root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    dashboard_like_context(&ctx);
    let root = tmp.path().join("store");
    let name = "docker.io/interop/dash:v1";
    // umoci 0.4.7 and oci-image-tool rc1 predate zstd layers: build gzip ones for them.
    sealer(
        &root,
        &[
            "build",
            "--build-mode",
            "lite",
            "--cluster",
            "none",
            "--progress",
            "plain",
            "--compression",
            "gzip",
            "-t",
            name,
            ctx.to_str().unwrap(),
        ],
    )
    .ok();

    // skopeo reads the store as an OCI layout.
    let raw = run_tool(
        "skopeo",
        &[
            "inspect",
            "--raw",
            &format!("oci:{}:{name}", root.display()),
        ],
    );
    let manifest: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 3);

    // umoci unpacks exactly the expected tree.
    let bundle = tmp.path().join("bundle");
    run_tool(
        "umoci",
        &[
            "unpack",
            "--image",
            &format!("{}:{name}", root.display()),
            bundle.to_str().unwrap(),
        ],
    );
    assert_eq!(tree(&bundle.join("rootfs")), expected_tree());
    let mode = std::fs::metadata(bundle.join("rootfs/bin/tool")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o755);

    // A saved archive is read by skopeo and unpacks to the same tree.
    let archive = tmp.path().join("dash.tar");
    sealer(&root, &["save", "-o", archive.to_str().unwrap(), name]).ok();
    let raw2 = run_tool(
        "skopeo",
        &[
            "inspect",
            "--raw",
            &format!("oci-archive:{}:{name}", archive.display()),
        ],
    );
    assert_eq!(raw, raw2, "the archive carries the same manifest bytes");
    let layout = tmp.path().join("layout");
    std::fs::create_dir(&layout).unwrap();
    run_tool(
        "tar",
        &[
            "-xf",
            archive.to_str().unwrap(),
            "-C",
            layout.to_str().unwrap(),
        ],
    );
    let bundle2 = tmp.path().join("bundle2");
    run_tool(
        "umoci",
        &[
            "unpack",
            "--image",
            &format!("{}:{name}", layout.display()),
            bundle2.to_str().unwrap(),
        ],
    );
    assert_eq!(tree(&bundle2.join("rootfs")), expected_tree());

    if have("oci-image-tool") {
        run_tool(
            "oci-image-tool",
            &["validate", "--type", "image", root.to_str().unwrap()],
        );
    }
}

#[test]
fn same_inputs_give_byte_identical_manifests_on_two_stores() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    dashboard_like_context(&ctx);
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let da = sealer(
        &a,
        &[
            "build",
            "--build-mode",
            "lite",
            "--cluster",
            "none",
            "--progress",
            "plain",
            "-t",
            "r/p:1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok()
    .stdout;
    // Touch every file: mtimes change, content does not.
    for f in ["manifests/dashboard.yaml", "bin/tool", "imageList"] {
        filetime_now(&ctx.join(f));
    }
    let db = sealer(
        &b,
        &[
            "build",
            "--build-mode",
            "lite",
            "--cluster",
            "none",
            "--progress",
            "plain",
            "-t",
            "r/p:1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok()
    .stdout;
    assert_eq!(da.trim(), db.trim());
    assert!(da.trim().starts_with("sha256:"));
    let ma = inspect(&a, "r/p:1");
    let mb = inspect(&b, "r/p:1");
    assert_eq!(ma["manifest"], mb["manifest"]);
    // Gzip layers too.
    let c = tmp.path().join("c");
    let d = tmp.path().join("d");
    let gc = sealer(
        &c,
        &[
            "build",
            "--build-mode",
            "lite",
            "--cluster",
            "none",
            "--compression",
            "gzip",
            "-t",
            "r/p:1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok()
    .stdout;
    let gd = sealer(
        &d,
        &[
            "build",
            "--build-mode",
            "lite",
            "--cluster",
            "none",
            "--compression",
            "gzip",
            "-t",
            "r/p:1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok()
    .stdout;
    assert_eq!(gc, gd);
    assert_ne!(gc, da, "gzip and zstd layers differ");
    let layers = inspect(&c, "r/p:1")["manifest"]["layers"].clone();
    assert!(layers[0]["mediaType"].as_str().unwrap().ends_with("+gzip"));
}

fn filetime_now(p: &Path) {
    let f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
    f.set_modified(std::time::SystemTime::now()).unwrap();
}

#[test]
fn image_commands_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    dashboard_like_context(&ctx);
    let root = tmp.path().join("store");
    let digest = sealer(
        &root,
        &[
            "build",
            "--build-mode",
            "lite",
            "--cluster",
            "none",
            "-t",
            "rt/img:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok()
    .stdout;
    sealer(&root, &["tag", "rt/img:v1", "rt/img:v2"]).ok();
    let list = sealer(&root, &["images", "--json"]).ok().stdout;
    let rows: serde_json::Value = serde_json::from_str(&list).unwrap();
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.ends_with("rt/img:v1")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("rt/img:v2")), "{names:?}");
    // save (zstd) → load into a fresh store → same digest.
    let archive = tmp.path().join("img.tar.zst");
    sealer(
        &root,
        &["save", "-o", archive.to_str().unwrap(), "rt/img:v1"],
    )
    .ok();
    let fresh = tmp.path().join("fresh");
    sealer(&fresh, &["load", "-i", archive.to_str().unwrap()]).ok();
    let loaded = inspect(&fresh, "rt/img:v1");
    assert_eq!(loaded["digest"].as_str().unwrap(), digest.trim());
    sealer(&fresh, &["fsck"]).ok();
    // rmi both names, prune: the store is empty of blobs again.
    sealer(&root, &["rmi", "rt/img:v1", "rt/img:v2"]).ok();
    assert!(!sealer(&root, &["inspect", "rt/img:v1"]).status.success());
    sealer(&root, &["prune"]).ok();
    let (_, blobs) = store_state(&root);
    assert!(blobs.is_empty(), "prune left {blobs:?}");
    // An unknown image is a clear error.
    let missing = sealer(&root, &["rmi", "nope:v1"]);
    assert!(!missing.status.success());
    assert!(missing.stderr.contains("nope"), "{}", missing.stderr);
}
