//! Build cache records: cache key → the layers a step produced.
//! Stored as `cache/records/<hex>.json`, written atomically; live records keep their
//! layers alive through prune.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::digest::parse_sha256;
use crate::error::StoreError;
use crate::fsutil::atomic_write;
use crate::store::Store;

/// Largest cache record we read.
const RECORD_LIMIT: u64 = 16 << 20;

/// What a cached build step produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CacheRecord {
    pub layers: Vec<LayerRef>,
    pub created_by: String,
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

/// One layer blob of a cache record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LayerRef {
    pub media_type: String,
    /// Digest of the (compressed) blob in the store.
    pub digest: String,
    pub size: u64,
    /// Digest of the uncompressed tar.
    pub diff_id: String,
}

impl CacheRecord {
    /// Layer digests (of this record) that are not in `store`; empty when usable.
    pub fn missing_layers(&self, store: &Store) -> Vec<String> {
        self.layers
            .iter()
            .filter(|l| parse_sha256(&l.digest).map_or(true, |d| !store.has_blob(&d)))
            .map(|l| l.digest.clone())
            .collect()
    }
}

/// `sha256:<hex>` → `<hex>`, rejecting anything else (it becomes a file name).
pub(crate) fn key_hex(key: &str) -> Result<String, StoreError> {
    parse_sha256(key)
        .map(|d| d.digest().to_string())
        .map_err(|_| StoreError::InvalidCacheKey {
            key: key.to_string(),
        })
}

impl Store {
    fn record_path(&self, key: &str) -> Result<PathBuf, StoreError> {
        Ok(self.records_dir().join(format!("{}.json", key_hex(key)?)))
    }

    /// The record stored under `key` ("sha256:<hex>"), if any.
    pub fn cache_record(&self, key: &str) -> Result<Option<CacheRecord>, StoreError> {
        let path = self.record_path(key)?;
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("read cache record", &path, e)),
        };
        if bytes.len() as u64 > RECORD_LIMIT {
            return Err(StoreError::Corrupt {
                path,
                message: format!("cache record larger than {RECORD_LIMIT} bytes"),
            });
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::json(path.display().to_string(), e))
    }

    /// Store (or replace) the record for `key`, atomically.
    pub fn put_cache_record(&self, key: &str, rec: &CacheRecord) -> Result<(), StoreError> {
        let path = self.record_path(key)?;
        let _lease = self.lease()?;
        let mut bytes =
            serde_json::to_vec_pretty(rec).map_err(|e| StoreError::json("cache record", e))?;
        bytes.push(b'\n');
        atomic_write(&self.tmp_dir(), &path, &bytes)
    }

    /// Keys ("sha256:<hex>") of every stored record.
    pub fn cache_keys(&self) -> Result<Vec<String>, StoreError> {
        let dir = self.records_dir();
        let mut keys = Vec::new();
        let entries = std::fs::read_dir(&dir).map_err(|e| StoreError::io("list", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("list", &dir, e))?;
            let name = entry.file_name();
            let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            let key = format!("sha256:{hex}");
            if key_hex(&key).is_ok() {
                keys.push(key);
            }
        }
        keys.sort();
        Ok(keys)
    }
}

#[cfg(test)]
#[path = "tests/cache_record.rs"]
mod tests;
