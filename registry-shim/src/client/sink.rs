//! Where pulled content goes ([`BlobSink`]) and where pushed content comes from
//! ([`BlobSource`]). Both are synchronous: the client drives them on blocking threads and
//! streams bytes to them through a bounded channel, so memory stays flat.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use crate::digest::{Digest, Hasher};
use crate::distribution_layout::{BlobWriter, Layout, LayoutError};

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("digest mismatch: expected {expected}, content hashes to {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error(transparent)]
    Layout(LayoutError),
    #[error("{0}")]
    Other(String),
}

impl From<LayoutError> for SinkError {
    fn from(e: LayoutError) -> Self {
        match e {
            LayoutError::DigestMismatch {
                expected, actual, ..
            } => Self::DigestMismatch { expected, actual },
            LayoutError::SizeMismatch {
                digest,
                expected,
                actual,
            } => Self::SizeMismatch {
                digest,
                expected,
                actual,
            },
            other => Self::Layout(other),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("blob {0} is not in the source")]
    Missing(Digest),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("reading {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// Receives verified content. Implementations MUST verify digest and size in
/// [`BlobWrite::commit`] and store nothing that does not verify.
pub trait BlobSink: Send + Sync {
    /// Whether the sink already holds this blob (it may link shared content to answer yes).
    fn has_blob(&self, digest: &Digest, size: u64) -> Result<bool, SinkError>;
    /// Start receiving a blob; `size` is checked on commit when known.
    fn begin_blob(
        &self,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<Box<dyn BlobWrite>, SinkError>;
    /// Manifest bytes if the sink has them.
    fn get_manifest(&self, digest: &Digest) -> Result<Option<Vec<u8>>, SinkError>;
    /// Store manifest bytes as fetched (children before the index that names them);
    /// `tag` is set on the root manifest only.
    fn put_manifest(
        &self,
        digest: &Digest,
        media_type: &str,
        bytes: &[u8],
        tag: Option<&str>,
    ) -> Result<(), SinkError>;
}

pub trait BlobWrite: Send {
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError>;
    /// Verify and make the blob visible; dropping without commit discards it.
    fn commit(self: Box<Self>) -> Result<(), SinkError>;
}

/// Provides content to push.
pub trait BlobSource: Send + Sync {
    /// A reader over the blob and its size.
    fn open_blob(&self, digest: &Digest) -> Result<(Box<dyn Read + Send>, u64), SourceError>;
    /// Manifest bytes exactly as stored.
    fn read_manifest(&self, digest: &Digest) -> Result<Vec<u8>, SourceError> {
        let (mut r, size) = self.open_blob(digest)?;
        let mut buf = Vec::with_capacity(size.min(4 << 20) as usize);
        r.by_ref()
            .take(8 << 20)
            .read_to_end(&mut buf)
            .map_err(|source| SourceError::Io {
                what: digest.to_string(),
                source,
            })?;
        Ok(buf)
    }
}

/// A distribution-layout repository as sink: blobs under `blobs/`, links under `repo`.
#[derive(Clone, Debug)]
pub struct LayoutSink {
    pub layout: Layout,
    pub repo: String,
}

impl LayoutSink {
    pub fn new(layout: Layout, repo: impl Into<String>) -> Self {
        Self {
            layout,
            repo: repo.into(),
        }
    }
}

struct LayoutWrite {
    w: BlobWriter,
    digest: Digest,
    size: Option<u64>,
}

impl BlobWrite for LayoutWrite {
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError> {
        Ok(self.w.write(chunk)?)
    }
    fn commit(self: Box<Self>) -> Result<(), SinkError> {
        let s = *self;
        s.w.commit(Some(&s.digest), s.size)?;
        Ok(())
    }
}

impl BlobSink for LayoutSink {
    fn has_blob(&self, digest: &Digest, size: u64) -> Result<bool, SinkError> {
        if self.layout.blob_size(digest)? != Some(size) {
            return Ok(false);
        }
        self.layout.link_blob(&self.repo, digest)?;
        Ok(true)
    }

    fn begin_blob(
        &self,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<Box<dyn BlobWrite>, SinkError> {
        Ok(Box::new(LayoutWrite {
            w: self.layout.blob_writer(&self.repo)?,
            digest: digest.clone(),
            size,
        }))
    }

    fn get_manifest(&self, digest: &Digest) -> Result<Option<Vec<u8>>, SinkError> {
        let p = self.layout.blob_path(digest);
        match std::fs::read(&p) {
            Ok(b) if Digest::of(&b) == *digest => Ok(Some(b)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SinkError::Other(format!("read {}: {e}", p.display()))),
        }
    }

    fn put_manifest(
        &self,
        digest: &Digest,
        _media_type: &str,
        bytes: &[u8],
        tag: Option<&str>,
    ) -> Result<(), SinkError> {
        let d = self.layout.put_manifest(&self.repo, tag, bytes)?;
        if d != *digest {
            return Err(SinkError::DigestMismatch {
                expected: digest.clone(),
                actual: d,
            });
        }
        Ok(())
    }
}

/// Push from a distribution layout (any repository's blobs are in the shared pool).
#[derive(Clone, Debug)]
pub struct LayoutSource {
    pub layout: Layout,
}

impl BlobSource for LayoutSource {
    fn open_blob(&self, digest: &Digest) -> Result<(Box<dyn Read + Send>, u64), SourceError> {
        let p = self.layout.blob_path(digest);
        let f = std::fs::File::open(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SourceError::Missing(digest.clone()),
            _ => SourceError::Io {
                what: p.display().to_string(),
                source: e,
            },
        })?;
        let size = f
            .metadata()
            .map_err(|source| SourceError::Io {
                what: p.display().to_string(),
                source,
            })?
            .len();
        Ok((Box::new(f), size))
    }
}

/// In-memory content store: a fake sink/source for tests and small tools.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<MemoryInner>>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    blobs: HashMap<Digest, Vec<u8>>,
    tags: HashMap<String, Digest>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add content; returns its digest.
    pub fn insert(&self, bytes: Vec<u8>) -> Digest {
        let d = Digest::of(&bytes);
        self.lock().blobs.insert(d.clone(), bytes);
        d
    }

    pub fn get(&self, d: &Digest) -> Option<Vec<u8>> {
        self.lock().blobs.get(d).cloned()
    }

    pub fn tag(&self, tag: &str) -> Option<Digest> {
        self.lock().tags.get(tag).cloned()
    }

    pub fn len(&self) -> usize {
        self.lock().blobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct MemoryWrite {
    store: MemoryStore,
    digest: Digest,
    size: Option<u64>,
    buf: Vec<u8>,
    hasher: Hasher,
}

impl BlobWrite for MemoryWrite {
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError> {
        self.hasher.update(chunk);
        self.buf.extend_from_slice(chunk);
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<(), SinkError> {
        let s = *self;
        if let Some(size) = s.size.filter(|n| *n != s.hasher.len()) {
            return Err(SinkError::SizeMismatch {
                digest: s.digest,
                expected: size,
                actual: s.hasher.len(),
            });
        }
        let actual = s.hasher.finish();
        if actual != s.digest {
            return Err(SinkError::DigestMismatch {
                expected: s.digest,
                actual,
            });
        }
        s.store.lock().blobs.insert(s.digest, s.buf);
        Ok(())
    }
}

impl BlobSink for MemoryStore {
    fn has_blob(&self, digest: &Digest, size: u64) -> Result<bool, SinkError> {
        Ok(self
            .lock()
            .blobs
            .get(digest)
            .is_some_and(|b| b.len() as u64 == size))
    }
    fn begin_blob(
        &self,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<Box<dyn BlobWrite>, SinkError> {
        Ok(Box::new(MemoryWrite {
            store: self.clone(),
            digest: digest.clone(),
            size,
            buf: Vec::new(),
            hasher: Hasher::new(),
        }))
    }
    fn get_manifest(&self, digest: &Digest) -> Result<Option<Vec<u8>>, SinkError> {
        Ok(self.get(digest))
    }
    fn put_manifest(
        &self,
        digest: &Digest,
        _mt: &str,
        bytes: &[u8],
        tag: Option<&str>,
    ) -> Result<(), SinkError> {
        let actual = Digest::of(bytes);
        if actual != *digest {
            return Err(SinkError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        let mut g = self.lock();
        g.blobs.insert(actual.clone(), bytes.to_vec());
        if let Some(t) = tag {
            g.tags.insert(t.to_string(), actual);
        }
        Ok(())
    }
}

impl BlobSource for MemoryStore {
    fn open_blob(&self, digest: &Digest) -> Result<(Box<dyn Read + Send>, u64), SourceError> {
        let b = self
            .get(digest)
            .ok_or_else(|| SourceError::Missing(digest.clone()))?;
        let n = b.len() as u64;
        Ok((Box::new(std::io::Cursor::new(b)), n))
    }
}
