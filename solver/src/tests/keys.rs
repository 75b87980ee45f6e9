//! Unit tests of `keys`.

use super::*;
use crate::graph::{CopyOp, CopySource};

#[test]
fn key_changes_with_each_part() {
    let op = Op::Copy(CopyOp {
        sources: vec![CopySource::Context { path: "a".into() }],
        dest: "m/".into(),
        extract_archives: false,
    });
    let base = cache_key(&op, &["sha256:1".into()], Some("c1"), "zstd");
    assert_eq!(
        base,
        cache_key(&op, &["sha256:1".into()], Some("c1"), "zstd")
    );
    assert_ne!(
        base,
        cache_key(&op, &["sha256:2".into()], Some("c1"), "zstd")
    );
    assert_ne!(
        base,
        cache_key(&op, &["sha256:1".into()], Some("c2"), "zstd")
    );
    assert_ne!(
        base,
        cache_key(&op, &["sha256:1".into()], Some("c1"), "gzip")
    );
    assert_ne!(base, cache_key(&Op::Scratch, &[], None, "zstd"));
}
