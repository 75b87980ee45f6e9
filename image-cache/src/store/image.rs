//! Whole images: write config + manifest and tag, read manifests back (raw bytes kept).

use oci_spec::image::{Arch, Descriptor, ImageManifest, MediaType, Os, Platform};
use serde_json::Value;

use super::Store;
use crate::error::StoreError;
use crate::reference;
use crate::walk::MANIFEST_LIMIT;

impl Store {
    /// Store `config_json` and `manifest_json` as blobs and tag the manifest as `name`.
    /// Every blob the manifest names must already be present; otherwise nothing is tagged.
    /// The returned descriptor carries mediaType, size, digest and the config's platform.
    pub fn write_image(
        &self,
        name: &str,
        config_json: &[u8],
        manifest_json: &[u8],
    ) -> Result<Descriptor, StoreError> {
        let name = reference::normalize(name)?;
        let _lease = self.lease()?;
        let manifest: ImageManifest = serde_json::from_slice(manifest_json)
            .map_err(|e| StoreError::json(format!("manifest for {name}"), e))?;
        self.put_blob(config_json)?;
        let digest = self.put_blob(manifest_json)?;
        let media_type = manifest
            .media_type()
            .clone()
            .unwrap_or(MediaType::ImageManifest);
        let mut desc = Descriptor::new(media_type, manifest_json.len() as u64, digest);
        desc.set_platform(platform_of(config_json));
        self.set_tag(&name, desc.clone())?;
        Ok(desc)
    }

    /// Read and parse a manifest; the raw bytes are returned too (never re-serialize them).
    pub fn manifest(&self, desc: &Descriptor) -> Result<(ImageManifest, Vec<u8>), StoreError> {
        let raw = self.read_blob(desc.digest(), MANIFEST_LIMIT)?;
        let parsed = serde_json::from_slice(&raw)
            .map_err(|e| StoreError::json(format!("manifest {}", desc.digest()), e))?;
        Ok((parsed, raw))
    }
}

/// The platform an image config declares (`architecture`, `os`, `variant`, `os.version`).
pub(crate) fn platform_of(config_json: &[u8]) -> Option<Platform> {
    let v: Value = serde_json::from_slice(config_json).ok()?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let arch = text("architecture")?;
    let os = text("os")?;
    let mut p = Platform::default();
    p.set_architecture(Arch::from(arch));
    p.set_os(Os::from(os));
    p.set_variant(text("variant").map(str::to_string));
    p.set_os_version(text("os.version").map(str::to_string));
    Some(p)
}

impl Store {
    /// For an index, the child manifest for `platform` (os, architecture and, when given,
    /// variant must match); for a manifest, the manifest itself.
    pub fn platform_manifest(
        &self,
        desc: &Descriptor,
        platform: &crate::sealer_meta::Platform,
    ) -> Result<Descriptor, StoreError> {
        let is_index = matches!(desc.media_type(), MediaType::ImageIndex)
            || desc.media_type().to_string()
                == "application/vnd.docker.distribution.manifest.list.v2+json";
        if !is_index {
            return Ok(desc.clone());
        }
        let bytes = self.read_blob(desc.digest(), MANIFEST_LIMIT)?;
        let index: oci_spec::image::ImageIndex =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: self.blob_path(desc.digest()),
                message: format!("not a valid image index: {e}"),
            })?;
        let mut available = Vec::new();
        for child in index.manifests() {
            let Some(p) = child.platform() else { continue };
            let arch = crate::sealer_meta::normalize_arch(&p.architecture().to_string());
            let variant = p.variant().clone().unwrap_or_default();
            available.push(format!("{}/{arch}", p.os()));
            if p.os().to_string() == platform.os
                && arch == platform.architecture
                && (platform.variant.is_empty() || variant == platform.variant)
            {
                return Ok(child.clone());
            }
        }
        Err(StoreError::Corrupt {
            path: self.blob_path(desc.digest()),
            message: format!(
                "the image has no {platform} variant (it has: {})",
                available.join(", ")
            ),
        })
    }
}
