//! The overlayfs snapshotter.
//!
//! Layout of the state dir:
//! - `layers/<hex>/`: each layer unpacked once per diffID in overlay form (whiteouts as 0/0
//!   char devices, opaque dirs by xattr), unpacked into `tmp/` and renamed into place;
//! - `flat/<chainid hex>/`: the bottom of a chain too long for one mount, flattened;
//! - `mounts/<id>/{upper,work,merged}`: one per prepared snapshot;
//! - `empty/`: the lower dir of a snapshot with an empty chain.
//!
//! Mounts use paths relative to `layers/` (from a thread with its own cwd), so about 60 layers
//! fit in the one-page option limit; longer chains have their bottom flattened.
//!
//! Layers are unpacked standalone: a layer entry that traverses a symlink created by a *lower*
//! layer is materialised below a real directory in this layer (BuildKit/overlay-produced layers
//! never contain such paths).

mod mount;

use crate::apply::{ApplyMode, make_writable};
use crate::error::SnapshotError;
use crate::layer::DiffSource;
use crate::snapshot::{
    ActiveSnapshot, LayerBlobRef, Snapshotter, apply_verified, create_dirs, diff_id_hex,
    remove_tree, unique_name,
};
use crate::upper_diff::UpperDirDiff;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct OverlaySnapshotter {
    state: PathBuf,
}

impl OverlaySnapshotter {
    pub fn new(state_dir: &Path) -> Result<Self, SnapshotError> {
        create_dirs(state_dir)?;
        let state = state_dir
            .canonicalize()
            .map_err(SnapshotError::io("resolving", state_dir))?;
        for sub in ["layers", "flat", "mounts", "tmp", "empty"] {
            create_dirs(&state.join(sub))?;
        }
        Ok(OverlaySnapshotter { state })
    }

    /// Whether overlay mounts (with whiteouts) work here: root and kernel support, probed once
    /// per state dir.
    pub fn supported(state_dir: &Path) -> bool {
        if create_dirs(state_dir).is_err() {
            return false;
        }
        match state_dir.canonicalize() {
            Ok(dir) => mount::supported(&dir),
            Err(_) => false,
        }
    }

    /// Where the layer with this diffID is (or would be) unpacked.
    pub fn layer_dir(&self, diff_id: &str) -> Result<PathBuf, SnapshotError> {
        Ok(self.state.join("layers").join(diff_id_hex(diff_id)?))
    }

    /// Unpack `layer` into `layers/<hex>` unless it is there already.
    fn ensure_layer(&self, layer: &LayerBlobRef) -> Result<String, SnapshotError> {
        let hex = diff_id_hex(&layer.diff_id)?.to_string();
        let dst = self.state.join("layers").join(&hex);
        if !dst.is_dir() {
            self.build_atomically(&dst, |tmp| apply_verified(layer, tmp, ApplyMode::Overlay))?;
        }
        Ok(hex)
    }

    /// Flatten `chain` (plain apply) into `flat/<chain id>`; returns the chain id hex.
    fn ensure_flat(&self, chain: &[LayerBlobRef]) -> Result<String, SnapshotError> {
        let hex = chain_id_hex(chain)?;
        let dst = self.state.join("flat").join(&hex);
        if !dst.is_dir() {
            self.build_atomically(&dst, |tmp| {
                chain
                    .iter()
                    .try_for_each(|l| apply_verified(l, tmp, ApplyMode::Plain))
            })?;
        }
        Ok(hex)
    }

    fn build_atomically(
        &self,
        dst: &Path,
        build: impl FnOnce(&Path) -> Result<(), SnapshotError>,
    ) -> Result<(), SnapshotError> {
        let tmp = self.state.join("tmp").join(unique_name());
        create_dirs(&tmp)?;
        let cleanup = |tmp: &Path| {
            make_writable(tmp);
            let _ = std::fs::remove_dir_all(tmp);
        };
        if let Err(e) = build(&tmp) {
            cleanup(&tmp);
            return Err(e);
        }
        if let Err(e) = std::fs::rename(&tmp, dst) {
            cleanup(&tmp);
            // Someone else finished the same content first: theirs is as good as ours.
            if !dst.is_dir() {
                return Err(SnapshotError::io("moving unpacked layer to", dst)(e));
            }
        }
        Ok(())
    }

