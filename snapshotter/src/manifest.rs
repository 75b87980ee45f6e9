//! A metadata-only walk of a tree, taken before a build step, for the copy-fallback differ.

use crate::error::SnapshotError;
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

/// What is recorded per path. Any difference (including ctime, which changes on every content,
/// mode or owner change) marks the path as changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMeta {
    pub kind: EntryKind,
    pub mode: u32,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub link_target: Option<PathBuf>,
}

impl EntryMeta {
    /// Record `md` (from `lstat` of `path`); reads the link target of symlinks.
    pub fn from_metadata(path: &Path, md: &Metadata) -> Result<Self, SnapshotError> {
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_symlink() {
            EntryKind::Symlink
        } else if ft.is_file() {
            EntryKind::File
        } else if ft.is_char_device() {
            EntryKind::CharDevice
        } else if ft.is_block_device() {
            EntryKind::BlockDevice
        } else if ft.is_fifo() {
            EntryKind::Fifo
        } else {
            EntryKind::Socket
        };
        let link_target = if kind == EntryKind::Symlink {
            Some(std::fs::read_link(path).map_err(SnapshotError::io("readlink", path))?)
        } else {
            None
        };
        Ok(EntryMeta {
            kind,
            mode: md.mode(),
            size: if kind == EntryKind::Dir { 0 } else { md.size() },
            mtime_ns: md.mtime() * 1_000_000_000 + md.mtime_nsec(),
            ctime_ns: md.ctime() * 1_000_000_000 + md.ctime_nsec(),
            ino: md.ino(),
            uid: md.uid(),
            gid: md.gid(),
            rdev: md.rdev(),
            link_target,
        })
    }
}

/// path → metadata for every entry below a root (the root itself excluded), grouped by
/// directory.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    dirs: HashMap<PathBuf, Vec<(OsString, EntryMeta)>>,
    len: usize,
}

impl Manifest {
    /// Walk `root` (symlinks not followed) and record every entry's metadata.
    pub fn scan(root: &Path) -> Result<Manifest, SnapshotError> {
        let mut m = Manifest::default();
        for item in walkdir::WalkDir::new(root).follow_links(false).min_depth(1) {
            let item = item.map_err(|e| SnapshotError::Io {
                op: "scanning",
                path: e.path().unwrap_or(root).to_path_buf(),
                source: e.into(),
            })?;
            let md = item.metadata().map_err(|e| SnapshotError::Io {
                op: "reading metadata of",
                path: item.path().to_path_buf(),
                source: e.into(),
            })?;
            let meta = EntryMeta::from_metadata(item.path(), &md)?;
            let rel = item.path().strip_prefix(root).unwrap_or(item.path());
            let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
            m.dirs
                .entry(parent)
                .or_default()
                .push((item.file_name().to_os_string(), meta));
            m.len += 1;
        }
        for children in m.dirs.values_mut() {
            children.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(m)
    }

    /// The metadata recorded for `rel` (relative to the scanned root).
    pub fn get(&self, rel: &Path) -> Option<&EntryMeta> {
        let name = rel.file_name()?;
        self.child(rel.parent().unwrap_or(Path::new("")), name)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Children of directory `dir`, sorted by name.
    pub(crate) fn children(&self, dir: &Path) -> &[(OsString, EntryMeta)] {
        self.dirs.get(dir).map(Vec::as_slice).unwrap_or(&[])
    }

    pub(crate) fn child(&self, dir: &Path, name: &OsStr) -> Option<&EntryMeta> {
        let children = self.children(dir);
        children
            .binary_search_by(|(n, _)| n.as_os_str().cmp(name))
            .ok()
            .map(|i| &children[i].1)
    }
}

#[cfg(test)]
#[path = "tests/manifest.rs"]
mod tests;
