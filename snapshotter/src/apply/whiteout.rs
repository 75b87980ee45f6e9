//! OCI whiteouts: deletion in plain mode, overlayfs markers in overlay mode.

use super::{Applier, ApplyMode};
use crate::error::SnapshotError;
use crate::sys;
use std::ffi::OsStr;

impl Applier {
    pub(super) fn whiteout(
        &mut self,
        raw: &[u8],
        parents: &[&OsStr],
        gone: &OsStr,
    ) -> Result<(), SnapshotError> {
        match self.mode {
            ApplyMode::Plain => {
                if let Some(dir) = self.parent_dir(raw, parents, false)? {
                    self.remove(&dir.join(gone))?;
                }
            }
            ApplyMode::Overlay => {
                let Some(dir) = self.parent_dir(raw, parents, true)? else {
                    return Ok(());
                };
                let path = dir.join(gone);
                self.remove(&path)?;
                sys::mknod(&path, libc::S_IFCHR, 0, 0)
                    .map_err(SnapshotError::io("creating overlay whiteout", &path))?;
                self.created.insert(path);
            }
        }
        Ok(())
    }

    pub(super) fn opaque(&mut self, raw: &[u8], parents: &[&OsStr]) -> Result<(), SnapshotError> {
        match self.mode {
            ApplyMode::Plain => {
                let Some(dir) = self.parent_dir(raw, parents, false)? else {
                    return Ok(());
                };
                let children =
                    std::fs::read_dir(&dir).map_err(SnapshotError::io("listing", &dir))?;
                let mut doomed = Vec::new();
                for child in children {
                    let child = child.map_err(SnapshotError::io("listing", &dir))?.path();
                    if !self.created.contains(&child) {
                        doomed.push(child);
                    }
                }
                for path in doomed {
                    self.remove(&path)?;
                }
            }
            ApplyMode::Overlay => {
                if let Some(dir) = self.parent_dir(raw, parents, true)? {
                    sys::lsetxattr(&dir, "trusted.overlay.opaque", b"y")
                        .map_err(SnapshotError::io("marking opaque", &dir))?;
                }
            }
        }
        Ok(())
    }
}
