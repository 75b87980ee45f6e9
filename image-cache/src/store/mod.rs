//! The store handle: layout creation, paths and the gc lease.
//!
//! On disk (`ROOT` is a plain OCI image layout, readable by skopeo/umoci):
//! ```text
//! ROOT/oci-layout  ROOT/index.json  ROOT/blobs/sha256/<hex>
//! ROOT/tmp/            temp files (same filesystem, renamed into blobs/)
//! ROOT/cache/records/  build cache records, <hex>.json
//! ROOT/locks/          index.lock (index.json writers), gc.lock (builds shared, prune exclusive)
//! ROOT/snapshots/      owned by the snapshotter, never touched here
//! ```

mod blob;
mod image;
pub(crate) mod index;

use std::fs::File;
use std::path::{Path, PathBuf};

use oci_spec::image::Digest;

pub use blob::BlobWriter;
pub use index::ImageEntry;

use crate::error::StoreError;
use crate::fsutil::{atomic_write, lock_file};

/// Content of the `oci-layout` file.
pub const OCI_LAYOUT_JSON: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;
const EMPTY_INDEX_JSON: &str = "{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n  \"manifests\": []\n}\n";
/// Names a store root may contain besides the layout files.
const KNOWN_ENTRIES: &[&str] = &[
    "oci-layout",
    "index.json",
    "blobs",
    "tmp",
    "cache",
    "locks",
    // Regenerable state of the CLI: materialized image root filesystems, cluster state,
    // and (on a runtime host) sealer's default dataRoot.
    "rootfs",
    "clusters",
    "data",
    "snapshots",
];

/// A handle on a store root. Cheap; several handles (threads or processes) may share a root.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// Held by a build for its whole duration (shared lock on `locks/gc.lock`): while any
/// lease is alive, [`Store::prune`] refuses to run. Dropping it releases the lock.
#[derive(Debug)]
pub struct StoreLease {
    _file: File,
}

impl Store {
    /// Open a store, creating the layout if `root` is missing or empty. A non-empty
    /// directory without `oci-layout` is refused.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let root = std::path::absolute(root).map_err(|e| StoreError::io("resolve", root, e))?;
        match std::fs::metadata(&root) {
            Ok(m) if !m.is_dir() => return Err(StoreError::NotALayout { path: root }),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&root)
                    .map_err(|e| StoreError::io("create store root", &root, e))?;
            }
            Err(e) => return Err(StoreError::io("stat store root", &root, e)),
        }
        let store = Store { root };
        let layout = store.root.join("oci-layout");
        let have_layout = layout.exists();
        if have_layout {
            store.check_layout_version(&layout)?;
        } else {
            store.ensure_only_known_entries()?;
        }
        for dir in [
            store.root.join("blobs").join("sha256"),
            store.tmp_dir(),
            store.records_dir(),
            store.locks_dir(),
        ] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| StoreError::io("create directory", &dir, e))?;
        }
        if !have_layout {
            atomic_write(&store.tmp_dir(), &layout, OCI_LAYOUT_JSON.as_bytes())?;
        }
        let index = store.index_path();
        if !index.exists() {
            let _guard = lock_file(&store.index_lock_path(), false)?;
            if !index.exists() {
                atomic_write(&store.tmp_dir(), &index, EMPTY_INDEX_JSON.as_bytes())?;
            }
        }
        Ok(store)
    }

    fn check_layout_version(&self, layout: &Path) -> Result<(), StoreError> {
        let text = std::fs::read(layout).map_err(|e| StoreError::io("read", layout, e))?;
        let value: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| StoreError::json(layout.display().to_string(), e))?;
        let version = value
            .get("imageLayoutVersion")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if version != "1.0.0" {
            return Err(StoreError::LayoutVersion {
                path: layout.to_path_buf(),
                version: version.to_string(),
            });
        }
        Ok(())
    }

    fn ensure_only_known_entries(&self) -> Result<(), StoreError> {
        let entries =
            std::fs::read_dir(&self.root).map_err(|e| StoreError::io("list", &self.root, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("list", &self.root, e))?;
            let name = entry.file_name();
            if !KNOWN_ENTRIES.iter().any(|k| name == *k) {
                return Err(StoreError::NotALayout {
                    path: self.root.clone(),
                });
            }
        }
        Ok(())
    }

    /// The store root (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `ROOT/blobs/<algorithm>/<hex>` (whether or not it exists).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().as_ref())
            .join(digest.digest())
    }

    pub(crate) fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub(crate) fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    pub(crate) fn records_dir(&self) -> PathBuf {
        self.root.join("cache").join("records")
    }

    pub(crate) fn locks_dir(&self) -> PathBuf {
        self.root.join("locks")
    }

    pub(crate) fn index_lock_path(&self) -> PathBuf {
        self.locks_dir().join("index.lock")
    }

    pub(crate) fn gc_lock_path(&self) -> PathBuf {
        self.locks_dir().join("gc.lock")
    }

    /// Take a build lease: a shared lock on the gc lock file. Blocks while a prune runs.
    /// Do not call [`Store::prune`] from a thread that holds a lease: it reports `Busy`.
    pub fn lease(&self) -> Result<StoreLease, StoreError> {
        Ok(StoreLease {
            _file: lock_file(&self.gc_lock_path(), true)?,
        })
    }

    /// The gc lock held exclusively, or `None` while any build holds a lease. Housekeeping of
    /// regenerable state beside the layout (unpacked snapshots) runs under it.
    pub fn try_exclusive_lease(&self) -> Result<Option<StoreLease>, StoreError> {
        Ok(crate::fsutil::try_lock_exclusive(&self.gc_lock_path())?
            .map(|file| StoreLease { _file: file }))
    }
}
