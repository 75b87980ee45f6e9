//! A layer made directly from host files (COPY/ADD without a snapshot).

use crate::error::SnapshotError;
use crate::layer::{DiffSource, TarOptions};
use crate::tarout::TarOut;
use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Bound;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// One host path and where it lands inside the layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyEntry {
    pub host_path: PathBuf,
    /// Path inside the layer, relative (a leading `/` is ignored); `""` is the layer root,
    /// which only a directory may target (its contents land at the root).
    pub dest: String,
}

/// A layer built from host files. Directories are walked recursively, symlinks are kept as
/// symlinks (never followed, also at the top level), parents of each `dest` are emitted as
/// 0755 directories unless another entry provides them. When entries overlap, the later one
/// wins (a directory merges into an earlier directory at the same path).
#[derive(Debug, Clone)]
pub struct CopyDiff {
    entries: Vec<CopyEntry>,
}

#[derive(Debug)]
enum Item {
    Host(PathBuf),
    Implied,
}

impl CopyDiff {
    pub fn new(entries: Vec<CopyEntry>) -> Self {
        CopyDiff { entries }
    }

    /// Every layer path (key: path bytes, `/`-terminated for directories) in sorted order.
    fn plan(&self) -> Result<BTreeMap<Vec<u8>, Item>, SnapshotError> {
        let mut map = BTreeMap::new();
        for entry in &self.entries {
            let dest = normalize_dest(&entry.dest)?;
            let md = std::fs::symlink_metadata(&entry.host_path)
                .map_err(SnapshotError::io("reading metadata of", &entry.host_path))?;
            let is_dir = md.is_dir();
            if dest.is_empty() && !is_dir {
                return Err(SnapshotError::InvalidDest {
                    dest: entry.dest.clone(),
                    reason: "only a directory can be copied to the layer root",
                });
            }
            // Implied parents.
            let mut prefix = Vec::new();
            let parts: Vec<&str> = if dest.is_empty() {
                Vec::new()
            } else {
                dest.split('/').collect()
            };
            for part in parts.iter().take(parts.len().saturating_sub(1)) {
                prefix.extend_from_slice(part.as_bytes());
                prefix.push(b'/');
                if !map.contains_key(&prefix) {
                    insert(&mut map, prefix.clone(), Item::Implied);
                }
            }
            if !is_dir {
                insert(
                    &mut map,
                    dest.into_bytes(),
                    Item::Host(entry.host_path.clone()),
                );
                continue;
            }
            let base = if dest.is_empty() {
                Vec::new()
            } else {
                let mut b = dest.into_bytes();
                b.push(b'/');
                insert(&mut map, b.clone(), Item::Host(entry.host_path.clone()));
                b
            };
            let walk = walkdir::WalkDir::new(&entry.host_path)
                .follow_links(false)
                .min_depth(1);
            for item in walk {
                let item = item.map_err(|e| {
                    let path = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| entry.host_path.clone());
                    SnapshotError::Io {
                        op: "walking",
                        path,
                        source: e.into(),
                    }
                })?;
                let rel = item.path().strip_prefix(&entry.host_path).map_err(|_| {
                    SnapshotError::InvalidDest {
                        dest: entry.dest.clone(),
                        reason: "walked a path outside the copied directory",
                    }
                })?;
                let mut key = base.clone();
                key.extend_from_slice(rel.as_os_str().as_bytes());
                if item.file_type().is_dir() {
                    key.push(b'/');
                }
                insert(&mut map, key, Item::Host(item.into_path()));
            }
        }
        Ok(map)
    }
}

/// Insert with "later wins": a non-directory replaces a directory of the same name (and
/// everything below it), and vice versa.
fn insert(map: &mut BTreeMap<Vec<u8>, Item>, key: Vec<u8>, item: Item) {
    if let Some(stem) = key.strip_suffix(b"/") {
        map.remove(stem);
    } else {
        let mut dir = key.clone();
        dir.push(b'/');
        let mut end = key.clone();
        end.push(b'/' + 1);
        let doomed: Vec<Vec<u8>> = map
            .range::<Vec<u8>, _>((Bound::Included(&dir), Bound::Excluded(&end)))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            map.remove(&k);
        }
    }
    map.insert(key, item);
}

fn normalize_dest(dest: &str) -> Result<String, SnapshotError> {
    let mut parts = Vec::new();
    for part in dest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(SnapshotError::InvalidDest {
                    dest: dest.to_string(),
                    reason: "`..` is not allowed",
                });
            }
            p if p.contains('\0') => {
                return Err(SnapshotError::InvalidDest {
                    dest: dest.to_string(),
                    reason: "NUL byte in path",
                });
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

impl DiffSource for CopyDiff {
    fn write_tar(&self, out: &mut dyn Write, opts: &TarOptions) -> Result<u64, SnapshotError> {
        let plan = self.plan()?;
        let mut tar = TarOut::new(out, opts);
        for (key, item) in plan {
            let rel_bytes = key.strip_suffix(b"/").unwrap_or(&key);
            let rel = Path::new(std::ffi::OsStr::from_bytes(rel_bytes));
            match item {
                Item::Implied => tar.implied_dir(rel)?,
                Item::Host(host) => {
                    let md = std::fs::symlink_metadata(&host)
                        .map_err(SnapshotError::io("reading metadata of", &host))?;
                    tar.host_entry(rel, &host, &md)?;
                }
            }
        }
        tar.finish()
    }
}

#[cfg(test)]
#[path = "tests/copy_diff.rs"]
mod tests;
