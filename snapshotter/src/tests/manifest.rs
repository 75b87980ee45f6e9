//! Unit tests of `manifest`.

use super::*;

#[test]
fn scan_records_tree() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("a/b")).unwrap();
    std::fs::write(t.path().join("a/b/f"), b"hello").unwrap();
    std::os::unix::fs::symlink("b/f", t.path().join("a/l")).unwrap();
    let m = Manifest::scan(t.path()).unwrap();
    assert_eq!(m.len(), 4);
    assert_eq!(m.get(Path::new("a")).unwrap().kind, EntryKind::Dir);
    let f = m.get(Path::new("a/b/f")).unwrap();
    assert_eq!((f.kind, f.size), (EntryKind::File, 5));
    let l = m.get(Path::new("a/l")).unwrap();
    assert_eq!(l.link_target.as_deref(), Some(Path::new("b/f")));
    assert!(m.get(Path::new("nope")).is_none());
}
