//! Embedding container images into the cluster image's `registry/` tree.
//!
//! The image list is read from the rootfs the input chain makes (`manifests/imageList`,
//! `application/apps/<app>/imageList`), plus images declared on the command line or found by
//! an observe step, minus ignored ones. Each container image becomes its own deterministic
//! layer (its files under `registry/docker/registry/v2/...`), cached by (reference, resolved
//! digest, platform): the same container image embedded by two cluster images yields the same
//! layer, and a rebuild with unchanged images fetches nothing.

use crate::chain_files::read_chain_files;
use crate::graph::Platform;
use crate::progress::Stream;
use crate::worker::{StepError, StepResult, Worker};
use sealer_image_cache::sealer_meta::ContainerImage;
use sealer_image_cache::{CacheRecord, LayerRef};
use sealer_snapshotter::{CopyDiff, CopyEntry};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Key in [`StepResult::extra`] holding the JSON list of [`ContainerImage`].
pub const EXTRA_CONTAINER_IMAGES: &str = "container_images";
/// Key in [`StepResult::extra`] holding a JSON map reference → resolved digest.
pub const EXTRA_RESOLVED_IMAGES: &str = "resolved_images";
/// Key in [`StepResult::extra`] holding a JSON list of `{reference, app}` found by observing.
pub const EXTRA_OBSERVED_IMAGES: &str = "observed_images";

/// The embed step's definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmbedOp {
    /// Images from `--image-list` files, in order.
    pub images: Vec<String>,
    /// `--ignored-image-list` entries.
    pub ignored: Vec<String>,
    pub platform: Platform,
    /// Read `imageList` files from the rootfs.
    pub scan_image_lists: bool,
    /// `--build-mode lite`: list but do not fetch.
    pub lite: bool,
}

/// A reference resolved to what would be embedded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    /// Fully qualified, e.g. `docker.io/library/nginx:1.25`.
    pub reference: String,
    /// Digest the tag pointed at upstream (an index for multi-arch sources).
    pub digest: String,
}

/// Fetches container images (the CLI implements it with the registry client).
pub trait ImageEmbedder: Send + Sync {
    /// Normalize and resolve a reference without fetching blobs (a manifest HEAD).
    fn resolve(&self, reference: &str, platform: &Platform) -> Result<ResolvedImage, String>;
    /// Write the image for `platform` into a distribution layout rooted at `layout_root`
    /// (`layout_root/docker/registry/v2/...`).
    fn fetch(
        &self,
        image: &ResolvedImage,
        platform: &Platform,
        layout_root: &Path,
    ) -> Result<(), String>;
}

/// Parse a sealer `imageList`: one reference per line, `#` comments, blank lines.
pub fn parse_image_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// `application/apps/<app>/imageList` → Some(app); `manifests/imageList` → Some("").
fn image_list_owner(path: &str) -> Option<String> {
    if path == "manifests/imageList" {
        return Some(String::new());
    }
    let rest = path.strip_prefix("application/apps/")?;
    let (app, file) = rest.split_once('/')?;
    (file == "imageList").then(|| app.to_string())
}

#[derive(Serialize, Deserialize)]
struct Observed {
    reference: String,
    #[serde(default)]
    app: String,
}

impl Worker {
    /// The (reference, app) pairs an embed step covers, sorted and deduplicated.
    fn embed_list(
        &self,
        op: &EmbedOp,
        inputs: &[StepResult],
    ) -> Result<Vec<(String, String)>, StepError> {
        let mut wanted: Vec<(String, String)> = op
            .images
            .iter()
            .map(|i| (i.clone(), String::new()))
            .collect();
        if let Some(input) = inputs.first()
            && op.scan_image_lists
        {
            let files = read_chain_files(
                &self.blob_refs(&input.chain),
                &|p| image_list_owner(p).is_some(),
                4 << 20,
            )
            .map_err(|source| StepError::Io {
                path: "imageList".into(),
                source,
            })?;
            for (path, content) in files {
                let app = image_list_owner(&path).unwrap_or_default();
                for image in parse_image_list(&String::from_utf8_lossy(&content)) {
                    wanted.push((image, app.clone()));
                }
            }
        }
        for input in inputs.iter().skip(1) {
            if let Some(json) = input.extra.get(EXTRA_OBSERVED_IMAGES) {
                let observed: Vec<Observed> = serde_json::from_str(json).unwrap_or_default();
                wanted.extend(observed.into_iter().map(|o| (o.reference, o.app)));
            }
        }
        wanted.retain(|(image, _)| !op.ignored.iter().any(|i| same_image(i, image)));
        wanted.sort();
        wanted.dedup_by(|a, b| same_image(&a.0, &b.0));
        Ok(wanted)
    }

