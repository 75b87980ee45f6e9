//! Base images (`FROM <image>`): what the frontend needs to know about them, asked through
//! [`BaseImageResolver`] (the crate does no IO).

use sealer_image_cache::sealer_meta::{ImageExtension, Platform};
use std::collections::BTreeMap;

/// The metadata a child image inherits from its base.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BaseImage {
    /// The reference as resolved (for history and errors).
    pub reference: String,
    /// Config labels.
    pub labels: BTreeMap<String, String>,
    /// Config environment.
    pub env: BTreeMap<String, String>,
    /// `sealer.image.extension` (its applications and global env are inherited; its launch
    /// settings and type are not).
    pub extension: ImageExtension,
}

/// Looks up a base image's metadata (the solver's implementation pulls manifest + config).
pub trait BaseImageResolver {
    fn resolve(&self, reference: &str, platform: &Platform) -> Result<BaseImage, String>;
}

/// An in-memory resolver for tests: images by reference, any platform.
#[derive(Debug, Clone, Default)]
pub struct MemBaseImages {
    images: BTreeMap<String, BaseImage>,
}

impl MemBaseImages {
    pub fn new() -> MemBaseImages {
        MemBaseImages::default()
    }

    pub fn with(mut self, image: BaseImage) -> MemBaseImages {
        self.images.insert(image.reference.clone(), image);
        self
    }
}

impl BaseImageResolver for MemBaseImages {
    fn resolve(&self, reference: &str, _platform: &Platform) -> Result<BaseImage, String> {
        self.images
            .get(reference)
            .cloned()
            .ok_or_else(|| format!("image {reference} not found"))
    }
}
