//! Content checksums of exactly the files a COPY/ADD/APP step reads.
//!
//! The checksum covers relative paths, file type, permission bits, symlink targets and file
//! contents; never mtimes or owners. File digests are remembered in a stat cache keyed by
//! (device, inode, size, mtime, ctime) so an unchanged rebuild hashes nothing (like git's
//! index). Entries changed within the last 100 ms are not cached ("racily clean").

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct StatKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl StatKey {
    fn of(meta: &std::fs::Metadata) -> StatKey {
        StatKey {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
            ctime_ns: meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    entries: HashMap<PathBuf, (StatKey, String)>,
}

/// File-digest cache persisted as one JSON file.
#[derive(Debug)]
pub struct ChecksumCache {
    path: Option<PathBuf>,
    entries: Mutex<HashMap<PathBuf, (StatKey, String)>>,
    dirty: Mutex<bool>,
}

/// 2: file digests are BLAKE3 (`blake3:<hex>`); version 1 held SHA-256 hex.
const CACHE_VERSION: u32 = 2;
/// Files changed this recently are hashed but not remembered: a later write within the same
/// coarse filesystem timestamp tick could otherwise keep an identical stat key.
const RACY_WINDOW_NS: i128 = 100_000_000;

impl ChecksumCache {
    /// An empty cache that is never persisted.
    pub fn in_memory() -> ChecksumCache {
        ChecksumCache {
            path: None,
            entries: Mutex::new(HashMap::new()),
            dirty: Mutex::new(false),
        }
    }

    /// Load the cache file if present; a corrupt or foreign file is ignored.
    pub fn load(path: &Path) -> ChecksumCache {
        let entries = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<CacheFile>(&b).ok())
            .filter(|f| f.version == CACHE_VERSION)
            .map(|f| f.entries)
            .unwrap_or_default();
        ChecksumCache {
            path: Some(path.to_path_buf()),
            entries: Mutex::new(entries),
            dirty: Mutex::new(false),
        }
    }

    /// Persist atomically (temp file + rename) if anything changed.
    pub fn save(&self) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if !*self.dirty.lock().map_err(|_| poisoned())? {
            return Ok(());
        }
        let entries = self.entries.lock().map_err(|_| poisoned())?.clone();
        let bytes = serde_json::to_vec(&CacheFile {
            version: CACHE_VERSION,
            entries,
        })
        .map_err(io::Error::other)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        io::Write::write_all(&mut tmp, &bytes)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// [`hash_file`] of a regular file, from the cache when its stat is unchanged.
    pub fn file_digest(&self, path: &Path, meta: &std::fs::Metadata) -> io::Result<String> {
        let key = StatKey::of(meta);
        if let Some((k, d)) = self.entries.lock().map_err(|_| poisoned())?.get(path)
            && *k == key
        {
            return Ok(d.clone());
        }
        let digest = hash_file(path)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        if now - key.mtime_ns.max(key.ctime_ns) > RACY_WINDOW_NS {
            self.entries
                .lock()
                .map_err(|_| poisoned())?
                .insert(path.to_path_buf(), (key, digest.clone()));
            *self.dirty.lock().map_err(|_| poisoned())? = true;
        }
        Ok(digest)
    }
}

fn poisoned() -> io::Error {
    io::Error::other("checksum cache lock poisoned")
}

/// A regular file's content digest for cache keys, `blake3:<hex>`. Keys only need a
/// collision-resistant content address, not an OCI digest, and BLAKE3 costs about a third of
/// SHA-256's CPU here: a cold builder (a fresh CI checkout has no stat cache) hashes its
/// whole context, often while it is also fetching and verifying layers.
pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("blake3:{}", hasher.finalize().to_hex()))
}

/// Checksum of one source (file, dir or symlink) as it would be copied, relative to its own
/// name so that the same content under the same name hashes the same wherever the context is.
pub fn source_checksum(cache: &ChecksumCache, host_path: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let top = std::fs::metadata(host_path)?;
    if top.is_dir() {
        for entry in walkdir::WalkDir::new(host_path)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = entry.map_err(io::Error::from)?;
            let rel = entry.path().strip_prefix(host_path).unwrap_or(entry.path());
            let meta = entry.path().symlink_metadata()?;
            record(
                &mut hasher,
                cache,
                entry.path(),
                &rel.to_string_lossy(),
                &meta,
            )?;
        }
    } else {
        record(&mut hasher, cache, host_path, "", &top)?;
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

fn record(
    hasher: &mut Sha256,
    cache: &ChecksumCache,
    path: &Path,
    rel: &str,
    meta: &std::fs::Metadata,
) -> io::Result<()> {
    let mode = meta.mode() & 0o7777;
    let ft = meta.file_type();
    let line = if ft.is_symlink() {
        let target = std::fs::read_link(path)?;
        format!("l\0{rel}\0{mode:o}\0{}\n", target.to_string_lossy())
    } else if ft.is_dir() {
        format!("d\0{rel}\0{mode:o}\n")
    } else if ft.is_file() {
        format!("f\0{rel}\0{mode:o}\0{}\n", cache.file_digest(path, meta)?)
    } else {
        format!("o\0{rel}\0{mode:o}\n")
    };
    hasher.update(line.as_bytes());
    Ok(())
}

#[cfg(test)]
#[path = "tests/checksum.rs"]
mod tests;
