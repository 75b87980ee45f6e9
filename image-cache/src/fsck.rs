//! Consistency check: re-hash every blob, walk index → manifests → configs/layers.

use std::collections::HashSet;

use crate::digest::{parse_sha256, sha256_reader};
use crate::error::StoreError;
use crate::gc::stale_temp_files;
use crate::store::Store;
use crate::walk::walk;

/// What fsck found. Orphans and stale temp files are informational (prune removes them).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FsckReport {
    /// Human-readable problems: corrupt or missing blobs, unparsable manifests, …
    pub damage: Vec<String>,
    /// Blobs not reachable from index.json or any cache record.
    pub orphans: usize,
    /// Temp files left behind by dead writers.
    pub temp_files: usize,
}

impl FsckReport {
    pub fn is_clean(&self) -> bool {
        self.damage.is_empty()
    }
}

impl Store {
    /// Verify the whole store. Holds a lease, so it never races a prune.
    pub fn fsck(&self) -> Result<FsckReport, StoreError> {
        let _lease = self.lease()?;
        let mut report = FsckReport::default();
        let mut reachable: HashSet<String> = HashSet::new();
        match self.index_descriptors() {
            Ok(roots) => {
                let w = walk(self, &roots, true);
                report
                    .damage
                    .extend(w.missing.into_iter().map(|m| format!("missing blob {m}")));
                report.damage.extend(w.damage);
                reachable.extend(w.blobs.into_iter().map(|(d, _)| d));
            }
            Err(e) => report.damage.push(e.to_string()),
        }
        self.fsck_records(&mut report, &mut reachable)?;
        self.fsck_blobs(&mut report, &reachable)?;
        report.temp_files = stale_temp_files(&self.tmp_dir())?.len();
        Ok(report)
    }

    fn fsck_records(
        &self,
        report: &mut FsckReport,
        reachable: &mut HashSet<String>,
    ) -> Result<(), StoreError> {
        for key in self.cache_keys()? {
            match self.cache_record(&key) {
                Ok(Some(rec)) => {
                    for missing in rec.missing_layers(self) {
                        report
                            .damage
                            .push(format!("cache record {key}: missing layer {missing}"));
                    }
                    reachable.extend(rec.layers.into_iter().map(|l| l.digest));
                }
                Ok(None) => {}
                Err(e) => report.damage.push(format!("cache record {key}: {e}")),
            }
        }
        Ok(())
    }

    fn fsck_blobs(
        &self,
        report: &mut FsckReport,
        reachable: &HashSet<String>,
    ) -> Result<(), StoreError> {
        let dir = self.blobs_dir();
        let entries = std::fs::read_dir(&dir).map_err(|e| StoreError::io("list", &dir, e))?;
        let mut names: Vec<String> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("list", &dir, e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        for name in names {
            let text = format!("sha256:{name}");
            let Ok(digest) = parse_sha256(&text) else {
                report.damage.push(format!(
                    "unexpected file blobs/sha256/{name} (not a sha256 digest)"
                ));
                continue;
            };
            let path = self.blob_path(&digest);
            let hashed = std::fs::File::open(&path).and_then(sha256_reader);
            match hashed {
                Ok((actual, _)) if actual == digest => {}
                Ok((actual, size)) => report.damage.push(format!(
                    "blob {text} is corrupt: its {size} bytes hash to {actual}"
                )),
                Err(e) => report.damage.push(format!("blob {text}: read failed: {e}")),
            }
            if !reachable.contains(&text) {
                report.orphans += 1;
            }
        }
        Ok(())
    }
}