    /// Lower dirs, top first, relative to `layers/`.
    fn lowers(&self, chain: &[LayerBlobRef], fixed: usize) -> Result<Vec<String>, SnapshotError> {
        if chain.is_empty() {
            return Ok(vec!["../empty".to_string()]);
        }
        let direct_max = mount::max_lowers(64, fixed);
        let (flat, direct) = if chain.len() <= direct_max {
            (None, chain)
        } else {
            // One slot goes to the flattened bottom ("../flat/<64 hex>" is longer than a layer).
            let keep = mount::max_lowers(64 + 8, fixed).saturating_sub(1).max(1);
            let (bottom, top) = chain.split_at(chain.len() - keep);
            (Some(bottom), top)
        };
        let mut lowers = Vec::with_capacity(direct.len() + 1);
        for layer in direct.iter().rev() {
            lowers.push(self.ensure_layer(layer)?);
        }
        if let Some(bottom) = flat {
            lowers.push(format!("../flat/{}", self.ensure_flat(bottom)?));
        }
        Ok(lowers)
    }
}

/// The OCI chain ID of `chain` (bottom first), as hex.
fn chain_id_hex(chain: &[LayerBlobRef]) -> Result<String, SnapshotError> {
    let mut id = String::new();
    for layer in chain {
        diff_id_hex(&layer.diff_id)?;
        id = if id.is_empty() {
            layer.diff_id.clone()
        } else {
            format!(
                "sha256:{}",
                hex::encode(Sha256::digest(format!("{id} {}", layer.diff_id)))
            )
        };
    }
    Ok(diff_id_hex(&id)?.to_string())
}

impl Snapshotter for OverlaySnapshotter {
    fn prepare(&self, chain: &[LayerBlobRef]) -> Result<Box<dyn ActiveSnapshot>, SnapshotError> {
        let id = unique_name();
        let dir = self.state.join("mounts").join(&id);
        let upper_rel = format!("../mounts/{id}/upper");
        let work_rel = format!("../mounts/{id}/work");
        let fixed = format!("upperdir={upper_rel},workdir={work_rel},").len();
        let lowers = self.lowers(chain, fixed)?;
        let mut active = OverlayActive {
            upper: dir.join("upper"),
            merged: dir.join("merged"),
            dir,
            mounted: false,
            released: false,
        };
        for sub in [&active.upper, &active.merged, &active.dir.join("work")] {
            create_dirs(sub)?;
        }
        let options = mount::options(&lowers, &upper_rel, &work_rel);
        mount::mount(&self.state.join("layers"), &active.merged, &options)?;
        active.mounted = true;
        Ok(Box::new(active))
    }

    fn name(&self) -> &'static str {
        "overlayfs"
    }
}

struct OverlayActive {
    dir: PathBuf,
    upper: PathBuf,
    merged: PathBuf,
    mounted: bool,
    released: bool,
}

impl OverlayActive {
    fn teardown(&mut self) -> Result<(), SnapshotError> {
        if self.released {
            return Ok(());
        }
        if self.mounted {
            mount::unmount(&self.merged)?;
            self.mounted = false;
        }
        remove_tree(&self.dir)?;
        self.released = true;
        Ok(())
    }
}

impl ActiveSnapshot for OverlayActive {
    fn rootfs(&self) -> &Path {
        &self.merged
    }

    fn diff(&self) -> Result<Box<dyn DiffSource + '_>, SnapshotError> {
        Ok(Box::new(UpperDirDiff::new(&self.upper)))
    }

    fn release(mut self: Box<Self>) -> Result<(), SnapshotError> {
        self.teardown()
    }
}

impl Drop for OverlayActive {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}
