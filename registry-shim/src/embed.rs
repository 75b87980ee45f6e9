//! Build integration: embed container images into a cluster image's `registry/` tree (a
//! distribution layout, repositories named `<domain>/<path>`), and list the files that make
//! up one embedded image so each can become its own deterministic layer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::client::{Client, ClientError, LayoutSink, PullOptions};
use crate::digest::Digest;
use crate::distribution_layout::Layout;
use crate::platform::Platform;
use crate::reference::ImageReference;

/// One image written into the layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedImage {
    /// Fully qualified reference, e.g. `docker.io/library/nginx:1.25`.
    pub image: String,
    /// Repository in the layout, e.g. `docker.io/library/nginx`.
    pub repo: String,
    pub tag: Option<String>,
    pub platform: Platform,
    /// What the tag points at (an index for multi-arch sources), as upstream has it.
    pub digest: Digest,
    pub media_type: String,
    /// The image manifest for `platform`.
    pub manifest_digest: Digest,
    pub config_digest: Digest,
    /// Every manifest that belongs to this image (the root and the platform child).
    pub manifests: Vec<Digest>,
    /// Config and layer blobs.
    pub blobs: Vec<Digest>,
    pub bytes_fetched: u64,
}

/// Why an image could not be embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedFailure {
    InvalidReference,
    Unreachable,
    UnknownManifest,
    UnknownBlob,
    DigestMismatch,
    Unauthorized,
    NoPlatform,
    Other,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot embed image {reference} from {upstream}: {kind:?}: {detail}")]
pub struct EmbedError {
    pub reference: String,
    /// Registry endpoint the image was requested from.
    pub upstream: String,
    pub kind: EmbedFailure,
    pub detail: String,
}

fn classify(e: &ClientError) -> EmbedFailure {
    match e.root() {
        ClientError::Unreachable { .. }
        | ClientError::Stalled { .. }
        | ClientError::Truncated { .. } => EmbedFailure::Unreachable,
        ClientError::Status { status, .. } if *status >= 500 => EmbedFailure::Unreachable,
        ClientError::ManifestUnknown { .. } => EmbedFailure::UnknownManifest,
        ClientError::BlobUnknown { .. } => EmbedFailure::UnknownBlob,
        ClientError::DigestMismatch { .. } => EmbedFailure::DigestMismatch,
        ClientError::Sink(crate::client::SinkError::DigestMismatch { .. }) => {
            EmbedFailure::DigestMismatch
        }
        ClientError::Unauthorized { .. } => EmbedFailure::Unauthorized,
        ClientError::NoPlatform { .. } => EmbedFailure::NoPlatform,
        _ => EmbedFailure::Other,
    }
}

/// Resolve each image, pick `platform` from multi-arch indexes, and write manifests, config
/// and layers into `dest_layout_root` under repository `<domain>/<path>`. Content already
/// there is not fetched again (a tag is only resolved with a `HEAD`).
pub async fn embed_images(
    images: &[String],
    platform: &Platform,
    client: &Client,
    dest_layout_root: &Path,
) -> Result<Vec<EmbeddedImage>, EmbedError> {
    let layout = Layout::new(dest_layout_root);
    futures::stream::iter(images.iter())
        .map(|img| embed_one(img, platform, client, &layout))
        .buffered(2)
        .try_collect()
        .await
}

