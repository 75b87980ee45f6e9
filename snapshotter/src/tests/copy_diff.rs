//! Unit tests of `copy_diff`.

use super::*;

#[test]
fn dest_normalisation() {
    assert_eq!(normalize_dest("/a//b/./c/").unwrap(), "a/b/c");
    assert_eq!(normalize_dest("").unwrap(), "");
    assert!(normalize_dest("a/../b").is_err());
}

#[test]
fn later_entries_win() {
    let mut m = BTreeMap::new();
    insert(&mut m, b"a/".to_vec(), Item::Implied);
    insert(&mut m, b"a/x".to_vec(), Item::Implied);
    insert(&mut m, b"a.b".to_vec(), Item::Implied);
    insert(&mut m, b"a".to_vec(), Item::Implied);
    let keys: Vec<_> = m.keys().cloned().collect();
    assert_eq!(keys, vec![b"a".to_vec(), b"a.b".to_vec()]);
    insert(&mut m, b"a/".to_vec(), Item::Implied);
    let keys: Vec<_> = m.keys().cloned().collect();
    assert_eq!(keys, vec![b"a.b".to_vec(), b"a/".to_vec()]);
}
