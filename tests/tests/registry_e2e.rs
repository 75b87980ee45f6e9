//! Issue 3 through the binary: embedding from two upstream registries, serving the embedded
//! registry with our server and with docker-registry, containerd pulling through mirrors with
//! every upstream stopped, and push/pull round trips.

mod common;
use common::daemons::*;
use common::*;
use std::path::Path;

fn extract_rootfs(root: &Path, name: &str, work: &Path) -> std::path::PathBuf {
    let layout = saved_layout(root, name, &work.join("layout"));
    let rootfs = work.join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    for l in inspect(root, name)["manifest"]["layers"]
        .as_array()
        .unwrap()
    {
        let hex = l["digest"].as_str().unwrap().trim_start_matches("sha256:");
        let blob = layout.join("blobs/sha256").join(hex);
        run_tool(
            "tar",
            &[
                "-xf",
                blob.to_str().unwrap(),
                "-C",
                rootfs.to_str().unwrap(),
            ],
        );
    }
    rootfs
}

#[test]
fn embedded_registry_serves_offline_to_skopeo_distribution_and_containerd() {
    if !(have("docker-registry") && have("skopeo")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path();
    let (mut up1, a1) = docker_registry(&w.join("up1"), false, &w.join("logs"));
    let (mut up2, a2) = docker_registry(&w.join("up2"), false, &w.join("logs"));
    // Same repository path on both upstreams, different content.
    publish(w, &format!("{a1}/library/bb:v1"), "from docker.io");
    publish(w, &format!("{a2}/library/bb:v1"), "from quay.io");
    publish(w, &format!("{a1}/team/tool:v2"), "tool");
    let upstream = [
        (
            "docker.io/library/bb:v1",
            skopeo_digest(&format!("{a1}/library/bb:v1")),
        ),
        (
            "quay.io/library/bb:v1",
            skopeo_digest(&format!("{a2}/library/bb:v1")),
        ),
        (
            "docker.io/team/tool:v2",
            skopeo_digest(&format!("{a1}/team/tool:v2")),
        ),
    ];
    assert_ne!(upstream[0].1, upstream[1].1);

    let ctx = w.join("ctx");
    write_files(
        &ctx,
        &[
            ("Kubefile", "FROM scratch\nCOPY imageList manifests/\n"),
            (
                "imageList",
                "docker.io/library/bb:v1\nquay.io/library/bb:v1\n# a comment\nteam/tool:v2\n",
            ),
        ],
    );
    let root = w.join("store");
    let ep1 = format!("docker.io=http://{a1}");
    let ep2 = format!("quay.io=http://{a2}");
    let build = |extra: &[&str]| {
        let mut args = vec![
            "build",
            "--progress",
            "plain",
            "--compression",
            "gzip",
            "--registry-endpoint",
            &ep1,
            "--registry-endpoint",
            &ep2,
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-t", "embed/test:v1", ctx.to_str().unwrap()]);
        sealer(&root, &args).ok()
    };
    let first = build(&[]);
    let doc = inspect(&root, "embed/test:v1");
    let listed: Vec<&str> = doc["containerImageList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["image"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        vec![
            "docker.io/library/bb:v1",
            "docker.io/team/tool:v2",
            "quay.io/library/bb:v1"
        ]
    );
    assert_eq!(
        doc["manifest"]["layers"].as_array().unwrap().len(),
        4,
        "COPY + one layer per image"
    );

    // An unchanged rebuild is fully cached and fetches nothing.
    let second = build(&[]);
    assert!(
        step_statuses(&second.stderr)
            .iter()
            .all(|(_, s)| s == "CACHED"),
        "{}",
        second.stderr
    );
    assert_eq!(first.stdout, second.stdout);

    // The same container image embedded by another cluster image gives the same layer.
    let ctx2 = w.join("ctx2");
    write_files(
        &ctx2,
        &[
            ("Kubefile", "FROM scratch\nCOPY other.txt etc/\n"),
            ("other.txt", "x"),
        ],
    );
    let list = w.join("list.txt");
    std::fs::write(&list, "docker.io/team/tool:v2\n").unwrap();
    sealer(
        &root,
        &[
            "build",
            "--compression",
            "gzip",
            "--registry-endpoint",
            &ep1,
            "--image-list",
            list.to_str().unwrap(),
            "-t",
            "embed/other:v1",
            ctx2.to_str().unwrap(),
        ],
    )
    .ok();
    let layers_of = |n: &str| -> Vec<String> {
        inspect(&root, n)["manifest"]["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_string())
            .collect()
    };
    let shared = layers_of("embed/other:v1")[1].clone();
    assert!(
        layers_of("embed/test:v1").contains(&shared),
        "tool layer deduplicated across cluster images"
    );

    let rootfs = extract_rootfs(&root, "embed/test:v1", w);
    let registry_dir = rootfs.join("registry");
    up1.stop();
    up2.stop();

    // (a) our server, (b) docker-registry read-only, over the same directory.
    let (_ours, ours) = sealer_registry(&registry_dir, true, &w.join("logs"));
    let (_theirs, theirs) = docker_registry(&registry_dir, true, &w.join("logs"));
    for (image, digest) in &upstream {
        for server in [&ours, &theirs] {
            let src = format!("docker://{server}/{image}");
            let dest = format!(
                "oci:{}:x",
                w.join(format!("copy-{}", server.replace(':', "_")))
                    .display()
            );
            run_tool("skopeo", &["copy", "--src-tls-verify=false", &src, &dest]);
            assert_eq!(
                &skopeo_digest(&format!("{server}/{image}")),
                digest,
                "{image} via {server}"
            );
        }
    }

    // containerd pulls docker.io/... and quay.io/... through hosts.toml mirrors.
    if have("containerd") && have("ctr") && is_root() {
        let (_ctrd, sock) = containerd(&w.join("ctrd"));
        let hosts = w.join("hosts");
        hosts_toml(&hosts, "docker.io", &ours);
        hosts_toml(&hosts, "quay.io", &ours);
        for (image, digest) in &upstream {
            run_tool(
                "ctr",
                &[
                    "--address",
                    sock.to_str().unwrap(),
                    "images",
                    "pull",
                    "--hosts-dir",
                    hosts.to_str().unwrap(),
                    image,
                ],
            );
            let ls = run_tool(
                "ctr",
                &["--address", sock.to_str().unwrap(), "images", "ls"],
            );
            assert!(
                ls.lines()
                    .any(|l| l.starts_with(image) && l.contains(digest.as_str())),
                "{image} {digest}:\n{ls}"
            );
        }
        let log = std::fs::read_dir(w.join("logs"))
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().starts_with("access-"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .unwrap_or_default();
        assert!(
            log.contains("quay.io"),
            "containerd's ?ns= was resolved:\n{log}"
        );
    }
}

#[test]
fn push_then_pull_into_a_fresh_store_and_repush_uploads_nothing() {
    if !(have("docker-registry") && have("skopeo")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path();
    let (_reg, addr) = docker_registry(&w.join("reg"), false, &w.join("logs"));
    let ctx = w.join("ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY a.yaml manifests/\nCOPY b.yaml manifests/\n",
            ),
            ("a.yaml", "a\n"),
            ("b.yaml", "b\n"),
        ],
    );
    let root = w.join("store");
    let name = format!("{addr}/team/cluster:v1");
    let digest = sealer(&root, &["build", "-t", &name, ctx.to_str().unwrap()])
        .ok()
        .stdout;
    let pushed = sealer(&root, &["push", &name]).ok();
    assert_eq!(pushed.stdout.trim(), digest.trim());
    assert!(pushed.stderr.contains("3 uploaded"), "{}", pushed.stderr);
    assert_eq!(
        skopeo_digest(&name),
        digest.trim(),
        "skopeo reads what we pushed"
    );
    let again = sealer(&root, &["push", &name]).ok();
    assert!(again.stderr.contains("0 uploaded"), "{}", again.stderr);

    let fresh = w.join("fresh");
    let pulled = sealer(&fresh, &["pull", &name]).ok();
    assert_eq!(pulled.stdout.trim(), digest.trim());
    assert_eq!(
        inspect(&fresh, &name)["imageExtension"],
        inspect(&root, &name)["imageExtension"]
    );
    sealer(&fresh, &["fsck"]).ok();

    // A cluster image built FROM the pushed image pulls its base on demand.
    let child = w.join("child");
    write_files(
        &child,
        &[
            (
                "Kubefile",
                &format!("FROM {name}\nCOPY c.yaml manifests/\n"),
            ),
            ("c.yaml", "c\n"),
        ],
    );
    let third = w.join("third");
    sealer(
        &third,
        &[
            "build",
            "--build-mode",
            "lite",
            "-t",
            "child:v1",
            child.to_str().unwrap(),
        ],
    )
    .ok();
    assert_eq!(
        inspect(&third, "child:v1")["manifest"]["layers"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
