//! Snapshotter round trips: prepare(chain) → change files → diff → layer → apply onto the old
//! tree gives the new tree.

mod common;

use common::*;
use sealer_snapshotter::{
    ApplyMode, CopyDiff, CopyEntry, CopySnapshotter, LayerBlobRef, OverlaySnapshotter,
    SnapshotError, Snapshotter, apply_layer,
};
use std::fs;
use std::io::BufReader;
use std::path::Path;

fn base_chain(blobs: &Path) -> (Vec<LayerBlobRef>, tempfile::TempDir) {
    let src = tempfile::tempdir().unwrap();
    sample_tree(src.path());
    write(&src.path().join("gone-dir/child/f"), b"bye");
    write(&src.path().join("gone-file"), b"bye");
    write(&src.path().join("opaque/old1"), b"old");
    write(&src.path().join("opaque/old2"), b"old");
    write(&src.path().join("type/was-file"), b"file");
    write(&src.path().join("type/was-dir/inner"), b"dir");
    let l1 = blob(
        &CopyDiff::new(vec![CopyEntry {
            host_path: src.path().to_path_buf(),
            dest: String::new(),
        }]),
        blobs,
        "l1",
    );
    // A second layer on top, with a whiteout, so the chain has real stacking.
    let upper = tempfile::tempdir().unwrap();
    write(&upper.path().join("etc/app.conf"), b"key=layer2\n");
    write(&upper.path().join("layer2-only"), b"2");
    let l2 = blob(
        &CopyDiff::new(vec![CopyEntry {
            host_path: upper.path().to_path_buf(),
            dest: String::new(),
        }]),
        blobs,
        "l2",
    );
    (vec![l1, l2], src)
}

/// The changes a RUN step might make.
fn mutate(root: &Path) {
    write(&root.join("etc/app.conf"), b"key=changed\n");
    fs::remove_file(root.join("gone-file")).unwrap();
    fs::remove_dir_all(root.join("gone-dir")).unwrap();
    write(&root.join("new/dir/file"), b"added");
    chmod(&root.join("bin/tool"), 0o700);
    fs::remove_file(root.join("type/was-file")).unwrap();
    fs::create_dir(root.join("type/was-file")).unwrap();
    write(&root.join("type/was-file/x"), b"x");
    fs::remove_dir_all(root.join("type/was-dir")).unwrap();
    write(&root.join("type/was-dir"), b"now a file");
    fs::remove_file(root.join("bin/conf-link")).unwrap();
    std::os::unix::fs::symlink("tool", root.join("bin/conf-link")).unwrap();
    fs::remove_dir_all(root.join("opaque")).unwrap();
    write(&root.join("opaque/fresh"), b"fresh");
    fs::hard_link(root.join("new/dir/file"), root.join("new/hard")).unwrap();
}

fn apply_chain(chain: &[LayerBlobRef], dest: &Path) {
    for l in chain {
        let f = BufReader::new(fs::File::open(&l.path).unwrap());
        apply_layer(f, &l.media_type, dest, ApplyMode::Plain).unwrap();
    }
}

fn round_trip(snap: &dyn Snapshotter) {
    let blobs = tempfile::tempdir().unwrap();
    let (chain, _src) = base_chain(blobs.path());
    let active = snap.prepare(&chain).unwrap();
    let expected_base = tempfile::tempdir().unwrap();
    apply_chain(&chain, expected_base.path());
    assert_eq!(tree(active.rootfs()), tree(expected_base.path()));
    assert_eq!(
        fs::read(active.rootfs().join("etc/app.conf")).unwrap(),
        b"key=layer2\n"
    );

    mutate(active.rootfs());
    let diff = active.diff().unwrap();
    let l3 = blob(diff.as_ref(), blobs.path(), "l3");
    drop(diff);
    let after = tree(active.rootfs());

    let replay = tempfile::tempdir().unwrap();
    apply_chain(&chain, replay.path());
    apply_chain(std::slice::from_ref(&l3), replay.path());
    assert_eq!(tree(replay.path()), after);

    // The new layer stacks in a fresh snapshot too.
    let mut chain3 = chain.clone();
    chain3.push(l3.clone());
    let again = snap.prepare(&chain3).unwrap();
    assert_eq!(tree(again.rootfs()), after);
    // Nothing changed: an empty diff.
    let (stats, _) = layer_bytes(
        again.diff().unwrap().as_ref(),
        sealer_snapshotter::Compression::None,
        &Default::default(),
    );
    assert_eq!(stats.entries, 0);
    let root = active.rootfs().to_path_buf();
    active.release().unwrap();
    assert!(!root.exists(), "release must remove the snapshot");
    drop(again);
}

