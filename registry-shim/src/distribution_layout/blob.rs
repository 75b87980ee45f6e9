//! Verified blob ingest through `_uploads/<uuid>/data`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Layout, LayoutError, Result, io_err};
use crate::digest::{Digest, Hasher};

/// A temporary upload directory `_uploads/<uuid>` holding `data` and `startedat`.
#[derive(Debug)]
pub struct UploadDir {
    id: String,
    dir: PathBuf,
}

impl UploadDir {
    pub(crate) fn create(uploads: &Path) -> Result<Self> {
        let id = new_upload_id();
        let dir = uploads.join(&id);
        std::fs::create_dir_all(&dir).map_err(io_err("create upload directory", &dir))?;
        let started = dir.join("startedat");
        std::fs::write(&started, crate::timefmt::now_rfc3339())
            .map_err(io_err("write", &started))?;
        let data = dir.join("data");
        File::create(&data).map_err(io_err("create", &data))?;
        Ok(Self { id, dir })
    }

    pub(crate) fn from_existing(id: String, dir: PathBuf) -> Self {
        Self { id, dir }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn data_path(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Current size of the uploaded data.
    pub fn len(&self) -> Result<u64> {
        let p = self.data_path();
        Ok(std::fs::metadata(&p).map_err(io_err("stat", &p))?.len())
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Remove the upload directory (after install or on cancel).
    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// Verify `data` hashes to `expected` (via `hasher`, which saw every byte), then move it
    /// into `blobs/` and link it into `repo`.
    pub fn finish(
        &self,
        layout: &Layout,
        repo: &str,
        hasher: Hasher,
        expected: &Digest,
    ) -> Result<u64> {
        self.finish_with(layout, repo, hasher, expected, true)
    }

    pub(crate) fn finish_with(
        &self,
        layout: &Layout,
        repo: &str,
        hasher: Hasher,
        expected: &Digest,
        link: bool,
    ) -> Result<u64> {
        let size = hasher.len();
        let actual = hasher.finish();
        if actual != *expected {
            self.remove();
            return Err(LayoutError::DigestMismatch {
                expected: expected.clone(),
                actual,
                size,
            });
        }
        if layout.blob_size(expected)? == Some(size) {
            self.remove();
        } else {
            layout.install_blob(&self.data_path(), expected)?;
            self.remove();
        }
        super::set_mode(&layout.blob_path(expected), 0o644);
        if link {
            layout.link_blob(repo, expected)?;
        }
        Ok(size)
    }
}

/// A random id in UUID text form (what distribution uses for upload ids).
pub(crate) fn new_upload_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // Fall back to time and a counter; ids need only be unique, not secret.
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        b[..8].copy_from_slice(&t.to_le_bytes());
        b[8..].copy_from_slice(
            &(N.fetch_add(1, Ordering::Relaxed) ^ u64::from(std::process::id())).to_le_bytes(),
        );
    }
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Streams a blob into an upload, hashing as it goes; [`BlobWriter::commit`] verifies and
/// installs it. Dropping an uncommitted writer deletes the partial data.
pub struct BlobWriter {
    layout: Layout,
    repo: String,
    upload: UploadDir,
    file: Option<File>,
    hasher: Hasher,
    done: bool,
    link: bool,
}

impl BlobWriter {
    pub(crate) fn new(layout: Layout, repo: String, upload: UploadDir) -> Result<Self> {
        let p = upload.data_path();
        let file = File::options()
            .append(true)
            .open(&p)
            .map_err(io_err("open", &p))?;
        Ok(Self {
            layout,
            repo,
            upload,
            file: Some(file),
            hasher: Hasher::new(),
            done: false,
            link: true,
        })
    }

    /// Do not link the blob into the repository's `_layers` (manifests are linked as
    /// revisions instead, as distribution does).
    pub(crate) fn without_layer_link(mut self) -> Self {
        self.link = false;
        self
    }

    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let p = self.upload.data_path();
        let f = self.file.as_mut().ok_or_else(|| LayoutError::Io {
            action: "write to finished upload",
            path: p.clone(),
            source: std::io::Error::other("writer already finished"),
        })?;
        f.write_all(chunk).map_err(io_err("write", &p))?;
        self.hasher.update(chunk);
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.hasher.len()
    }

    /// Verify against `expected` (when given) and `expected_size`, then install. Returns the
    /// digest of the content.
    pub fn commit(
        mut self,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<Digest> {
        self.done = true;
        drop(self.file.take());
        let hasher = std::mem::take(&mut self.hasher);
        let digest = match expected {
            Some(d) => d.clone(),
            None => hasher.clone().finish(),
        };
        if let Some(size) = expected_size
            && size != hasher.len()
        {
            self.upload.remove();
            return Err(LayoutError::SizeMismatch {
                digest,
                expected: size,
                actual: hasher.len(),
            });
        }
        self.upload
            .finish_with(&self.layout, &self.repo, hasher, &digest, self.link)?;
        Ok(digest)
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.done {
            self.upload.remove();
        }
    }
}
