//! Resolving an entry's parent directory inside the extraction root without ever leaving it.
//!
//! Symlinks met on the way are followed *inside* the root, as a chroot would: an absolute
//! target restarts at the root, a relative one continues from the link's directory. A `..`
//! that would climb above the root is an escape, and the entry is rejected.

use crate::error::SnapshotError;
use std::collections::{HashMap, VecDeque};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

const MAX_LINK_HOPS: u32 = 40;

/// Split a tar path into its normal components; `..` anywhere is rejected.
pub(crate) fn split_entry_path(raw: &[u8]) -> Result<Vec<&OsStr>, SnapshotError> {
    let mut out = Vec::new();
    for part in raw.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                return Err(SnapshotError::UnsafeEntry {
                    entry: String::from_utf8_lossy(raw).into_owned(),
                    reason: "`..` in its path",
                });
            }
            p => out.push(OsStr::from_bytes(p)),
        }
    }
    Ok(out)
}

pub(crate) struct Resolver {
    root: PathBuf,
    cache: HashMap<Vec<u8>, PathBuf>,
}

impl Resolver {
    pub(crate) fn new(root: &Path) -> Self {
        Resolver {
            root: root.to_path_buf(),
            cache: HashMap::new(),
        }
    }

    /// Forget resolved directories (after anything on a path was removed or replaced).
    pub(crate) fn invalidate(&mut self) {
        self.cache.clear();
    }

    /// The host directory for `parents` (components below the root). Missing directories are
    /// created (mode 0755, reported through `created`) when `create`, else `Ok(None)`.
    pub(crate) fn dir(
        &mut self,
        entry: &[u8],
        parents: &[&OsStr],
        create: bool,
        created: &mut dyn FnMut(&Path),
    ) -> Result<Option<PathBuf>, SnapshotError> {
        let key = parents.iter().fold(Vec::new(), |mut k, p| {
            k.extend_from_slice(p.as_bytes());
            k.push(b'/');
            k
        });
        if let Some(hit) = self.cache.get(&key) {
            return Ok(Some(hit.clone()));
        }
        let unsafe_entry = |reason| SnapshotError::UnsafeEntry {
            entry: String::from_utf8_lossy(entry).into_owned(),
            reason,
        };
        let mut stack: Vec<OsString> = Vec::new();
        let mut queue: VecDeque<OsString> = parents.iter().map(|p| p.to_os_string()).collect();
        let mut hops = 0;
        while let Some(c) = queue.pop_front() {
            match c.as_bytes() {
                b"" | b"." => continue,
                b".." => {
                    if stack.pop().is_none() {
                        return Err(unsafe_entry(
                            "a symlink in its path points outside the root",
                        ));
                    }
                    continue;
                }
                _ => {}
            }
            let mut cur = self.root.clone();
            cur.extend(&stack);
            cur.push(&c);
            match std::fs::symlink_metadata(&cur) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if !create {
                        return Ok(None);
                    }
                    std::fs::create_dir(&cur).map_err(SnapshotError::io("creating", &cur))?;
                    created(&cur);
                    stack.push(c);
                }
                Err(e) => return Err(SnapshotError::io("reading metadata of", &cur)(e)),
                Ok(md) if md.is_dir() => stack.push(c),
                Ok(md) if md.file_type().is_symlink() => {
                    hops += 1;
                    if hops > MAX_LINK_HOPS {
                        return Err(unsafe_entry("too many levels of symlinks in its path"));
                    }
                    let target =
                        std::fs::read_link(&cur).map_err(SnapshotError::io("readlink", &cur))?;
                    if target.is_absolute() {
                        stack.clear();
                    }
                    for comp in target.components().rev() {
                        match comp {
                            Component::Normal(n) => queue.push_front(n.to_os_string()),
                            Component::ParentDir => queue.push_front("..".into()),
                            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
                        }
                    }
                }
                Ok(_) => {
                    return Err(SnapshotError::Io {
                        op: "extracting below a non-directory",
                        path: cur,
                        source: io::Error::from_raw_os_error(libc::ENOTDIR),
                    });
                }
            }
        }
        let mut dir = self.root.clone();
        dir.extend(&stack);
        self.cache.insert(key, dir.clone());
        Ok(Some(dir))
    }
}

/// Remove whatever is at `path` (a directory recursively, never following symlinks).
/// Returns whether something that may be on a cached path (a directory or symlink) went away.
pub(crate) fn remove_any(path: &Path) -> Result<bool, SnapshotError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(SnapshotError::io("reading metadata of", path)(e)),
        Ok(md) if md.is_dir() => {
            make_writable(path);
            std::fs::remove_dir_all(path).map_err(SnapshotError::io("removing", path))?;
            Ok(true)
        }
        Ok(md) => {
            std::fs::remove_file(path).map_err(SnapshotError::io("removing", path))?;
            Ok(md.file_type().is_symlink())
        }
    }
}

/// Unprivileged callers cannot delete below read-only directories: add u+rwx first.
pub(crate) fn make_writable(dir: &Path) {
    if crate::sys::is_root() {
        return;
    }
    add_owner_rwx(dir);
}

fn add_owner_rwx(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(md) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if !md.is_dir() {
        return;
    }
    let mode = md.permissions().mode();
    if mode & 0o700 != 0o700 {
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o700));
    }
    let Ok(children) = std::fs::read_dir(dir) else {
        return;
    };
    for child in children.flatten() {
        if child.file_type().is_ok_and(|t| t.is_dir()) {
            add_owner_rwx(&child.path());
        }
    }
}
