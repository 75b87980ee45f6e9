//! A SIGKILLed build leaves no partial image and no damage; concurrent builds into one
//! store do not corrupt it.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn sigkill_mid_build_leaves_no_partial_image() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    // A big incompressible file makes the layer write take a while; the RUN sleeps too.
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY big.bin data/\nRUN sleep 30\nCOPY small.txt etc/\n",
            ),
            ("small.txt", "s\n"),
        ],
    );
    let mut big = vec![0u8; 64 << 20];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for chunk in big.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(ctx.join("big.bin"), &big).unwrap();
    let root = tmp.path().join("store");
    // An existing image must survive untouched.
    let good = tmp.path().join("good");
    write_files(
        &good,
        &[
            ("Kubefile", "FROM scratch\nCOPY x manifests/\n"),
            ("x", "x\n"),
        ],
    );
    sealer(&root, &["build", "-t", "good:v1", good.to_str().unwrap()]).ok();

    for delay_ms in [150u64, 1500] {
        let mut child = Command::new(sealer_bin())
            .arg("--root")
            .arg(&root)
            .args([
                "build",
                "--no-cache",
                "--progress",
                "plain",
                "-t",
                "killed:v1",
            ])
            .arg(&ctx)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let images = sealer(&root, &["images", "--json"]).ok().stdout;
        assert!(!images.contains("killed"), "partial image listed: {images}");
        assert!(images.contains("good"), "{images}");
        let fsck = sealer(&root, &["fsck"]);
        assert!(
            fsck.status.success(),
            "fsck after kill at {delay_ms} ms: {}{}",
            fsck.stdout,
            fsck.stderr
        );
        sealer(&root, &["inspect", "good:v1"]).ok();
    }
    // The killed RUN's overlay mount is cleaned up by the next build, and prune drops the rest.
    sealer(&root, &["build", "-t", "good:v2", good.to_str().unwrap()]).ok();
    assert_eq!(
        mounts_under(&root),
        Vec::<String>::new(),
        "stale mounts after a new build"
    );
    sealer(&root, &["prune"]).ok();
    sealer(&root, &["fsck"]).ok();
    let left: Vec<_> = std::fs::read_dir(root.join("snapshots/mounts"))
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "snapshot dirs left: {left:?}");
}

/// Mount points below `dir` in this mount namespace.
fn mounts_under(dir: &std::path::Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let dir = dir.canonicalize().unwrap_or(dir.to_path_buf());
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&*dir.to_string_lossy()))
        .map(String::from)
        .collect()
}

#[test]
fn concurrent_builds_into_one_store() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let mut children = Vec::new();
    for i in 0..4 {
        let ctx = tmp.path().join(format!("ctx{i}"));
        let content = format!("n: {i}\n");
        write_files(
            &ctx,
            &[
                (
                    "Kubefile",
                    "FROM scratch\nCOPY shared.yaml manifests/\nCOPY own.yaml manifests/\n",
                ),
                ("shared.yaml", "shared\n"),
                ("own.yaml", &content),
            ],
        );
        children.push(
            Command::new(sealer_bin())
                .arg("--root")
                .arg(&root)
                .args(["build", "-t", &format!("conc/img:{i}")])
                .arg(&ctx)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for (i, out) in outputs.iter().enumerate() {
        assert!(
            out.status.success(),
            "build {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let images = sealer(&root, &["images", "--json"]).ok().stdout;
    for i in 0..4 {
        assert!(images.contains(&format!("conc/img:{i}")), "{images}");
    }
    sealer(&root, &["fsck"]).ok();
}
