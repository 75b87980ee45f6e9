//! Unit tests of `checksum`.

use super::*;

#[test]
fn checksum_ignores_mtime_but_not_content_or_mode() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("a"), "one").unwrap();
    let cache = ChecksumCache::in_memory();
    let c1 = source_checksum(&cache, &src).unwrap();
    filetime::set_file_mtime(src.join("a"), filetime::FileTime::from_unix_time(5, 0)).unwrap();
    assert_eq!(c1, source_checksum(&cache, &src).unwrap());
    std::fs::write(src.join("a"), "two").unwrap();
    let c2 = source_checksum(&cache, &src).unwrap();
    assert_ne!(c1, c2);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(src.join("a"), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_ne!(c2, source_checksum(&cache, &src).unwrap());
}

#[test]
fn stat_cache_persists_and_detects_changes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, "content").unwrap();
    filetime::set_file_mtime(&f, filetime::FileTime::from_unix_time(1000, 0)).unwrap();
    let cache_path = dir.path().join("cache.json");
    let cache = ChecksumCache::load(&cache_path);
    let meta = std::fs::metadata(&f).unwrap();
    let d = cache.file_digest(&f, &meta).unwrap();
    // ctime is "now", so the entry is racy and not remembered yet.
    cache.save().unwrap();
    assert_eq!(d, hash_file(&f).unwrap());
    // Same size, same (forced) mtime, new content: ctime differs, so it is re-hashed.
    std::fs::write(&f, "CONTENT").unwrap();
    filetime::set_file_mtime(&f, filetime::FileTime::from_unix_time(1000, 0)).unwrap();
    let meta2 = std::fs::metadata(&f).unwrap();
    assert_ne!(cache.file_digest(&f, &meta2).unwrap(), d);
}