#[test]
fn copy_snapshotter_round_trip() {
    let state = tempfile::tempdir().unwrap();
    let snap = CopySnapshotter::new(state.path()).unwrap();
    assert_eq!(snap.name(), "copy");
    round_trip(&snap);
    let left: Vec<_> = fs::read_dir(state.path().join("copies")).unwrap().collect();
    assert!(left.is_empty(), "dropped snapshots must be cleaned up");
}

#[test]
fn copy_snapshotter_rejects_corrupt_blobs() {
    let blobs = tempfile::tempdir().unwrap();
    let (mut chain, _src) = base_chain(blobs.path());
    chain[1].diff_id = chain[0].diff_id.clone();
    let state = tempfile::tempdir().unwrap();
    let snap = CopySnapshotter::new(state.path()).unwrap();
    let err = snap.prepare(&chain).err().unwrap();
    assert!(matches!(err, SnapshotError::DiffIdMismatch { .. }), "{err}");
}

fn overlay_or_skip(state: &Path) -> Option<OverlaySnapshotter> {
    if !is_root() {
        eprintln!("skipping overlay test: not root");
        return None;
    }
    if !OverlaySnapshotter::supported(state) {
        eprintln!("skipping overlay test: overlay mounts are not supported here");
        return None;
    }
    Some(OverlaySnapshotter::new(state).unwrap())
}

#[test]
fn overlay_snapshotter_round_trip() {
    let state = tempfile::tempdir().unwrap();
    let Some(snap) = overlay_or_skip(state.path()) else {
        return;
    };
    assert_eq!(snap.name(), "overlayfs");
    round_trip(&snap);
    // Layers are unpacked once, content-addressed.
    let layers: Vec<_> = fs::read_dir(state.path().join("layers")).unwrap().collect();
    assert_eq!(layers.len(), 3);
    let mounts: Vec<_> = fs::read_dir(state.path().join("mounts")).unwrap().collect();
    assert!(
        mounts.is_empty(),
        "released snapshots must be unmounted and removed"
    );
}

#[test]
fn overlay_snapshotter_flattens_long_chains() {
    let state = tempfile::tempdir().unwrap();
    let Some(snap) = overlay_or_skip(state.path()) else {
        return;
    };
    let blobs = tempfile::tempdir().unwrap();
    let mut chain = Vec::new();
    for i in 0..75 {
        let src = tempfile::tempdir().unwrap();
        write(
            &src.path().join(format!("layer{i:02}")),
            format!("{i}").as_bytes(),
        );
        write(&src.path().join("shared"), format!("{i}").as_bytes());
        chain.push(blob(
            &CopyDiff::new(vec![CopyEntry {
                host_path: src.path().to_path_buf(),
                dest: String::new(),
            }]),
            blobs.path(),
            &format!("l{i}"),
        ));
    }
    let active = snap.prepare(&chain).unwrap();
    assert_eq!(fs::read(active.rootfs().join("shared")).unwrap(), b"74");
    assert_eq!(fs::read(active.rootfs().join("layer00")).unwrap(), b"0");
    assert_eq!(fs::read(active.rootfs().join("layer74")).unwrap(), b"74");
    let expected = tempfile::tempdir().unwrap();
    apply_chain(&chain, expected.path());
    assert_eq!(tree(active.rootfs()), tree(expected.path()));
    assert_eq!(fs::read_dir(state.path().join("flat")).unwrap().count(), 1);
    active.release().unwrap();
}

#[test]
fn release_never_deletes_through_a_leftover_mount() {
    if !is_root() {
        eprintln!("skipping: bind mounts need root");
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let snap = CopySnapshotter::new(state.path()).unwrap();
    let active = snap.prepare(&[]).unwrap();
    let host = tempfile::tempdir().unwrap();
    write(&host.path().join("precious"), b"keep me");
    let target = active.rootfs().join("mnt");
    fs::create_dir(&target).unwrap();
    let c = |p: &Path| std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    let (src, dst) = (c(host.path()), c(&target));
    // SAFETY: valid C strings; a plain bind mount.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(
        rc,
        0,
        "bind mount failed: {}",
        std::io::Error::last_os_error()
    );
    active.release().unwrap();
    assert_eq!(fs::read(host.path().join("precious")).unwrap(), b"keep me");
}