async fn embed_one(
    image: &str,
    platform: &Platform,
    client: &Client,
    layout: &Layout,
) -> Result<EmbeddedImage, EmbedError> {
    let r = ImageReference::parse(image).map_err(|e| EmbedError {
        reference: image.to_string(),
        upstream: "-".into(),
        kind: EmbedFailure::InvalidReference,
        detail: e.to_string(),
    })?;
    let repo = r.layout_repo();
    let sink = Arc::new(LayoutSink::new(layout.clone(), repo.clone()));
    let opts = PullOptions {
        platform: Some(platform.clone()),
        all_platforms: false,
    };
    let pulled = client.pull(&r, &opts, sink).await.map_err(|e| EmbedError {
        reference: r.to_string(),
        upstream: match &e {
            ClientError::Image { endpoint, .. } => endpoint.clone(),
            _ => r.domain.clone(),
        },
        kind: classify(&e),
        detail: e.root().to_string(),
    })?;
    let Some(m) = pulled.manifests.first() else {
        return Err(EmbedError {
            reference: r.to_string(),
            upstream: r.domain.clone(),
            kind: EmbedFailure::Other,
            detail: format!(
                "{} is not a container image (media type {})",
                pulled.digest, pulled.media_type
            ),
        });
    };
    let mut manifests = vec![pulled.digest.clone()];
    if m.digest != pulled.digest {
        manifests.push(m.digest.clone());
    }
    let mut blobs: Vec<Digest> = std::iter::once(&m.config)
        .chain(m.layers.iter())
        .filter(|d| d.urls.is_empty())
        .map(|d| d.digest.clone())
        .collect();
    blobs.sort();
    blobs.dedup();
    Ok(EmbeddedImage {
        image: r.to_string(),
        repo,
        tag: r.tag.clone(),
        platform: m.platform.clone().unwrap_or_else(|| platform.clone()),
        digest: pulled.digest.clone(),
        media_type: pulled.media_type.clone(),
        manifest_digest: m.digest.clone(),
        config_digest: m.config.digest.clone(),
        manifests,
        blobs,
        bytes_fetched: pulled.bytes_fetched,
    })
}

/// A file or directory of one embedded image, relative to the layout root.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LayerEntry {
    /// Relative path, e.g. `docker/registry/v2/blobs/sha256/ab/ab…/data`.
    pub path: String,
    /// The file to copy, `None` for a directory.
    pub source: Option<PathBuf>,
}

/// The files (and their parent directories) that make up `image` in the layout at
/// `layout_root`, sorted by path: blob data, `_layers` links, manifest revision links and
/// the tag links. The same image always yields the same set, so a layer built from it
/// (with fixed metadata) has the same digest in every cluster image.
pub fn image_layer_tree(layout_root: &Path, image: &EmbeddedImage) -> Vec<LayerEntry> {
    let layout = Layout::new(layout_root);
    let v2 = "docker/registry/v2";
    let repo = format!("{v2}/repositories/{}", image.repo);
    let mut files: Vec<String> = Vec::new();
    for d in image.manifests.iter().chain(image.blobs.iter()) {
        files.push(format!(
            "{v2}/blobs/sha256/{}/{}/data",
            &d.hex()[..2],
            d.hex()
        ));
    }
    for d in &image.blobs {
        files.push(format!("{repo}/_layers/sha256/{}/link", d.hex()));
    }
    for d in &image.manifests {
        files.push(format!(
            "{repo}/_manifests/revisions/sha256/{}/link",
            d.hex()
        ));
    }
    if let Some(tag) = &image.tag {
        files.push(format!("{repo}/_manifests/tags/{tag}/current/link"));
        files.push(format!(
            "{repo}/_manifests/tags/{tag}/index/sha256/{}/link",
            image.digest.hex()
        ));
    }
    let mut entries: Vec<LayerEntry> = Vec::new();
    let mut dirs = std::collections::BTreeSet::new();
    for f in &files {
        let mut p = Path::new(f).parent();
        while let Some(dir) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(dir.to_string_lossy().to_string());
            p = dir.parent();
        }
    }
    entries.extend(
        dirs.into_iter()
            .map(|path| LayerEntry { path, source: None }),
    );
    entries.extend(files.into_iter().map(|f| LayerEntry {
        source: Some(layout.root().join(&f)),
        path: f,
    }));
    entries.sort();
    entries.dedup();
    entries
}

/// Parse a sealer `imageList` file: one reference per line, `#` comments (whole-line or
/// after whitespace), blank lines ignored; duplicates dropped, order kept.
pub fn parse_image_list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = match line.find(" #").or_else(|| line.find("\t#")) {
            Some(i) => &line[..i],
            None => line,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !out.iter().any(|x| x == line) {
            out.push(line.to_string());
        }
    }
    out
}

/// An entry of the `sealer.image.container.images` manifest annotation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerImageAnnotation {
    pub image: String,
    #[serde(rename = "appName", default, skip_serializing_if = "String::is_empty")]
    pub app_name: String,
    pub platform: Platform,
}

#[cfg(test)]
#[path = "tests/embed.rs"]
mod tests;
