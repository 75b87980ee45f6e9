//! Garbage collection: drop unreachable blobs, dead cache records and stale temp files.

use std::collections::HashSet;
use std::path::Path;

use crate::cache_record::CacheRecord;
use crate::error::StoreError;
use crate::fsutil::{fsync_dir, stale_temp, try_lock_exclusive};
use crate::store::Store;
use crate::walk::walk;

/// What to prune besides unreachable blobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneOptions {
    /// Drop every build cache record first (their layers then become unreachable).
    pub all_cache: bool,
}

/// What a prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PruneReport {
    pub removed_blobs: usize,
    /// Bytes of removed blobs and temp files.
    pub removed_bytes: u64,
    pub removed_cache_records: usize,
    pub removed_temp_files: usize,
    /// Blobs still in the store afterwards.
    pub kept_blobs: usize,
}

impl Store {
    /// Delete every blob not reachable from index.json or from a live cache record, plus
    /// stale temp files. Takes the gc lock exclusively and fails with `Busy` while a build
    /// holds a [`crate::StoreLease`]. Refuses (deleting nothing) if a referenced manifest
    /// is damaged, since its children could not be known.
    pub fn prune(&self, opts: &PruneOptions) -> Result<PruneReport, StoreError> {
        let Some(_gc) = try_lock_exclusive(&self.gc_lock_path())? else {
            return Err(StoreError::Busy {
                path: self.root().to_path_buf(),
            });
        };
        let roots = self.index_descriptors()?;
        let w = walk(self, &roots, false);
        if !w.damage.is_empty() {
            return Err(StoreError::Corrupt {
                path: self.root().to_path_buf(),
                message: format!(
                    "refusing to prune, referenced content is damaged (run fsck; remove or \
                     re-pull the affected image): {}",
                    w.damage.join("; ")
                ),
            });
        }
        let mut report = PruneReport::default();
        let mut keep: HashSet<String> = w.blobs.into_iter().map(|(d, _)| d).collect();
        self.prune_records(opts, &mut keep, &mut report)?;
        self.prune_blobs(&keep, &mut report)?;
        self.prune_temp(&mut report)?;
        Ok(report)
    }

    fn prune_records(
        &self,
        opts: &PruneOptions,
        keep: &mut HashSet<String>,
        report: &mut PruneReport,
    ) -> Result<(), StoreError> {
        let dir = self.records_dir();
        for key in self.cache_keys()? {
            let live = if opts.all_cache {
                None
            } else {
                self.cache_record(&key)
                    .ok()
                    .flatten()
                    .filter(|r| usable(self, r))
            };
            if let Some(rec) = live {
                keep.extend(rec.layers.into_iter().map(|l| l.digest));
                continue;
            }
            let path = dir.join(format!("{}.json", key.trim_start_matches("sha256:")));
            remove(&path)?;
            report.removed_cache_records += 1;
        }
        if report.removed_cache_records > 0 {
            fsync_dir(&dir)?;
        }
        Ok(())
    }

    fn prune_blobs(
        &self,
        keep: &HashSet<String>,
        report: &mut PruneReport,
    ) -> Result<(), StoreError> {
        let dir = self.blobs_dir();
        let entries = std::fs::read_dir(&dir).map_err(|e| StoreError::io("list", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("list", &dir, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if keep.contains(&format!("sha256:{name}")) {
                report.kept_blobs += 1;
                continue;
            }
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            remove(&entry.path())?;
            report.removed_blobs += 1;
            report.removed_bytes += size;
        }
        if report.removed_blobs > 0 {
            fsync_dir(&dir)?;
        }
        Ok(())
    }

    fn prune_temp(&self, report: &mut PruneReport) -> Result<(), StoreError> {
        for (path, size) in stale_temp_files(&self.tmp_dir())? {
            if path.is_dir() {
                std::fs::remove_dir_all(&path)
                    .map_err(|e| StoreError::io("remove directory", &path, e))?;
            } else {
                remove(&path)?;
            }
            report.removed_temp_files += 1;
            report.removed_bytes += size;
        }
        Ok(())
    }
}

/// A record is worth keeping only if all of its layers are still stored.
fn usable(store: &Store, rec: &CacheRecord) -> bool {
    rec.missing_layers(store).is_empty()
}

fn remove(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("remove", path, e)),
    }
}

/// Entries of `tmp/` whose writer is gone (their flock is free), with their sizes.
/// Scratch directories (e.g. the solver's) count too: gc only runs when no build holds
/// a lease, so an unlocked directory there is left over.
pub(crate) fn stale_temp_files(dir: &Path) -> Result<Vec<(std::path::PathBuf, u64)>, StoreError> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::io("list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
        let path = entry.path();
        if stale_temp(&path).is_some() {
            let size = disk_size(&path);
            out.push((path, size));
        }
    }
    Ok(out)
}

/// Bytes of a file, or of all files under a directory (symlinks not followed).
fn disk_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| disk_size(&e.path())).sum())
        .unwrap_or(0)
}
