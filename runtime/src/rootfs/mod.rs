//! The rootfs on hosts: manifests with digests, install-time overlays, and digest-checked distribution.

pub mod distribute;
mod items;
pub mod manifest;
pub mod overlay;
mod tarstream;

pub use distribute::{DistributeStats, Target, distribute, distribute_all};
pub use manifest::{Entry, EntryKind, Manifest, ManifestError};
pub use overlay::Overlay;
