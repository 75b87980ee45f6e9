//! Unit tests of `maintenance`.

use super::*;

#[test]
fn dead_owners_are_removed_live_ones_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let mounts = tmp.path().join("mounts");
    // PID 0x7fffffff cannot exist (above pid_max); our own PID does.
    let dead = mounts.join("2147483646-0-00000000");
    let live = mounts.join(format!("{}-1-00000000", std::process::id()));
    std::fs::create_dir_all(dead.join("upper/x")).unwrap();
    std::fs::create_dir_all(&live).unwrap();
    std::fs::create_dir_all(tmp.path().join("layers/abc")).unwrap();
    assert_eq!(remove_stale_snapshots(tmp.path()).unwrap(), 1);
    assert!(!dead.exists());
    assert!(live.exists());
    clear_caches(tmp.path()).unwrap();
    assert!(!tmp.path().join("layers").exists());
    assert!(live.exists());
}
