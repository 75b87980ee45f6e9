//! The rootfs on hosts: manifests with digests, install-time overlays, and digest-checked distribution.

pub mod distribute;
pub mod manifest;
pub mod overlay;

pub use distribute::{DistributeStats, Target, distribute, distribute_all};
pub use manifest::{Entry, EntryKind, Manifest, ManifestError};
pub use overlay::Overlay;
