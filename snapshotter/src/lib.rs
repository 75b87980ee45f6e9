//! Copy-on-write snapshots and deterministic layer diffs.
//!
//! - [`DiffSource`]s ([`CopyDiff`], [`UpperDirDiff`], [`WalkDiff`]) write a layer's entries as a
//!   deterministic tar stream (sorted by path bytes, uid/gid 0, mtimes clamped to
//!   [`TarOptions::source_date_epoch`], hardlinks as links, xattrs dropped, OCI whiteouts).
//! - [`write_layer`] streams that tar through the diffID hash and a multithreaded compressor
//!   (zstdmt or pigz-style gzip) into any `Write`, with bounded memory; the compressed bytes do
//!   not depend on the number of threads.
//! - [`apply_layer`] extracts a layer blob from any `Read`, safely, in plain or overlay form.
//! - [`Snapshotter`]s prepare writable root filesystems from layer chains:
//!   [`OverlaySnapshotter`] (root, overlayfs) and [`CopySnapshotter`] (anywhere, also the test
//!   double for other crates).
//!
//! This crate knows nothing about the content store: blobs come in as files or readers and
//! go out through writers.

mod apply;
mod compression;
mod copy_diff;
mod copy_snap;
mod error;
mod layer;
mod manifest;
mod overlay;
mod pargz;
mod snapshot;
mod sys;
mod tarout;
mod upper_diff;
mod walk_diff;
mod zstdw;

mod maintenance;
pub use apply::{ApplyMode, apply_layer, apply_layer_digest};
pub use compression::{Compression, MEDIA_TYPE_TAR, MEDIA_TYPE_TAR_GZIP, MEDIA_TYPE_TAR_ZSTD};
pub use copy_diff::{CopyDiff, CopyEntry};
pub use copy_snap::CopySnapshotter;
pub use error::SnapshotError;
pub use layer::{
    DiffSource, LayerStats, MAX_DEFAULT_THREADS, TarOptions, write_layer, write_layer_threads,
};
pub use maintenance::{clear_caches, remove_stale_snapshots};
pub use manifest::{EntryKind, EntryMeta, Manifest};
pub use overlay::OverlaySnapshotter;
pub use snapshot::{ActiveSnapshot, LayerBlobRef, Snapshotter};
pub use upper_diff::UpperDirDiff;
pub use walk_diff::WalkDiff;
