//! The runtime's [`ImageProvider`] over the local store: names resolve through `index.json`,
//! sealer metadata comes from the manifest annotations, the platform from the config, and the
//! rootfs is materialized once per manifest digest under `<store root>/rootfs/<hex>/`.
//!
//! Materializing: layers are applied in order (whiteouts applied, [`ApplyMode::Plain`]) into a
//! temp dir beside the target, each verified against the config's diffID, then renamed into
//! place, so a rootfs directory that exists is complete. A per-digest lock file keeps two
//! sealer processes from unpacking the same image at once; the store lease (taken on first
//! use and held until the provider is dropped) keeps `prune` away while a command runs.

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};
use sealer_image_cache::sealer_meta::{
    ANNOTATION_CONTAINER_IMAGES, ANNOTATION_IMAGE_EXTENSION, ContainerImage, ImageExtension,
    Platform, normalize_arch,
};
use sealer_image_cache::{Store, StoreLease};
use sealer_runtime::{ImageError, ImageInfo, ImageProvider};
use sealer_snapshotter::{ApplyMode, apply_layer_digest};
use serde_json::Value;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Largest config blob read.
const CONFIG_LIMIT: u64 = 8 << 20;
/// Temp dirs are named `.tmp-<hex>-<random>`.
const TMP_PREFIX: &str = ".tmp-";

/// Images from the local store, unpacked on demand.
pub struct StoreImageProvider {
    store: Store,
    /// Which entry of an image index to use (default: this host's platform).
    platform: Platform,
    lease: Mutex<Option<StoreLease>>,
    seen: Mutex<HashMap<String, ImageInfo>>,
}

