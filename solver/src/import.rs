//! Cache records: the local store first, then records imported from a shared cache
//! (`--cache-from`), whose blobs are fetched lazily — only when a hit is actually used — and
//! digest-verified on the way in. Every key consulted or written is remembered for
//! `--cache-to`.

use crate::worker::{StepError, Worker};
use sealer_image_cache::{CacheRecord, Store};
use std::collections::{BTreeSet, HashMap};

/// Blobs of one record fetched at once.
const FETCH_WIDTH: usize = 4;

/// Fetches a blob from a shared cache into the store (verifying its digest).
pub trait BlobProvider: Send + Sync {
    /// Ok(true) when the blob is now in the store, Ok(false) when the source lacks it.
    fn fetch(&self, digest: &str, size: u64, store: &Store) -> Result<bool, String>;
    fn describe(&self) -> String;
}

/// Records from `--cache-from` sources, held in memory until used.
pub struct ImportedCache {
    pub records: HashMap<String, CacheRecord>,
    pub blobs: Vec<Box<dyn BlobProvider>>,
}

impl Worker {
    /// Remember that `key` belongs to this build (for `--cache-to`).
    pub fn touch(&self, key: &str) {
        if let Ok(mut t) = self.touched.lock() {
            t.insert(key.to_string());
        }
    }

    /// Keys this build consulted with a hit or wrote.
    pub fn touched_keys(&self) -> BTreeSet<String> {
        self.touched.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// A record's metadata (layers may be absent), local or imported; for history and
    /// reports only.
    pub fn record_meta(&self, key: &str) -> Result<Option<CacheRecord>, StepError> {
        if let Some(record) = self.store.cache_record(key)? {
            return Ok(Some(record));
        }
        Ok(self
            .imported
            .as_ref()
            .and_then(|i| i.records.get(key).cloned()))
    }

    /// A usable record for `key`: from the store when all its blobs are present, else from
    /// the imported cache after fetching the missing blobs (then persisted locally).
    pub fn cached_record(&self, key: &str) -> Result<Option<CacheRecord>, StepError> {
        if let Some(record) = self.store.cache_record(key)?
            && record.missing_layers(&self.store).is_empty()
        {
            self.touch(key);
            return Ok(Some(record));
        }
        let Some(imported) = &self.imported else {
            return Ok(None);
        };
        let Some(record) = imported.records.get(key) else {
            return Ok(None);
        };
        let missing: Vec<_> = record
            .layers
            .iter()
            .filter(|l| {
                !l.digest
                    .parse()
                    .map(|d| self.store.has_blob(&d))
                    .unwrap_or(false)
            })
            .collect();
        // Fetch the missing blobs concurrently, like a pull does.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let failed = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            for _ in 0..FETCH_WIDTH.min(missing.len()) {
                scope.spawn(|| {
                    while let Some(layer) =
                        missing.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                    {
                        let fetched = imported.blobs.iter().any(|source| {
                            matches!(
                                source.fetch(&layer.digest, layer.size, &self.store),
                                Ok(true)
                            )
                        });
                        if !fetched {
                            failed.store(true, std::sync::atomic::Ordering::Relaxed);
                            break;
                        }
                    }
                });
            }
        });
        if failed.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(None);
        }
        self.store.put_cache_record(key, record)?;
        self.touch(key);
        Ok(Some(record.clone()))
    }
}
