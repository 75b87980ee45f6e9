//! What the frontend hands the solver besides the graph: the image's metadata.

use sealer_image_cache::sealer_meta::{ImageExtension, Platform};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::graph::Definition;

/// Image configuration the exporter writes (merged with the base image's already).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ImageSpec {
    /// The `FROM` reference, if not scratch (recorded in history).
    pub base: Option<String>,
    pub platform: Platform,
    /// Environment (`ENV`), inherited from the base and extended.
    pub env: BTreeMap<String, String>,
    /// Config labels: inherited, `LABEL`, `CNI`/`CSI`, `KUBEVERSION`, `--label`.
    pub labels: BTreeMap<String, String>,
    /// `sealer.image.extension` content.
    pub extension: ImageExtension,
    /// One history line per Kubefile instruction, in order (`created_by`).
    pub history: Vec<String>,
}

/// A compiled Kubefile: the graph to solve and the metadata of the image it produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BuildDefinition {
    pub graph: Definition,
    pub image: ImageSpec,
}
