//! sealer's registry pieces: the CNCF distribution on-disk layout, an OCI distribution
//! server with a multi-upstream pull-through proxy, a streaming registry client, and the
//! build helpers that embed container images into a cluster image's `registry/` tree.

pub mod access_log;
pub mod client;
pub mod digest;
pub mod distribution_layout;
pub mod embed;
pub mod manifest;
pub mod platform;
pub mod proxy;
pub mod reference;
pub mod server;
mod timefmt;

pub use digest::Digest;
pub use distribution_layout::Layout;
pub use platform::Platform;
pub use reference::ImageReference;

/// Install rustls' ring provider as the process-wide default (idempotent). Every rustls or
/// reqwest user in the program needs it: the workspace links ring only.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
