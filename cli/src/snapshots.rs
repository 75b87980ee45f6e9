//! Pick the snapshotter: overlayfs where it can be mounted, a copying one otherwise.

use anyhow::Result;
use sealer_image_cache::Store;
use sealer_snapshotter::{CopySnapshotter, OverlaySnapshotter, Snapshotter};
use std::sync::Arc;

pub fn pick(store: &Store) -> Result<Arc<dyn Snapshotter>> {
    let dir = store.root().join("snapshots");
    std::fs::create_dir_all(&dir)?;
    // Snapshots of builds that were killed (mounts, work dirs) go first.
    sealer_snapshotter::remove_stale_snapshots(&dir)?;
    let forced = std::env::var("SEALER_SNAPSHOTTER").unwrap_or_default();
    if forced != "copy" && OverlaySnapshotter::supported(&dir) {
        return Ok(Arc::new(OverlaySnapshotter::new(&dir)?));
    }
    Ok(Arc::new(CopySnapshotter::new(&dir)?))
}