    pub(crate) fn exec_embed(
        &self,
        op: &EmbedOp,
        inputs: &[StepResult],
        log: &mut dyn FnMut(Stream, String),
    ) -> Result<StepResult, StepError> {
        let mut chain = inputs.first().map(|r| r.chain.clone()).unwrap_or_default();
        let mut listed = Vec::new();
        let mut resolved_digests = BTreeMap::new();
        let wanted = self.embed_list(op, inputs)?;
        if op.lite {
            for (image, app) in wanted {
                // Listing only: no registry is contacted.
                let reference = sealer_image_cache::reference::normalize(&image).map_err(|e| {
                    StepError::Embed {
                        reference: image.clone(),
                        message: e.to_string(),
                    }
                })?;
                listed.push(ContainerImage {
                    image: reference,
                    app_name: app,
                    platform: op.platform.clone(),
                });
            }
        } else {
            let embedder = self.embedder.as_ref().ok_or(StepError::NoEmbedder)?;
            // Resolve every reference (HEADs) concurrently, then fetch and layer several
            // images at once; layers are appended in list order, so output is deterministic.
            let resolved = parallel_map(&wanted, RESOLVE_WIDTH, |(image, _)| {
                embedder
                    .resolve(image, &op.platform)
                    .map_err(|message| StepError::Embed {
                        reference: image.clone(),
                        message,
                    })
            })
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
            let (tx, rx) = std::sync::mpsc::channel::<(Stream, String)>();
            let layers = std::thread::scope(|scope| {
                let work = scope.spawn(|| {
                    let tx = tx;
                    parallel_map(&resolved, FETCH_WIDTH, |image| {
                        let send = |stream, line| {
                            let _ = tx.send((stream, line));
                        };
                        self.image_layer(embedder.as_ref(), image, &op.platform, &send)
                    })
                });
                for (stream, line) in rx {
                    log(stream, line);
                }
                work.join()
            })
            .map_err(|_| StepError::Embed {
                reference: "(several)".into(),
                message: "an embedding thread panicked".into(),
            })?;
            for ((resolved, (_, app)), layer) in resolved.iter().zip(&wanted).zip(layers) {
                let layer = layer?;
                listed.push(ContainerImage {
                    image: resolved.reference.clone(),
                    app_name: app.clone(),
                    platform: op.platform.clone(),
                });
                resolved_digests.insert(resolved.reference.clone(), resolved.digest.clone());
                if !chain.contains(&layer) {
                    chain.push(layer);
                }
            }
        }
        listed.sort();
        let mut extra = BTreeMap::new();
        extra.insert(
            EXTRA_CONTAINER_IMAGES.to_string(),
            serde_json::to_string(&listed).unwrap_or_else(|_| "[]".into()),
        );
        extra.insert(
            EXTRA_RESOLVED_IMAGES.to_string(),
            serde_json::to_string(&resolved_digests).unwrap_or_else(|_| "{}".into()),
        );
        Ok(StepResult { chain, extra })
    }

    /// One image's layer, from the per-image cache or fetched now.
    fn image_layer(
        &self,
        embedder: &dyn ImageEmbedder,
        image: &ResolvedImage,
        platform: &Platform,
        log: &(dyn Fn(Stream, String) + Sync),
    ) -> Result<LayerRef, StepError> {
        let material = format!(
            "embed-image/v2\n{}\n{}\n{platform}\nsde={}",
            image.reference, image.digest, self.tar.source_date_epoch
        );
        let key = format!(
            "sha256:{}",
            hex::encode(Sha256::digest(material.as_bytes()))
        );
        if let Some(record) = self.cached_record(&key)?
            && let Some(layer) = record.layers.first()
        {
            log(
                Stream::Stdout,
                format!("{} {} (cached)", image.reference, short(&image.digest)),
            );
            return Ok(layer.clone());
        }
        log(
            Stream::Stdout,
            format!("fetching {} {}", image.reference, short(&image.digest)),
        );
        let scratch = self.scratch_dir()?;
        embedder
            .fetch(image, platform, scratch.path())
            .map_err(|message| StepError::Embed {
                reference: image.reference.clone(),
                message,
            })?;
        let diff = CopyDiff::new(vec![CopyEntry {
            host_path: scratch.path().join("docker"),
            dest: "registry/docker".to_string(),
        }]);
        // The image's own blobs are compressed already: an uncompressed tar layer is the same
        // size and costs no CPU (and stays identical whatever --compression says).
        let layer = self
            .write_with(&diff, sealer_snapshotter::Compression::None)?
            .ok_or_else(|| StepError::Embed {
                reference: image.reference.clone(),
                message: "the registry returned an empty image".to_string(),
            })?;
        self.store.put_cache_record(
            &key,
            &CacheRecord {
                layers: vec![layer.clone()],
                created_by: format!("embed {}", image.reference),
                extra: Default::default(),
            },
        )?;
        self.touch(&key);
        Ok(layer)
    }
}

/// Concurrent registry HEADs when resolving tags.
const RESOLVE_WIDTH: usize = 8;
/// Images fetched and layered at once (network, fsync and compression overlap).
const FETCH_WIDTH: usize = 4;

/// `f` over `items` on up to `width` threads, results in input order.
fn parallel_map<T: Sync, R: Send>(items: &[T], width: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..width.min(items.len()).max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .filter_map(|m| m.into_inner().ok().flatten())
        .collect()
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

/// Whether two references name the same image (after docker normalization).
pub fn same_image(a: &str, b: &str) -> bool {
    let norm =
        |s: &str| sealer_image_cache::reference::normalize(s).unwrap_or_else(|_| s.to_string());
    norm(a) == norm(b)
}

#[cfg(test)]
#[path = "tests/embed.rs"]
mod tests;
