//! Building overlay mount options within the one-page limit, mounting with short relative
//! paths (from a thread with its own cwd), unmounting, and probing for support.

use crate::error::SnapshotError;
use crate::sys;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Options that keep the upper dir self-contained (no metadata-only copy-ups, no redirects).
const SAFE_EXTRAS: &str = ",index=off,redirect_dir=off,metacopy=off";
/// The kernel copies at most one page of mount data, NUL included.
const MAX_OPTIONS: usize = 4095;
/// overlayfs refuses more lower layers than this (OVL_MAX_STACK).
const MAX_LOWERS: usize = 500;

pub(crate) fn options(lowers_top_first: &[String], upper: &str, work: &str) -> String {
    format!(
        "lowerdir={},upperdir={upper},workdir={work}",
        lowers_top_first.join(":")
    )
}

/// How many lower dirs (each given as a path of `lower_len` bytes) fit beside `fixed` bytes of
/// other options.
pub(crate) fn max_lowers(lower_len: usize, fixed: usize) -> usize {
    let room = MAX_OPTIONS.saturating_sub(fixed + SAFE_EXTRAS.len() + "lowerdir=".len());
    ((room + 1) / (lower_len + 1)).min(MAX_LOWERS)
}

/// Mount overlay `options` (paths relative to `cwd`) at the absolute `target`.
pub(crate) fn mount(cwd: &Path, target: &Path, options: &str) -> Result<(), SnapshotError> {
    let with_extras = format!("{options}{SAFE_EXTRAS}");
    let attempt = |opts: &str| -> io::Result<()> {
        std::thread::scope(|s| {
            s.spawn(|| {
                sys::unshare_fs()?;
                std::env::set_current_dir(cwd)?;
                sys::mount_overlay(target, opts)
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("mount thread panicked")))
        })
    };
    let result = match attempt(&with_extras) {
        // Kernels too old for these options also lack the features they turn off.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => attempt(options),
        other => other,
    };
    result.map_err(|source| SnapshotError::Mount {
        target: target.to_path_buf(),
        source,
    })
}

pub(crate) fn unmount(target: &Path) -> Result<(), SnapshotError> {
    match sys::umount(target, false) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()), // not mounted
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            sys::umount(target, true).map_err(|source| SnapshotError::Unmount {
                target: target.to_path_buf(),
                source,
            })
        }
        Err(source) => Err(SnapshotError::Unmount {
            target: target.to_path_buf(),
            source,
        }),
    }
}

/// Whether overlay mounts with whiteouts work under `state_dir` (probed once per directory).
pub(crate) fn supported(state_dir: &Path) -> bool {
    static PROBED: Mutex<Option<HashMap<PathBuf, bool>>> = Mutex::new(None);
    if !sys::is_root() {
        return false;
    }
    let Ok(mut guard) = PROBED.lock() else {
        return false;
    };
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(known) = map.get(state_dir) {
        return *known;
    }
    let ok = probe(state_dir).is_ok();
    map.insert(state_dir.to_path_buf(), ok);
    ok
}

fn probe(state_dir: &Path) -> Result<(), SnapshotError> {
    let tmp = state_dir.join("tmp");
    crate::snapshot::create_dirs(&tmp)?;
    let dir = tempfile::Builder::new()
        .prefix("probe-")
        .tempdir_in(&tmp)
        .map_err(SnapshotError::io("creating probe dir in", &tmp))?;
    let d = dir.path();
    for sub in ["l", "u", "w", "m"] {
        crate::snapshot::create_dirs(&d.join(sub))?;
    }
    let io = |op| SnapshotError::io(op, d);
    std::fs::write(d.join("l/a"), b"a").map_err(io("writing probe file"))?;
    sys::mknod(&d.join("l/gone"), libc::S_IFCHR, 0, 0).map_err(io("mknod whiteout"))?;
    let target = d.join("m");
    mount(d, &target, "lowerdir=l,upperdir=u,workdir=w")?;
    let checks = (|| -> io::Result<bool> {
        let seen = std::fs::read(target.join("a"))? == b"a";
        let hidden = std::fs::symlink_metadata(target.join("gone")).is_err();
        std::fs::write(target.join("b"), b"b")?;
        Ok(seen && hidden)
    })();
    unmount(&target)?;
    let copied = d.join("u/b").is_file();
    match checks {
        Ok(true) if copied => Ok(()),
        Ok(_) => Err(SnapshotError::Pipeline("overlay probe saw the wrong tree")),
        Err(e) => Err(io("probing overlay")(e)),
    }
}

#[cfg(test)]
#[path = "../tests/overlay_mount.rs"]
mod tests;
