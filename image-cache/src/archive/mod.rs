//! OCI archives: a tar of an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/*`),
//! optionally zstd-compressed; readable by `skopeo … oci-archive:FILE:NAME` when uncompressed.

mod load;
mod save;

pub use load::load;
pub use save::save;

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
