//! Unit tests of `context`.

use super::*;

#[test]
fn sources_are_cleaned_and_checked() {
    assert_eq!(normalize_source("./a//b/../c").unwrap(), "a/c");
    assert_eq!(normalize_source(".").unwrap(), ".");
    assert_eq!(normalize_source("a/..").unwrap(), ".");
    assert_eq!(normalize_source("../x"), Err(PathProblem::Escapes));
    assert_eq!(normalize_source("a/../../x"), Err(PathProblem::Escapes));
    assert_eq!(normalize_source("/etc/passwd"), Err(PathProblem::Absolute));
    assert_eq!(normalize_source(""), Err(PathProblem::Empty));
}

#[test]
fn destinations_are_rootfs_relative() {
    assert_eq!(normalize_dest("/manifests/").unwrap(), "manifests/");
    assert_eq!(normalize_dest("bin").unwrap(), "bin");
    assert_eq!(normalize_dest(".").unwrap(), "./");
    assert_eq!(normalize_dest("/").unwrap(), "./");
    assert_eq!(normalize_dest("a/./b/.").unwrap(), "a/b/");
    assert_eq!(normalize_dest("../x"), Err(PathProblem::Escapes));
    assert_eq!(basename("dir/sub/"), "sub");
    assert_eq!(basename("app.yaml"), "app.yaml");
}
