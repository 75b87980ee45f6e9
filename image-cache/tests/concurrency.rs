//! Several writers at once: threads with their own handles and child processes
//! (this test binary re-executed), plus a writer killed with SIGKILL mid-blob.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sealer_image_cache::Store;
use sealer_image_cache::gc::PruneOptions;

const ROLE: &str = "SEALER_IMAGE_CACHE_TEST_ROLE";
const ROOT: &str = "SEALER_IMAGE_CACHE_TEST_ROOT";
const PREFIX: &str = "SEALER_IMAGE_CACHE_TEST_PREFIX";
const PER_WRITER: usize = 12;

fn tag_many(root: &Path, prefix: &str) {
    let store = Store::open(root).unwrap();
    for i in 0..PER_WRITER {
        common::make_image(
            &store,
            &format!("localhost:5000/{prefix}:{i}"),
            format!("{prefix}-{i}").as_bytes(),
            i % 2 == 0,
        );
    }
}

/// Entry point for child processes; does nothing in a normal test run.
#[test]
fn child_entry() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let root = PathBuf::from(std::env::var(ROOT).unwrap());
    match role.as_str() {
        "tag" => tag_many(&root, &std::env::var(PREFIX).unwrap()),
        "hang-mid-blob" => {
            let store = Store::open(&root).unwrap();
            let _lease = store.lease().unwrap();
            let mut w = store.blob_writer().unwrap();
            w.write_all(&vec![1u8; 3 << 20]).unwrap();
            w.flush().unwrap();
            std::fs::write(root.join("..").join("child-ready"), b"1").unwrap();
            std::thread::sleep(Duration::from_secs(60));
            unreachable!("the parent kills this process");
        }
        other => panic!("unknown role {other}"),
    }
}

fn child(role: &str, root: &Path, prefix: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(ROOT, root)
        .env(PREFIX, prefix)
        .stdout(Stdio::null());
    c
}

fn assert_all_tags(store: &Store, prefixes: &[String]) {
    let names: Vec<String> = store
        .images()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names.len(), prefixes.len() * PER_WRITER, "{names:?}");
    for p in prefixes {
        for i in 0..PER_WRITER {
            let n = format!("localhost:5000/{p}:{i}");
            assert!(names.contains(&n), "lost tag {n}");
            assert!(store.resolve(&n).unwrap().is_some());
        }
    }
    let fsck = store.fsck().unwrap();
    assert!(fsck.is_clean(), "{:?}", fsck.damage);
    assert_eq!(fsck.orphans, 0);
    assert!(common::tmp_files(store).is_empty());
}

#[test]
fn threads_with_separate_handles_keep_every_tag() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    Store::open(&root).unwrap();
    let prefixes: Vec<String> = (0..4).map(|i| format!("thread{i}")).collect();
    let handles: Vec<_> = prefixes
        .iter()
        .cloned()
        .map(|p| {
            let root = root.clone();
            std::thread::spawn(move || tag_many(&root, &p))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_all_tags(&Store::open(&root).unwrap(), &prefixes);
}

#[test]
fn processes_keep_every_tag() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    // Children race to create the layout too.
    let prefixes: Vec<String> = (0..3).map(|i| format!("proc{i}")).collect();
    let children: Vec<_> = prefixes
        .iter()
        .map(|p| child("tag", &root, p).spawn().unwrap())
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_all_tags(&Store::open(&root).unwrap(), &prefixes);
}

#[test]
fn sigkilled_writer_leaves_no_blob_and_no_tag() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let store = Store::open(&root).unwrap();
    common::make_image(&store, "before:v1", b"before", false);
    let blobs_before = common::blob_count(&store);
    let mut c = child("hang-mid-blob", &root, "x").spawn().unwrap();
    let ready = dir.path().join("child-ready");
    let start = Instant::now();
    while !ready.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "child never got ready"
        );
        if let Some(status) = c.try_wait().unwrap() {
            panic!("child exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // While the child holds its lease, prune must not run.
    assert!(store.prune(&PruneOptions::default()).is_err());
    c.kill().unwrap(); // SIGKILL
    c.wait().unwrap();
    assert_eq!(common::blob_count(&store), blobs_before);
    let names: Vec<String> = store
        .images()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, vec!["docker.io/library/before:v1".to_string()]);
    let fsck = store.fsck().unwrap();
    assert!(fsck.is_clean(), "{:?}", fsck.damage);
    assert_eq!(
        fsck.temp_files, 1,
        "the killed writer's temp file is reported"
    );
    let report = store.prune(&PruneOptions::default()).unwrap();
    assert_eq!(report.removed_temp_files, 1);
    assert!(report.removed_bytes >= 3 << 20);
    assert_eq!(report.removed_blobs, 0);
    assert!(common::tmp_files(&store).is_empty());
}
