//! WalkDiff and UpperDirDiff output, read back as a tar listing.

mod common;

use common::*;
use sealer_snapshotter::{Compression, Manifest, TarOptions, UpperDirDiff, WalkDiff};
use std::fs;
use std::path::Path;

fn listing(bytes: &[u8]) -> Vec<String> {
    read_tar(bytes)
        .into_iter()
        .map(|e| match e.link {
            Some(l) => format!("{} {} -> {l}", e.kind as char, e.path),
            None => format!("{} {}", e.kind as char, e.path),
        })
        .collect()
}

fn tar_tv(bytes: &[u8], dir: &Path) -> Option<String> {
    if !tool_exists("tar") {
        eprintln!("skipping `tar -tvf`: tar not installed");
        return None;
    }
    let f = dir.join("layer.tar");
    fs::write(&f, bytes).unwrap();
    let out = std::process::Command::new("tar")
        .arg("-tvf")
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn walk_diff_emits_changes_parents_and_whiteouts() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    write(&root.join("keep/same"), b"same");
    write(&root.join("keep/edit"), b"v1");
    write(&root.join("keep/deep/gone-dir/x"), b"x");
    write(&root.join("gone"), b"bye");
    write(&root.join("untouched/file"), b"u");
    let before = Manifest::scan(&root).unwrap();
    assert_eq!(before.len(), 9);

    write(&root.join("keep/edit"), b"version 2");
    fs::remove_dir_all(root.join("keep/deep/gone-dir")).unwrap();
    fs::remove_file(root.join("gone")).unwrap();
    write(&root.join("added/new"), b"new");
    fs::hard_link(root.join("added/new"), root.join("added/new2")).unwrap();

    let (stats, bytes) = layer_bytes(
        &WalkDiff::new(&before, &root),
        Compression::None,
        &TarOptions::default(),
    );
    assert_eq!(
        listing(&bytes),
        vec![
            "0 .wh.gone",
            "5 added/",
            "0 added/new",
            "1 added/new2 -> added/new",
            "5 keep/",
            "5 keep/deep/",
            "0 keep/deep/.wh.gone-dir",
            "0 keep/edit",
        ]
    );
    assert_eq!(stats.entries, 8);
    if let Some(tv) = tar_tv(&bytes, t.path()) {
        assert!(tv.contains("keep/deep/.wh.gone-dir"), "{tv}");
        assert!(tv.contains("added/new2 link to added/new"), "{tv}");
    }
}

#[test]
fn upper_dir_diff_turns_overlay_markers_into_whiteouts() {
    let t = tempfile::tempdir().unwrap();
    let upper = t.path().join("upper");
    write(&upper.join("etc/conf"), b"c");
    write(&upper.join("opq/inside"), b"i");
    // user.overlay.opaque is what unprivileged (userxattr) overlay mounts write.
    let opq = std::ffi::CString::new(upper.join("opq").to_str().unwrap()).unwrap();
    // SAFETY: valid C strings and a 1-byte value.
    let rc = unsafe {
        libc::lsetxattr(
            opq.as_ptr(),
            c"user.overlay.opaque".as_ptr(),
            b"y".as_ptr().cast(),
            1,
            0,
        )
    };
    let xattr_ok = rc == 0;
    if !xattr_ok {
        eprintln!("user xattrs unsupported here: opaque dir part of this test skipped");
    }
    if is_root() {
        let c = std::ffi::CString::new(upper.join("etc/removed").to_str().unwrap()).unwrap();
        // SAFETY: valid C string; creates a 0/0 char device, overlay's whiteout.
        assert_eq!(unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR, 0) }, 0);
    }
    let (_, bytes) = layer_bytes(
        &UpperDirDiff::new(&upper),
        Compression::None,
        &TarOptions::default(),
    );
    let got = listing(&bytes);
    let mut want = vec!["5 etc/"];
    if is_root() {
        want.push("0 etc/.wh.removed");
    }
    want.extend(["0 etc/conf", "5 opq/"]);
    if xattr_ok {
        want.push("0 opq/.wh..wh..opq");
    }
    want.push("0 opq/inside");
    assert_eq!(got, want);
}
