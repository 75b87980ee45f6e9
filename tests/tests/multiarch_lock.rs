//! Issue 5: multi-platform images (an OCI index) and Kubefile.lock.

mod common;
use common::daemons::*;
use common::*;
use std::path::Path;

fn multi_arch_fixture(dir: &Path) {
    // sealer's build_with_multi_arch fixture.
    write_files(
        dir,
        &[
            ("Kubefile", "FROM scratch\nCOPY ${ARCH} .\n"),
            ("amd64/bin/i_am_amd64", "amd64\n"),
            ("arm64/bin/i_am_arm64", "arm64\n"),
        ],
    );
}

fn layer_files(root: &Path, name: &str, platform: &str, work: &Path) -> String {
    let doc = {
        let run = sealer(root, &["inspect", "--platform", platform, name]).ok();
        serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap()
    };
    assert_eq!(
        doc["config"]["architecture"],
        platform.split('/').nth(1).unwrap()
    );
    let layout = saved_layout(
        root,
        name,
        &work.join(format!("layout-{}", platform.replace('/', "-"))),
    );
    let mut out = String::new();
    for l in doc["manifest"]["layers"].as_array().unwrap() {
        let hex = l["digest"].as_str().unwrap().trim_start_matches("sha256:");
        out += &run_tool(
            "tar",
            &[
                "-tf",
                layout.join("blobs/sha256").join(hex).to_str().unwrap(),
            ],
        );
    }
    out
}

#[test]
fn multi_arch_fixture_builds_an_index_each_instance_holding_only_its_marker() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    multi_arch_fixture(&ctx);
    let root = tmp.path().join("store");
    let digest = sealer(
        &root,
        &[
            "build",
            "--platform",
            "linux/amd64,linux/arm64",
            "-t",
            "multi:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok()
    .stdout;
    let doc = inspect(&root, "multi:v1");
    assert_eq!(doc["digest"].as_str().unwrap(), digest.trim());
    let platforms: Vec<String> = doc["index"]["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(platforms, vec!["amd64", "arm64"]);
    let amd = layer_files(&root, "multi:v1", "linux/amd64", tmp.path());
    let arm = layer_files(&root, "multi:v1", "linux/arm64", tmp.path());
    assert!(
        amd.contains("bin/i_am_amd64") && !amd.contains("i_am_arm64"),
        "{amd}"
    );
    assert!(
        arm.contains("bin/i_am_arm64") && !arm.contains("i_am_amd64"),
        "{arm}"
    );

    // save/load keep the index.
    let archive = tmp.path().join("multi.tar");
    sealer(
        &root,
        &["save", "-o", archive.to_str().unwrap(), "multi:v1"],
    )
    .ok();
    let fresh = tmp.path().join("fresh");
    sealer(&fresh, &["load", "-i", archive.to_str().unwrap()]).ok();
    assert_eq!(inspect(&fresh, "multi:v1")["digest"], doc["digest"]);

    // RUN for a foreign platform needs a binfmt handler.
    let run_ctx = tmp.path().join("run");
    write_files(&run_ctx, &[("Kubefile", "FROM scratch\nRUN echo hi > x\n")]);
    let registered = std::fs::read_dir("/proc/sys/fs/binfmt_misc")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().contains("aarch64"))
        })
        .unwrap_or(false);
    if !registered && std::env::consts::ARCH == "x86_64" {
        let failed = sealer(
            &root,
            &[
                "build",
                "--platform",
                "linux/arm64",
                "-t",
                "run:v1",
                run_ctx.to_str().unwrap(),
            ],
        );
        assert!(!failed.status.success());
        assert!(
            failed.stderr.contains("Kubefile:2:1") && failed.stderr.contains("binfmt_misc"),
            "{}",
            failed.stderr
        );
    }
}

