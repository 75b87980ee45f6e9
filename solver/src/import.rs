//! Cache records: the local store first, then records imported from a shared cache
//! (`--cache-from`), whose blobs are fetched only for hits — a hit's layers are a prefix of
//! every later step's chain, so the image or a step that runs needs them — and digest-verified
//! on the way in. Every key consulted or written is remembered for
//! `--cache-to`.
//!
//! A cold builder overlaps its two big jobs: while it still hashes the build context for
//! later steps, the blobs of steps whose keys are already known and hit are being fetched
//! ([`Worker::prefetch`]). Each blob is fetched once however many lookups want it.

use crate::worker::{StepError, Worker};
use sealer_image_cache::{CacheRecord, Store};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Condvar, Mutex};

/// Blobs fetched from shared caches at once.
const FETCH_WIDTH: usize = 4;

/// Fetches a blob from a shared cache into the store (verifying its digest).
pub trait BlobProvider: Send + Sync {
    /// Ok(true) when the blob is now in the store, Ok(false) when the source lacks it.
    fn fetch(&self, digest: &str, size: u64, store: &Store) -> Result<bool, String>;
    fn describe(&self) -> String;
}

/// What the `--cache-from` sources hold: their records, and where to fetch blobs from.
#[derive(Default)]
pub struct Sources {
    pub records: HashMap<String, CacheRecord>,
    pub blobs: Vec<Box<dyn BlobProvider>>,
}

type Loader = std::thread::JoinHandle<Sources>;

/// Records from `--cache-from` sources, held in memory until used.
pub struct ImportedCache {
    /// Filled on first use, from `loader` when the records were read in the background.
    sources: std::sync::OnceLock<Sources>,
    loader: Mutex<Option<Loader>>,
    /// Per blob digest: the outcome of its one fetch (None while it runs).
    fetches: Mutex<HashMap<String, Arc<Mutex<Option<bool>>>>>,
    /// Free fetch slots (at most [`FETCH_WIDTH`] transfers at once).
    slots: (Mutex<usize>, Condvar),
}

impl ImportedCache {
    pub fn new(records: HashMap<String, CacheRecord>, blobs: Vec<Box<dyn BlobProvider>>) -> Self {
        let cache = Self::empty(None);
        let _ = cache.sources.set(Sources { records, blobs });
        cache
    }

    /// Read the records on a thread of their own (network round trips), so the build hashes
    /// its context meanwhile; the first lookup waits for them.
    pub fn in_background(load: impl FnOnce() -> Sources + Send + 'static) -> Self {
        Self::empty(Some(std::thread::spawn(load)))
    }

    fn empty(loader: Option<Loader>) -> Self {
        ImportedCache {
            sources: std::sync::OnceLock::new(),
            loader: Mutex::new(loader),
            fetches: Mutex::new(HashMap::new()),
            slots: (Mutex::new(FETCH_WIDTH), Condvar::new()),
        }
    }

    /// The records and blob sources (waits for a background read to finish; a read that
    /// panicked counts as an empty cache).
    pub fn sources(&self) -> &Sources {
        self.sources.get_or_init(|| {
            let loader = self.loader.lock().ok().and_then(|mut l| l.take());
            loader
                .and_then(|handle| handle.join().ok())
                .unwrap_or_default()
        })
    }

    /// Put one blob into `store` from the first source that has it; single-flight per
    /// digest (a second caller waits for the first one's outcome). True when it is there.
    fn fetch_once(&self, digest: &str, size: u64, store: &Store) -> bool {
        let Ok(parsed) = digest.parse() else {
            return false;
        };
        if store.has_blob(&parsed) {
            return true;
        }
        let cell = match self.fetches.lock() {
            Ok(mut map) => map.entry(digest.to_string()).or_default().clone(),
            Err(_) => return false,
        };
        let Ok(mut outcome) = cell.lock() else {
            return false;
        };
        if let Some(done) = *outcome {
            return done;
        }
        let _slot = self.slot();
        let fetched = self
            .sources()
            .blobs
            .iter()
            .any(|source| matches!(source.fetch(digest, size, store), Ok(true)));
        *outcome = Some(fetched);
        fetched
    }

