//! The snapshotter traits and the helpers both implementations share.

use crate::apply::{ApplyMode, apply_layer_digest, make_writable};
use crate::error::SnapshotError;
use crate::layer::DiffSource;
use crate::sys;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// One layer of a chain: its diffID, media type and the blob file in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerBlobRef {
    /// `sha256:<hex>` of the uncompressed tar; verified while the blob is applied.
    pub diff_id: String,
    pub media_type: String,
    pub path: PathBuf,
}

pub trait Snapshotter: Send + Sync {
    /// A writable root filesystem whose content is `chain` (layer blobs, bottom first) applied
    /// in order.
    fn prepare(&self, chain: &[LayerBlobRef]) -> Result<Box<dyn ActiveSnapshot>, SnapshotError>;
    fn name(&self) -> &'static str;
}

pub trait ActiveSnapshot: Send {
    fn rootfs(&self) -> &Path;
    /// The changes made since prepare, as a DiffSource (upper dir or walk diff).
    fn diff(&self) -> Result<Box<dyn DiffSource + '_>, SnapshotError>;
    /// Tear down (unmount, delete work dirs). Also done on Drop.
    fn release(self: Box<Self>) -> Result<(), SnapshotError>;
}

/// The hex part of a `sha256:<64 hex>` diffID (safe to use as a file name).
pub(crate) fn diff_id_hex(diff_id: &str) -> Result<&str, SnapshotError> {
    let hex = diff_id
        .strip_prefix("sha256:")
        .filter(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
        .ok_or_else(|| SnapshotError::InvalidDiffId(diff_id.to_string()))?;
    Ok(hex)
}

/// Apply one blob onto `dest` and check that its content matches the recorded diffID.
pub(crate) fn apply_verified(
    layer: &LayerBlobRef,
    dest: &Path,
    mode: ApplyMode,
) -> Result<(), SnapshotError> {
    diff_id_hex(&layer.diff_id)?;
    let file =
        File::open(&layer.path).map_err(SnapshotError::io("opening layer blob", &layer.path))?;
    let actual = apply_layer_digest(file, &layer.media_type, dest, mode)?;
    if actual != layer.diff_id {
        return Err(SnapshotError::DiffIdMismatch {
            path: layer.path.clone(),
            expected: layer.diff_id.clone(),
            actual,
        });
    }
    Ok(())
}

/// A name unique within this state dir across processes and calls.
pub(crate) fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}-{n}-{nanos:08x}", std::process::id())
}

/// Delete a snapshot tree, but never through a mount point: leftover mounts below it (e.g. from
/// a sandbox) are detached first, and if that fails nothing is deleted.
pub(crate) fn remove_tree(dir: &Path) -> Result<(), SnapshotError> {
    for m in sys::mounts_below(dir) {
        let _ = sys::umount(&m, true);
    }
    if let Some(m) = sys::mounts_below(dir).first() {
        return Err(SnapshotError::Unmount {
            target: m.clone(),
            source: std::io::Error::other(format!("still mounted; not deleting {}", dir.display())),
        });
    }
    make_writable(dir);
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(SnapshotError::io("removing snapshot", dir)(e))
        }
        _ => Ok(()),
    }
}

pub(crate) fn create_dirs(path: &Path) -> Result<(), SnapshotError> {
    std::fs::create_dir_all(path).map_err(SnapshotError::io("creating", path))
}

#[cfg(test)]
#[path = "tests/snapshot.rs"]
mod tests;