#[test]
fn multi_arch_embedding_push_and_lockfile() {
    if !(have("docker-registry") && have("skopeo")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path();
    let (mut up, upstream) = docker_registry(&w.join("up"), false, &w.join("logs"));
    // A multi-arch container image, built and pushed with sealer itself.
    let img = w.join("img");
    multi_arch_fixture(&img);
    let publisher = w.join("publisher");
    let source = format!("{upstream}/library/tool:v1");
    sealer(
        &publisher,
        &[
            "build",
            "--cluster",
            "none",
            "--platform",
            "linux/amd64,linux/arm64",
            "-t",
            &source,
            img.to_str().unwrap(),
        ],
    )
    .ok();
    sealer(&publisher, &["push", &source]).ok();
    let raw = run_tool(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{source}"),
        ],
    );
    let index: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let raw_source = raw.clone();
    assert_eq!(
        index["manifests"].as_array().unwrap().len(),
        2,
        "pushed index: {raw}"
    );

    let ctx = w.join("ctx");
    write_files(
        &ctx,
        &[
            ("Kubefile", "FROM scratch\nCOPY imageList manifests/\n"),
            ("imageList", "docker.io/library/tool:v1\n"),
        ],
    );
    let endpoint = format!("docker.io=http://{upstream}");
    let root = w.join("store");
    let build = |root: &Path, extra: &[&str]| {
        let mut args = vec![
            "build",
            "--registry-endpoint",
            &endpoint,
            "--platform",
            "linux/amd64,linux/arm64",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-t", "cluster:v1", ctx.to_str().unwrap()]);
        sealer(root, &args)
    };
    let first = build(&root, &[]).ok();
    // Each platform embeds its own child of the multi-arch source.
    let amd = layer_files(&root, "cluster:v1", "linux/amd64", w);
    let arm = layer_files(&root, "cluster:v1", "linux/arm64", w);
    assert!(
        amd.contains("registry/docker/registry/v2/repositories/docker.io/library/tool"),
        "{amd}"
    );
    assert_ne!(amd, arm, "platforms embed different children");
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ctx.join("Kubefile.lock")).unwrap()).unwrap();
    let pinned = lock["images"]["linux/arm64"]["docker.io/library/tool:v1"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        pinned,
        lock["images"]["linux/amd64"]["docker.io/library/tool:v1"]
            .as_str()
            .unwrap()
    );
    assert!(pinned.starts_with("sha256:"));

    // Same inputs + same lock on another store root: byte-identical index.
    let second = build(&w.join("store2"), &["--locked"]).ok();
    assert_eq!(first.stdout, second.stdout);

    // Push the cluster image's index; skopeo sees both platforms.
    let target = format!("{upstream}/cluster/app:v1");
    sealer(&root, &["tag", "cluster:v1", &target]).ok();
    sealer(&root, &["push", &target]).ok();
    let raw = run_tool(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{target}"),
        ],
    );
    let pushed: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let archs: Vec<&str> = pushed["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, vec!["amd64", "arm64"]);

    // Each platform's embedded registry, served straight from the store: the source's index
    // byte for byte under its tag, and only that platform's child behind it.
    let children = index["manifests"].as_array().unwrap();
    for child in children {
        let arch = child["platform"]["architecture"].as_str().unwrap();
        let (_served, addr) = sealer_registry_image(
            &root,
            "cluster:v1",
            &format!("linux/{arch}"),
            &w.join("logs"),
        );
        let served = run_tool(
            "skopeo",
            &[
                "inspect",
                "--raw",
                "--tls-verify=false",
                &format!("docker://{addr}/docker.io/library/tool:v1"),
            ],
        );
        assert_eq!(served, raw_source, "{arch}: the index as published");
        for other in children {
            let path = format!(
                "/v2/docker.io/library/tool/manifests/{}",
                other["digest"].as_str().unwrap()
            );
            let want = if other == child { 200 } else { 404 };
            assert_eq!(
                http_status(&addr, &path),
                Some(want),
                "{arch} serving {path}"
            );
        }
    }

    // A locked rebuild resolves no tags: it works with the upstream gone.
    up.stop();
    let third = build(&root, &["--locked", "--no-cache"]).ok();
    assert_eq!(first.stdout, third.stdout);
    // --locked refuses what the lockfile does not pin.
    std::fs::write(
        ctx.join("imageList"),
        "docker.io/library/tool:v1\ndocker.io/library/other:v2\n",
    )
    .unwrap();
    let refused = build(&root, &["--locked"]);
    assert!(!refused.status.success());
    assert!(
        refused.stderr.contains("other:v2") && refused.stderr.contains("Kubefile.lock"),
        "{}",
        refused.stderr
    );
}