impl StoreImageProvider {
    pub fn new(store: Store) -> Self {
        StoreImageProvider {
            store,
            platform: Platform::host(),
            lease: Mutex::new(None),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Use `platform`'s manifest of an image index instead of this host's.
    pub fn for_platform(mut self, platform: Platform) -> Self {
        self.platform = platform;
        self
    }

    /// `<store root>/rootfs`: one directory per manifest digest.
    pub fn rootfs_dir(&self) -> PathBuf {
        self.store.root().join("rootfs")
    }

    fn hold_lease(&self, name: &str) -> Result<(), ImageError> {
        let mut guard = self
            .lease
            .lock()
            .map_err(|_| other(name, "lease lock poisoned"))?;
        if guard.is_none() {
            *guard = Some(self.store.lease().map_err(|e| other(name, e))?);
        }
        Ok(())
    }

    fn load(&self, name: &str) -> Result<ImageInfo, ImageError> {
        let desc = self
            .store
            .resolve(name)
            .map_err(|e| other(name, e))?
            .ok_or_else(|| ImageError::NotFound {
                name: name.to_string(),
            })?;
        let desc = self.platform_manifest(name, desc)?;
        let (manifest, _) = self.store.manifest(&desc).map_err(|e| other(name, e))?;
        let config: Value = self
            .store
            .read_blob(manifest.config().digest(), CONFIG_LIMIT)
            .map_err(|e| other(name, e))
            .and_then(|b| {
                serde_json::from_slice(&b)
                    .map_err(|e| other(name, format!("image config is not JSON: {e}")))
            })?;
        let annotations = manifest.annotations().clone().unwrap_or_default();
        let extension: ImageExtension = match annotations.get(ANNOTATION_IMAGE_EXTENSION) {
            Some(text) => serde_json::from_str(text).map_err(|e| {
                other(
                    name,
                    format!("manifest annotation {ANNOTATION_IMAGE_EXTENSION} is malformed: {e}"),
                )
            })?,
            None => ImageExtension::default(),
        };
        let container_images: Vec<ContainerImage> = match annotations
            .get(ANNOTATION_CONTAINER_IMAGES)
        {
            Some(text) => serde_json::from_str(text).map_err(|e| {
                other(
                    name,
                    format!("manifest annotation {ANNOTATION_CONTAINER_IMAGES} is malformed: {e}"),
                )
            })?,
            None => Vec::new(),
        };
        let text = |k: &str| config[k].as_str().unwrap_or_default().to_string();
        let platform = Platform {
            architecture: normalize_arch(&text("architecture")),
            os: text("os"),
            variant: text("variant"),
        };
        self.hold_lease(name)?;
        let rootfs = self.materialize(name, &desc, &manifest, &config)?;
        Ok(ImageInfo {
            name: name.to_string(),
            id: desc.digest().to_string(),
            rootfs,
            extension,
            container_images,
            platform,
        })
    }

    /// A single-platform manifest: the descriptor itself, or the host's entry of an index.
    fn platform_manifest(&self, name: &str, desc: Descriptor) -> Result<Descriptor, ImageError> {
        if *desc.media_type() != MediaType::ImageIndex {
            return Ok(desc);
        }
        let raw = self
            .store
            .read_blob(desc.digest(), CONFIG_LIMIT)
            .map_err(|e| other(name, e))?;
        let index: ImageIndex = serde_json::from_slice(&raw)
            .map_err(|e| other(name, format!("image index is not valid: {e}")))?;
        let host = &self.platform;
        let mut offered = Vec::new();
        for m in index.manifests() {
            let Some(p) = m.platform() else { continue };
            let (arch, os) = (
                normalize_arch(&p.architecture().to_string()),
                p.os().to_string(),
            );
            if arch == host.architecture && os == host.os {
                return Ok(m.clone());
            }
            offered.push(format!("{os}/{arch}"));
        }
        Err(other(
            name,
            format!(
                "the image index has no {host} manifest (it offers {})",
                if offered.is_empty() {
                    "none with a platform".to_string()
                } else {
                    offered.join(", ")
                }
            ),
        ))
    }

    /// The unpacked rootfs of `desc`, created if missing.
    fn materialize(
        &self,
        name: &str,
        desc: &Descriptor,
        manifest: &ImageManifest,
        config: &Value,
    ) -> Result<PathBuf, ImageError> {
        let hex = desc.digest().digest().to_string();
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(other(
                name,
                format!("unexpected manifest digest {}", desc.digest()),
            ));
        }
        let base = self.rootfs_dir();
        let target = base.join(&hex);
        if target.is_dir() {
            return Ok(target);
        }
        let io = |what: &str, path: &Path, e: std::io::Error| {
            other(name, format!("{what} {}: {e}", path.display()))
        };
        std::fs::create_dir_all(&base).map_err(|e| io("cannot create", &base, e))?;
        let lock_path = base.join(format!(".{hex}.lock"));
        let lock = File::create(&lock_path).map_err(|e| io("cannot create", &lock_path, e))?;
        lock.lock().map_err(|e| io("cannot lock", &lock_path, e))?;
        if target.is_dir() {
            return Ok(target);
        }
        remove_stale_temps(&base, &hex);
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{TMP_PREFIX}{hex}-"))
            .tempdir_in(&base)
            .map_err(|e| io("cannot create a temp dir in", &base, e))?;
        let diff_ids: Vec<String> = config["rootfs"]["diff_ids"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let layers = manifest.layers();
        eprintln!(
            "unpacking {name} ({} layer(s)) into {}",
            layers.len(),
            target.display()
        );
        for (i, layer) in layers.iter().enumerate() {
            let blob = self
                .store
                .open_blob(layer.digest())
                .map_err(|e| other(name, e))?;
            let media_type = layer.media_type().to_string();
            let diff_id = apply_layer_digest(
                BufReader::new(blob),
                &media_type,
                tmp.path(),
                ApplyMode::Plain,
            )
            .map_err(|e| other(name, format!("layer {} ({}): {e}", i + 1, layer.digest())))?;
            if let Some(want) = diff_ids.get(i)
                && *want != diff_id
            {
                return Err(other(
                    name,
                    format!(
                        "layer {} ({}) unpacks to {diff_id}, but the config says {want}: the store is damaged (run `sealer fsck`)",
                        i + 1,
                        layer.digest()
                    ),
                ));
            }
        }
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(|e| io("cannot chmod", tmp.path(), e))?;
        let tmp_path = tmp.keep();
        if let Err(e) = std::fs::rename(&tmp_path, &target) {
            let _ = std::fs::remove_dir_all(&tmp_path);
            return Err(io("cannot move the unpacked rootfs to", &target, e));
        }
        drop(lock);
        Ok(target)
    }
}

impl ImageProvider for StoreImageProvider {
    fn image(&self, name: &str) -> Result<ImageInfo, ImageError> {
        if let Some(info) = self.seen.lock().ok().and_then(|g| g.get(name).cloned()) {
            return Ok(info);
        }
        let info = self.load(name)?;
        if let Ok(mut g) = self.seen.lock() {
            g.insert(name.to_string(), info.clone());
        }
        Ok(info)
    }
}

/// Temp dirs of `hex` left by an interrupted unpack (the caller holds the digest's lock).
fn remove_stale_temps(base: &Path, hex: &str) {
    let prefix = format!("{TMP_PREFIX}{hex}-");
    if let Ok(rd) = std::fs::read_dir(base) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = make_removable(&e.path());
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Give the owner write access on every directory, so a tree with read-only dirs can go.
fn make_removable(root: &Path) -> std::io::Result<()> {
    for e in walkdir::WalkDir::new(root).into_iter().flatten() {
        if e.file_type().is_dir()
            && let Ok(m) = e.metadata()
        {
            let mode = m.permissions().mode();
            if mode & 0o700 != 0o700 {
                std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode | 0o700))?;
            }
        }
    }
    Ok(())
}

fn other(name: &str, e: impl std::fmt::Display) -> ImageError {
    ImageError::Other {
        name: name.to_string(),
        message: e.to_string(),
    }
}

#[cfg(test)]
#[path = "../tests/image_provider.rs"]
mod tests;
