//! What the runtime needs from the image store: a materialized rootfs plus sealer metadata.

use sealer_image_cache::sealer_meta::{ContainerImage, ImageExtension, Platform};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// One cluster image, ready to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// The reference as the user wrote it.
    pub name: String,
    /// A stable identity (manifest digest); progress records are keyed by it.
    pub id: String,
    /// Directory holding the unpacked rootfs (bin/, etc/, scripts/, registry/, ...).
    pub rootfs: PathBuf,
    pub extension: ImageExtension,
    pub container_images: Vec<ContainerImage>,
    /// The platform this rootfs is for; hosts must match its architecture.
    pub platform: Platform,
}

/// A failure getting an image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image {name} not found locally: pull or build it first")]
    NotFound { name: String },
    #[error("image {name}: {message}")]
    Other { name: String, message: String },
}

/// Resolves image names to materialized rootfs directories. The CLI implements it over the store.
pub trait ImageProvider: Send + Sync {
    fn image(&self, name: &str) -> Result<ImageInfo, ImageError>;
}

/// An in-memory provider over prepared directories (tests, or callers that unpacked an image).
#[derive(Default)]
pub struct DirImageProvider {
    images: Mutex<BTreeMap<String, ImageInfo>>,
}

impl DirImageProvider {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn insert(&self, info: ImageInfo) {
        if let Ok(mut g) = self.images.lock() {
            g.insert(info.name.clone(), info);
        }
    }
}

impl ImageProvider for DirImageProvider {
    fn image(&self, name: &str) -> Result<ImageInfo, ImageError> {
        let found = self.images.lock().ok().and_then(|g| g.get(name).cloned());
        let info = found.ok_or_else(|| ImageError::NotFound {
            name: name.to_string(),
        })?;
        if !info.rootfs.is_dir() {
            return Err(ImageError::Other {
                name: name.to_string(),
                message: format!("rootfs {} is not a directory", info.rootfs.display()),
            });
        }
        Ok(info)
    }
}

/// The registry domain of an image reference (`docker.io` when none is given).
pub fn registry_domain(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => "docker.io".to_string(),
    }
}

#[cfg(test)]
#[path = "tests/image.rs"]
mod tests;
