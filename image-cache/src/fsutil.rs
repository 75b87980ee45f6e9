//! Small filesystem helpers: locked temp files, atomic rename with fsync, lock files.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::StoreError;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file in the store's `tmp/` directory. While it is alive its writer holds an
/// exclusive `flock` on it, so gc/fsck can tell a live temp file from one left by a
/// killed process (the kernel drops the lock when the process dies).
/// Dropping it without [`TempFile::persist`] removes it.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    pub fn new_in(dir: &Path, prefix: &str) -> Result<TempFile, StoreError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("{prefix}-{}-{n}-{nanos:08x}", std::process::id()));
            match OpenOptions::new()
                .write(true)
                .read(true)
                .create_new(true)
                .mode(0o644)
                .open(&path)
            {
                Ok(file) => {
                    // Nobody else knows this name yet, so the lock cannot be contended.
                    file.try_lock().map_err(|e| match e {
                        TryLockError::Error(e) => StoreError::io("lock temp file", &path, e),
                        TryLockError::WouldBlock => StoreError::io(
                            "lock temp file",
                            &path,
                            std::io::Error::from(std::io::ErrorKind::WouldBlock),
                        ),
                    })?;
                    return Ok(TempFile {
                        path,
                        file: Some(file),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::io("create temp file", &path, e)),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&mut self) -> &mut File {
        // `file` is only taken by persist/discard, which consume self.
        match self.file.as_mut() {
            Some(f) => f,
            None => unreachable!("TempFile used after persist"),
        }
    }

    /// fsync the data, rename onto `dest`, fsync the destination directory.
    pub fn persist(mut self, dest: &Path) -> Result<(), StoreError> {
        if let Some(file) = self.file.as_ref() {
            file.sync_all()
                .map_err(|e| StoreError::io("fsync", &self.path, e))?;
        }
        std::fs::rename(&self.path, dest).map_err(|e| StoreError::io("rename into", dest, e))?;
        // Renamed: nothing to clean up any more. The lock dies with the descriptor.
        self.file = None;
        self.path = PathBuf::new();
        if let Some(parent) = dest.parent() {
            fsync_dir(parent)?;
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Make a rename or unlink in `dir` durable.
pub fn fsync_dir(dir: &Path) -> Result<(), StoreError> {
    let f = File::open(dir).map_err(|e| StoreError::io("open directory", dir, e))?;
    f.sync_all()
        .map_err(|e| StoreError::io("fsync directory", dir, e))
}

/// Write `bytes` to `dest` atomically through a temp file in `tmp_dir` (same filesystem).
pub fn atomic_write(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut tmp = TempFile::new_in(tmp_dir, "write")?;
    let path = tmp.path().to_path_buf();
    tmp.file()
        .write_all(bytes)
        .map_err(|e| StoreError::io("write", &path, e))?;
    tmp.persist(dest)
}

fn open_lock_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
        .map_err(|e| StoreError::io("open lock file", path, e))
}

/// Open (creating) a lock file and lock it, waiting as needed. The lock lives as long
/// as the returned file.
pub fn lock_file(path: &Path, shared: bool) -> Result<File, StoreError> {
    let file = open_lock_file(path)?;
    if shared {
        file.lock_shared()
            .map_err(|e| StoreError::io("lock (shared)", path, e))?;
    } else {
        file.lock()
            .map_err(|e| StoreError::io("lock (exclusive)", path, e))?;
    }
    Ok(file)
}

/// Like [`lock_file`] exclusive, but `Ok(None)` instead of waiting when it is held.
pub fn try_lock_exclusive(path: &Path) -> Result<Option<File>, StoreError> {
    let file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(StoreError::io("lock (exclusive)", path, e)),
    }
}

/// Whether a temp file (or directory) is left over by a dead writer (nobody holds its
/// lock). Returns the open, locked handle when it is stale so the caller can delete it.
pub fn stale_temp(path: &Path) -> Option<File> {
    let file = OpenOptions::new().read(true).open(path).ok()?;
    match file.try_lock() {
        Ok(()) => Some(file),
        Err(_) => None,
    }
}
