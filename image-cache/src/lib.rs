//! The local content store: an OCI image layout with verified, atomic blobs and a locked index.
//!
//! The store root is a plain OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`)
//! that skopeo, umoci and oci-image-tool read directly; private state lives beside it
//! (`tmp/`, `cache/`, `locks/`; `snapshots/` belongs to the snapshotter).

pub mod archive;
pub mod cache_record;
pub mod digest;
pub mod error;
pub mod fsck;
mod fsutil;
pub mod gc;
pub mod reference;
pub mod sealer_meta;
pub mod store;
mod walk;

pub use cache_record::{CacheRecord, LayerRef};
pub use error::StoreError;
pub use fsck::FsckReport;
pub use gc::{PruneOptions, PruneReport};
pub use store::{BlobWriter, ImageEntry, Store, StoreLease};
pub use walk::MANIFEST_LIMIT;
