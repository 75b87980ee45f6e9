//! Media types and a lenient view of manifests: just the references a registry must follow.
//! Raw manifest bytes are always kept as fetched; these structs are never re-serialized.

use serde::Deserialize;

use crate::digest::Digest;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_V1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const DOCKER_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";

/// The `Accept` header a client sends for manifests.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// A content descriptor.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default)]
    pub urls: Vec<String>,
    #[serde(default)]
    pub platform: Option<DescriptorPlatform>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct DescriptorPlatform {
    pub architecture: String,
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

/// What a manifest refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Manifest {
    /// An image manifest (OCI or Docker schema 2).
    Image {
        media_type: String,
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    /// An OCI index or Docker manifest list.
    Index {
        media_type: String,
        manifests: Vec<Descriptor>,
    },
    /// Something we store and serve but do not walk (schema 1, unknown artifacts).
    Other { media_type: String },
}

#[derive(Debug, thiserror::Error)]
#[error("manifest is not valid JSON: {0}")]
pub struct ManifestError(#[from] pub serde_json::Error);

impl Manifest {
    /// Parse, sniffing the media type when the document does not state it.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let raw: RawManifest = serde_json::from_slice(bytes)?;
        if raw.schema_version == Some(1) {
            let signed = bytes.windows(10).any(|w| w == b"signatures");
            let mt = if signed { DOCKER_V1_SIGNED } else { DOCKER_V1 };
            return Ok(Self::Other {
                media_type: mt.to_string(),
            });
        }
        if let Some(manifests) = raw.manifests {
            let media_type = raw.media_type.unwrap_or_else(|| OCI_INDEX.to_string());
            return Ok(Self::Index {
                media_type,
                manifests,
            });
        }
        if let Some(config) = raw.config {
            let media_type = raw.media_type.unwrap_or_else(|| OCI_MANIFEST.to_string());
            let layers = raw.layers.unwrap_or_default();
            return Ok(Self::Image {
                media_type,
                config,
                layers,
            });
        }
        Ok(Self::Other {
            media_type: raw.media_type.unwrap_or_else(|| OCI_MANIFEST.to_string()),
        })
    }

    pub fn media_type(&self) -> &str {
        match self {
            Self::Image { media_type, .. }
            | Self::Index { media_type, .. }
            | Self::Other { media_type } => media_type,
        }
    }
}

/// Whether a media type names a manifest (as opposed to a blob).
pub fn is_manifest_media_type(mt: &str) -> bool {
    matches!(
        mt,
        OCI_MANIFEST | OCI_INDEX | DOCKER_MANIFEST | DOCKER_LIST | DOCKER_V1 | DOCKER_V1_SIGNED
    )
}

/// Whether a media type is an index / manifest list.
pub fn is_index_media_type(mt: &str) -> bool {
    matches!(mt, OCI_INDEX | DOCKER_LIST)
}

#[cfg(test)]
#[path = "tests/manifest.rs"]
mod tests;
