//! The portable snapshotter: apply the chain into a fresh directory, diff by walking.
//!
//! Works unprivileged (ownership and device nodes are skipped, directories keep u+rwx), so it
//! doubles as the test snapshotter for other crates: `CopySnapshotter::new(tempdir.path())`.

use crate::apply::ApplyMode;
use crate::error::SnapshotError;
use crate::layer::DiffSource;
use crate::manifest::Manifest;
use crate::snapshot::{
    ActiveSnapshot, LayerBlobRef, Snapshotter, apply_verified, create_dirs, remove_tree,
    unique_name,
};
use crate::walk_diff::WalkDiff;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct CopySnapshotter {
    dir: PathBuf,
}

impl CopySnapshotter {
    /// Snapshots live in `state_dir/copies/<id>/`.
    pub fn new(state_dir: &Path) -> Result<Self, SnapshotError> {
        let dir = state_dir.join("copies");
        create_dirs(&dir)?;
        // Canonical, so that mount points below snapshots can be recognised at teardown.
        let dir = dir
            .canonicalize()
            .map_err(SnapshotError::io("resolving", &dir))?;
        Ok(CopySnapshotter { dir })
    }
}

impl Snapshotter for CopySnapshotter {
    fn prepare(&self, chain: &[LayerBlobRef]) -> Result<Box<dyn ActiveSnapshot>, SnapshotError> {
        let dir = self.dir.join(unique_name());
        let rootfs = dir.join("rootfs");
        create_dirs(&rootfs)?;
        let mut active = CopyActive {
            dir,
            rootfs,
            manifest: Manifest::default(),
            released: false,
        };
        // On error `active` is dropped, which removes the half-built tree.
        for layer in chain {
            apply_verified(layer, &active.rootfs, ApplyMode::Plain)?;
        }
        active.manifest = Manifest::scan(&active.rootfs)?;
        Ok(Box::new(active))
    }

    fn name(&self) -> &'static str {
        "copy"
    }
}

struct CopyActive {
    dir: PathBuf,
    rootfs: PathBuf,
    manifest: Manifest,
    released: bool,
}

impl CopyActive {
    fn teardown(&mut self) -> Result<(), SnapshotError> {
        if self.released {
            return Ok(());
        }
        remove_tree(&self.dir)?;
        self.released = true;
        Ok(())
    }
}

impl ActiveSnapshot for CopyActive {
    fn rootfs(&self) -> &Path {
        &self.rootfs
    }

    fn diff(&self) -> Result<Box<dyn DiffSource + '_>, SnapshotError> {
        Ok(Box::new(WalkDiff::new(&self.manifest, &self.rootfs)))
    }

    fn release(mut self: Box<Self>) -> Result<(), SnapshotError> {
        self.teardown()
    }
}

impl Drop for CopyActive {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}
