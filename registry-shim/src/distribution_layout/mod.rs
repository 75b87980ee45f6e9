//! The CNCF distribution on-disk layout (what `docker-registry`'s filesystem driver writes):
//!
//! ```text
//! <root>/docker/registry/v2/blobs/sha256/<2hex>/<hex>/data
//! <root>/docker/registry/v2/repositories/<repo>/_layers/sha256/<hex>/link
//! <root>/docker/registry/v2/repositories/<repo>/_manifests/revisions/sha256/<hex>/link
//! <root>/docker/registry/v2/repositories/<repo>/_manifests/tags/<tag>/current/link
//! <root>/docker/registry/v2/repositories/<repo>/_manifests/tags/<tag>/index/sha256/<hex>/link
//! <root>/docker/registry/v2/repositories/<repo>/_uploads/<uuid>/{data,startedat}
//! ```
//!
//! Every file is written to a temporary name next to its final place and renamed, blobs are
//! hashed while written and only renamed into `blobs/` when the digest matches.

mod blob;
mod repo;

use std::io;
use std::path::{Path, PathBuf};

pub use blob::{BlobWriter, UploadDir};
pub use repo::StoredManifest;

use crate::digest::Digest;

/// Errors of the on-disk layout; each names the path or digest involved.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("digest mismatch: expected {expected}, content hashes to {actual} ({size} bytes)")]
    DigestMismatch {
        expected: Digest,
        actual: Digest,
        size: u64,
    },
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("invalid repository name `{0}`")]
    InvalidRepository(String),
    #[error("invalid tag `{0}`")]
    InvalidTag(String),
    #[error("corrupt link file {path}: `{content}` is not a digest")]
    CorruptLink { path: PathBuf, content: String },
    #[error("blob {digest} referenced by repository {repo} is missing from {path}")]
    MissingBlob {
        repo: String,
        digest: Digest,
        path: PathBuf,
    },
}

pub type Result<T, E = LayoutError> = std::result::Result<T, E>;

pub(crate) fn io_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(io::Error) -> LayoutError + use<> {
    let path = path.to_path_buf();
    move |source| LayoutError::Io {
        action,
        path,
        source,
    }
}

/// A distribution-layout directory. `root` is what docker-registry calls `rootdirectory`
/// (the directory holding `docker/`); it need not exist yet.
#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/docker/registry/v2`.
    pub fn v2(&self) -> PathBuf {
        self.root.join("docker/registry/v2")
    }

    /// Path of a blob's `data` file.
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.v2()
            .join("blobs/sha256")
            .join(&d.hex()[..2])
            .join(d.hex())
            .join("data")
    }

    /// Size of a stored blob, `None` when absent.
    pub fn blob_size(&self, d: &Digest) -> Result<Option<u64>> {
        let p = self.blob_path(d);
        match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("stat", &p)(e)),
        }
    }

    /// `<v2>/repositories/<repo>`, after checking the name cannot escape the tree.
    pub fn repo_dir(&self, repo: &str) -> Result<PathBuf> {
        if !crate::reference::valid_repository(repo) {
            return Err(LayoutError::InvalidRepository(repo.to_string()));
        }
        Ok(self.v2().join("repositories").join(repo))
    }

    /// Whether the repository has any manifests or blobs.
    pub fn repo_exists(&self, repo: &str) -> bool {
        self.repo_dir(repo)
            .map(|d| d.join("_manifests").is_dir() || d.join("_layers").is_dir())
            .unwrap_or(false)
    }

    /// Start a temporary upload (`_uploads/<uuid>`) in `repo`.
    pub fn new_upload(&self, repo: &str) -> Result<UploadDir> {
        UploadDir::create(&self.repo_dir(repo)?.join("_uploads"))
    }

    /// Reopen an upload by id (for chunked uploads spanning several requests).
    pub fn upload(&self, repo: &str, id: &str) -> Result<Option<UploadDir>> {
        if !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') || id.is_empty() {
            return Ok(None);
        }
        let dir = self.repo_dir(repo)?.join("_uploads").join(id);
        Ok(dir
            .join("data")
            .is_file()
            .then(|| UploadDir::from_existing(id.to_string(), dir)))
    }

    /// A writer that stores a blob into `repo` once its content verifies.
    pub fn blob_writer(&self, repo: &str) -> Result<BlobWriter> {
        BlobWriter::new(self.clone(), repo.to_string(), self.new_upload(repo)?)
    }

    /// Store a small blob (manifest, config) from memory, verifying `expected` if given,
    /// and link it into `repo` as a layer.
    pub fn write_blob_bytes(
        &self,
        repo: &str,
        bytes: &[u8],
        expected: Option<&Digest>,
    ) -> Result<Digest> {
        let actual = Digest::of(bytes);
        if let Some(e) = expected
            && *e != actual
        {
            return Err(LayoutError::DigestMismatch {
                expected: e.clone(),
                actual,
                size: bytes.len() as u64,
            });
        }
        if self.blob_size(&actual)? != Some(bytes.len() as u64) {
            let mut w = self.blob_writer(repo)?;
            w.write(bytes)?;
            w.commit(Some(&actual), Some(bytes.len() as u64))?;
        }
        Ok(actual)
    }

    /// Move a finished upload's data into `blobs/` (after the caller verified it).
    pub(crate) fn install_blob(&self, data: &Path, d: &Digest) -> Result<()> {
        let dest = self.blob_path(d);
        let parent = dest.parent().unwrap_or(&dest);
        std::fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
        std::fs::rename(data, &dest).map_err(io_err("move blob into", &dest))
    }
}

/// Write `content` to `path` atomically (temporary file in the same directory + rename).
pub(crate) fn atomic_write(path: &Path, content: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(io_err("create temporary file in", dir))?;
    tmp.write_all(content)
        .map_err(io_err("write", tmp.path()))?;
    tmp.persist(path).map_err(|e| LayoutError::Io {
        action: "rename into",
        path: path.to_path_buf(),
        source: e.error,
    })?;
    // tempfile creates 0600; registries and tar exports want world-readable links.
    set_mode(path, 0o644);
    Ok(())
}

pub(crate) fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(test)]
#[path = "../tests/distribution_layout.rs"]
mod tests;
