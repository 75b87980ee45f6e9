//! Unit tests of `rootfs::manifest`.

use super::*;

#[test]
fn scan_lists_and_hashes() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("bin")).unwrap();
    std::fs::write(d.path().join("bin/a"), b"hello").unwrap();
    std::os::unix::fs::symlink("a", d.path().join("bin/b")).unwrap();
    std::fs::write(d.path().join("z"), b"").unwrap();
    let m = Manifest::scan(d.path()).unwrap();
    let paths: Vec<&str> = m.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["bin", "bin/a", "bin/b", "z"]);
    assert_eq!(
        m.get("bin/a").unwrap().kind,
        EntryKind::File {
            size: 5,
            digest: hash_bytes(b"hello")
        }
    );
    assert_eq!(
        m.get("bin/b").unwrap().kind,
        EntryKind::Symlink { target: "a".into() }
    );
    assert_eq!(m.total_bytes(), 5);
}
