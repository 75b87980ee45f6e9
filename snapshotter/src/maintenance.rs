//! Housekeeping of a snapshot state directory: snapshots left by processes that died (a
//! SIGKILLed build leaves its overlay mount and work dirs), and the regenerable caches.

use crate::error::SnapshotError;
use crate::snapshot::remove_tree;
use std::path::Path;

/// Directories holding one entry per prepared snapshot, named `<pid>-<n>-<nanos>`.
const PER_SNAPSHOT_DIRS: [&str; 3] = ["mounts", "copies", "tmp"];
/// Content-addressed caches: safe to drop when no build is running.
const CACHE_DIRS: [&str; 2] = ["layers", "flat"];

fn owner_alive(name: &str) -> bool {
    match name.split('-').next().and_then(|p| p.parse::<u32>().ok()) {
        Some(pid) => pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists(),
        // Not ours to judge: keep it.
        None => true,
    }
}

/// Unmount and delete snapshots whose owning process is gone. Returns how many were removed.
/// Safe while other builds run: only dead owners' entries are touched.
pub fn remove_stale_snapshots(state_dir: &Path) -> Result<usize, SnapshotError> {
    let mut removed = 0;
    for sub in PER_SNAPSHOT_DIRS {
        let dir = state_dir.join(sub);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().to_string();
            if owner_alive(&name) {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                remove_tree(&path)?;
            } else {
                std::fs::remove_file(&path).map_err(SnapshotError::io("removing", &path))?;
            }
            removed += 1;
        }
    }
    Ok(removed)
}

/// Drop unpacked layers and flattened chains. Call only while no build can use them (the
/// store's exclusive lease is held).
pub fn clear_caches(state_dir: &Path) -> Result<(), SnapshotError> {
    remove_stale_snapshots(state_dir)?;
    for sub in CACHE_DIRS {
        let dir = state_dir.join(sub);
        if dir.exists() {
            remove_tree(&dir)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests/maintenance.rs"]
mod tests;
