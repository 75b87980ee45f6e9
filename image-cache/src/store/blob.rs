//! Blob ingest (streaming, hashed, atomic) and verified reads.

use std::fs::File;
use std::io::{Read, Write};

use oci_spec::image::Digest;

use super::Store;
use crate::digest::{Hasher, ensure_sha256};
use crate::error::StoreError;
use crate::fsutil::TempFile;

const WRITE_BUFFER: usize = 1 << 20;
/// Writeback of a large blob is started every this many bytes, so the fsync in
/// [`BlobWriter::finish`] finds most of it on disk already: disk writes overlap the producer
/// (download, decompression) instead of all waiting at the end.
const WRITEBACK_CHUNK: u64 = 8 << 20;

/// Streams a blob into `tmp/`, hashing as it goes. [`BlobWriter::finish`] verifies and
/// renames it into `blobs/sha256/`; dropping it unfinished removes the temp file.
pub struct BlobWriter {
    store: Store,
    tmp: TempFile,
    hasher: Hasher,
    buf: Vec<u8>,
    /// Bytes in the temp file, and how many of them have had writeback started.
    in_file: u64,
    writeback_started: u64,
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("temp", &self.tmp.path())
            .field("written", &self.hasher.len())
            .finish()
    }
}

impl BlobWriter {
    fn flush_buf(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let buf = std::mem::take(&mut self.buf);
            let written = self.write_file(&buf);
            self.buf = buf;
            self.buf.clear();
            written?;
        }
        Ok(())
    }

    fn write_file(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.tmp.file().write_all(data)?;
        self.in_file += data.len() as u64;
        let pending = self.in_file - self.writeback_started;
        if pending >= WRITEBACK_CHUNK {
            start_writeback(self.tmp.file(), self.writeback_started, pending);
            self.writeback_started = self.in_file;
        }
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.hasher.len()
    }

    /// Verify against `expected` (when given), fsync, and atomically rename into place.
    /// Idempotent: if the blob is already stored the temp file is dropped. On a digest
    /// mismatch nothing is stored and the error names both digests.
    pub fn finish(mut self, expected: Option<&Digest>) -> Result<(Digest, u64), StoreError> {
        if let Some(e) = expected {
            ensure_sha256(e)?;
        }
        let tmp_path = self.tmp.path().to_path_buf();
        self.flush_buf()
            .map_err(|e| StoreError::io("write", &tmp_path, e))?;
        let size = self.hasher.len();
        let digest = std::mem::take(&mut self.hasher).finish();
        if let Some(e) = expected
            && *e != digest
        {
            return Err(StoreError::DigestMismatch {
                expected: e.to_string(),
                actual: digest.to_string(),
                size,
            });
        }
        let dest = self.store.blob_path(&digest);
        if dest.is_file() {
            return Ok((digest, size));
        }
        self.tmp.persist(&dest)?;
        Ok((digest, size))
    }
}

/// Ask the kernel to start writing `len` bytes at `offset` back to disk, without waiting
/// (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`). Best effort: durability still comes from
/// the fsync before the blob is renamed into place.
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the fd is open for the lifetime of `file`; the call only reads its arguments.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

impl Write for BlobWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > WRITE_BUFFER {
            self.flush_buf()?;
        }
        if data.len() >= WRITE_BUFFER {
            self.write_file(data)?;
        } else {
            self.buf.extend_from_slice(data);
        }
        self.hasher.update(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flush_buf()
    }
}

impl Store {
    /// Whether a sha256 blob is present (not verified).
    pub fn has_blob(&self, digest: &Digest) -> bool {
        ensure_sha256(digest).is_ok() && self.blob_path(digest).is_file()
    }

    /// Start streaming a new blob.
    pub fn blob_writer(&self) -> Result<BlobWriter, StoreError> {
        Ok(BlobWriter {
            store: self.clone(),
            tmp: TempFile::new_in(&self.tmp_dir(), "blob")?,
            hasher: Hasher::new(),
            buf: Vec::with_capacity(WRITE_BUFFER),
            in_file: 0,
            writeback_started: 0,
        })
    }

    /// Store a small blob from memory.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        let digest = crate::digest::sha256_of(bytes);
        if self.has_blob(&digest) {
            return Ok(digest);
        }
        let mut w = self.blob_writer()?;
        let tmp = w.tmp.path().to_path_buf();
        w.write_all(bytes)
            .map_err(|e| StoreError::io("write", tmp, e))?;
        Ok(w.finish(Some(&digest))?.0)
    }

    /// Read a whole blob, verifying its digest; refuses blobs larger than `limit`.
    pub fn read_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, StoreError> {
        let file = self.open_blob(digest)?;
        let path = self.blob_path(digest);
        let size = file
            .metadata()
            .map_err(|e| StoreError::io("stat", &path, e))?
            .len();
        if size > limit {
            return Err(StoreError::BlobTooLarge {
                digest: digest.to_string(),
                size,
                limit,
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| StoreError::io("read", &path, e))?;
        if bytes.len() as u64 > limit {
            return Err(StoreError::BlobTooLarge {
                digest: digest.to_string(),
                size: bytes.len() as u64,
                limit,
            });
        }
        let actual = crate::digest::sha256_of(&bytes);
        if actual != *digest {
            return Err(StoreError::DigestMismatch {
                expected: digest.to_string(),
                actual: actual.to_string(),
                size: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    /// Open a blob for streaming reads (not verified; use `fsck` or hash while reading).
    pub fn open_blob(&self, digest: &Digest) -> Result<File, StoreError> {
        ensure_sha256(digest)?;
        let path = self.blob_path(digest);
        File::open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StoreError::BlobNotFound {
                    digest: digest.to_string(),
                }
            } else {
                StoreError::io("open blob", &path, e)
            }
        })
    }
}
