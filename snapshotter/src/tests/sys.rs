//! Unit tests of `sys`.

use super::*;

#[test]
fn mountinfo_unescaping() {
    assert_eq!(
        unescape_mountinfo("/a\\040b\\134c"),
        std::path::PathBuf::from("/a b\\c")
    );
    assert!(mounts_below(Path::new("/proc")).contains(&std::path::PathBuf::from("/proc")));
}