    /// Register a fetch of `digest`; false when one was already registered (it may still
    /// be running: [`ImportedCache::fetch_once`] waits for its outcome).
    fn claim(&self, digest: &str) -> bool {
        self.fetches.lock().is_ok_and(|mut map| {
            let fresh = !map.contains_key(digest);
            map.entry(digest.to_string()).or_default();
            fresh
        })
    }

    /// Wait for a free transfer slot; released on drop.
    fn slot(&self) -> SlotGuard<'_> {
        let (count, freed) = &self.slots;
        let Ok(mut free) = count.lock() else {
            return SlotGuard(None);
        };
        while *free == 0 {
            free = match freed.wait(free) {
                Ok(f) => f,
                Err(_) => return SlotGuard(None),
            };
        }
        *free -= 1;
        SlotGuard(Some(&self.slots))
    }

    /// Fetch every listed blob the store lacks, [`FETCH_WIDTH`] at a time; true when all
    /// are present afterwards.
    fn fetch_all(&self, layers: &[(String, u64)], store: &Store) -> bool {
        std::thread::scope(|scope| {
            let handles: Vec<_> = layers
                .iter()
                .map(|(digest, size)| scope.spawn(move || self.fetch_once(digest, *size, store)))
                .collect();
            handles.into_iter().all(|h| h.join().unwrap_or(false))
        })
    }
}

struct SlotGuard<'a>(Option<&'a (Mutex<usize>, Condvar)>);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        if let Some((count, freed)) = self.0
            && let Ok(mut free) = count.lock()
        {
            *free += 1;
            freed.notify_one();
        }
    }
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
            .and_then(|i| i.sources().records.get(key).cloned()))
    }

    /// A record of `key` in the local store whose blobs are all present.
    fn local_record(&self, key: &str) -> Result<Option<CacheRecord>, StepError> {
        Ok(self
            .store
            .cache_record(key)?
            .filter(|r| r.missing_layers(&self.store).is_empty()))
    }

    /// The layers of `record` the store lacks, as (digest, size).
    fn absent_layers(&self, record: &CacheRecord) -> Vec<(String, u64)> {
        record
            .layers
            .iter()
            .filter(|l| {
                !l.digest
                    .parse()
                    .map(|d| self.store.has_blob(&d))
                    .unwrap_or(false)
            })
            .map(|l| (l.digest.clone(), l.size))
            .collect()
    }

    /// Start fetching, in the background, the blobs a shared-cache hit on `key` will need.
    /// Fire and forget: [`Worker::cached_record`] joins the same transfers.
    pub fn prefetch(&self, key: &str) {
        let Some(imported) = &self.imported else {
            return;
        };
        if !matches!(self.local_record(key), Ok(None)) {
            return;
        }
        let Some(record) = imported.sources().records.get(key) else {
            return;
        };
        for (digest, size) in self.absent_layers(record) {
            if !imported.claim(&digest) {
                continue; // an earlier step's prefetch (or a lookup) already has it
            }
            let (imported, store) = (imported.clone(), self.store.clone());
            std::thread::spawn(move || imported.fetch_once(&digest, size, &store));
        }
    }

    /// A usable record for `key`: from the store when all its blobs are present, else from
    /// the imported cache after fetching the missing blobs (then persisted locally).
    pub fn cached_record(&self, key: &str) -> Result<Option<CacheRecord>, StepError> {
        if let Some(record) = self.local_record(key)? {
            self.touch(key);
            return Ok(Some(record));
        }
        let Some(imported) = &self.imported else {
            return Ok(None);
        };
        let Some(record) = imported.sources().records.get(key) else {
            return Ok(None);
        };
        if !imported.fetch_all(&self.absent_layers(record), &self.store) {
            return Ok(None);
        }
        self.store.put_cache_record(key, record)?;
        self.touch(key);
        Ok(Some(record.clone()))
    }
}
