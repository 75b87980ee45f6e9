//! OCI archives: a tar of an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/*`),
//! optionally zstd-compressed; readable by `skopeo … oci-archive:FILE:NAME` when uncompressed
//! and complete.
//!
//! Offline bundles build on it: [`save_split`] cuts the stream into volumes that
//! [`load_path`] reassembles ([`volumes`]); [`inventory`] lists what a site holds and
//! [`SaveOptions::since`] writes a delta that leaves those layers out ([`bundle`]).

pub mod bundle;
pub mod inventory;
mod load;
mod pipe;
mod save;
mod size;
pub mod volumes;

pub use bundle::BundleInfo;
pub use inventory::{Inventory, InventoryImage, inventory, inventory_of_dir};
pub use load::{load, load_path};
pub use save::{SaveOptions, SaveReport, save, save_split, save_with};
pub use size::parse_size;
pub use volumes::{SplitWriter, VolumeEntry, VolumeManifest, VolumeReader};

/// Compression of the whole archive stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchiveCompression {
    /// A plain tar (what `skopeo`/`podman load` read).
    #[default]
    None,
    /// zstd over the tar (multi-threaded encoder; output does not depend on thread count).
    Zstd,
}

/// Annotation other tools (containerd, docker ≥ 25) use for the full image name.
pub(crate) const CONTAINERD_IMAGE_NAME: &str = "io.containerd.image.name";
/// Largest `index.json` accepted from an archive.
pub(crate) const INDEX_LIMIT: u64 = 16 << 20;
