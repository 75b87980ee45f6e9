//! Turn a solved layer chain plus the image spec into an OCI config and manifest in the store.
//! Output is deterministic: fixed key order, `created` from SOURCE_DATE_EPOCH (or the epoch).

use crate::graph::{Definition, Op, VertexDigest};
use crate::solve::Solved;
use crate::spec::ImageSpec;
use sealer_image_cache::sealer_meta::{
    ANNOTATION_CONTAINER_IMAGES, ANNOTATION_IMAGE_EXTENSION, ContainerImage,
};
use sealer_image_cache::{Store, StoreError};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot encode image metadata: {0}")]
    Json(#[from] serde_json::Error),
    #[error("base image {reference:?} has a config that cannot be read: {message}")]
    BaseConfig { reference: String, message: String },
}

/// Settings of one export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub name: String,
    /// Extra manifest annotations (`--annotation`).
    pub annotations: BTreeMap<String, String>,
    pub source_date_epoch: u64,
    pub sealer_version: String,
    pub container_images: Vec<ContainerImage>,
    /// Tag the manifest as `name` (false: store it only, e.g. as a child of an index).
    pub tag: bool,
}

/// The exported image: digests and the raw documents.
#[derive(Debug, Clone)]
pub struct Exported {
    pub manifest_digest: String,
    pub config_digest: String,
    pub manifest: Vec<u8>,
}

/// RFC 3339 UTC timestamp of a Unix time (civil-from-days; no time crate needed).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// History of the base image, if any (kept so `history` lines up with layers).
fn base_history(store: &Store, spec: &ImageSpec) -> Result<Vec<Value>, ExportError> {
    let Some(reference) = &spec.base else {
        return Ok(Vec::new());
    };
    let err = |message: String| ExportError::BaseConfig {
        reference: reference.clone(),
        message,
    };
    let top = store
        .resolve(reference)?
        .ok_or_else(|| err("not in the local store".into()))?;
    let desc = store.platform_manifest(&top, &spec.platform)?;
    let (manifest, _) = store.manifest(&desc)?;
    let config: Value =
        serde_json::from_slice(&store.read_blob(manifest.config().digest(), 8 << 20)?)
            .map_err(|e| err(e.to_string()))?;
    Ok(config["history"].as_array().cloned().unwrap_or_default())
}

/// Write config + manifest for `solved` and tag it as `options.name`.
pub fn export(
    store: &Store,
    def: &Definition,
    spec: &ImageSpec,
    solved: &Solved,
    options: &ExportOptions,
) -> Result<Exported, ExportError> {
    let created = rfc3339(options.source_date_epoch);
    let mut history = base_history(store, spec)?;
    // One entry per layer a step added (an empty-layer entry for a step that added none).
    for (digest, vertex) in &def.vertices {
        if matches!(vertex.op, Op::Scratch | Op::Image { .. } | Op::Observe(_)) {
            continue;
        }
        let added = layers_added(def, solved, digest);
        if added == 0 {
            history.push(
                json!({"created": created, "created_by": def.name(digest), "empty_layer": true}),
            );
        }
        for _ in 0..added {
            history.push(json!({"created": created, "created_by": def.name(digest)}));
        }
    }
    let with_layers = history
        .iter()
        .filter(|h| !h["empty_layer"].as_bool().unwrap_or(false))
        .count();
    if with_layers != solved.chain.len() {
        // Only possible with foreign cache records; keep config and manifest consistent.
        history = solved
            .chain
            .iter()
            .map(|_| json!({"created": created, "created_by": "sealer build"}))
            .collect();
    }
    let env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let diff_ids: Vec<&str> = solved.chain.iter().map(|l| l.diff_id.as_str()).collect();
    let config = json!({
        "architecture": spec.platform.architecture,
        "config": {"Env": env, "Labels": spec.labels},
        "created": created,
        "history": history,
        "os": spec.platform.os,
        "rootfs": {"diff_ids": diff_ids, "type": "layers"},
    });
    let config_bytes = serde_json::to_vec(&config)?;
    let config_digest = store.put_blob(&config_bytes)?;

    let mut extension = spec.extension.clone();
    extension.build_client.sealer_version = options.sealer_version.clone();
    let mut annotations: BTreeMap<String, String> = options.annotations.clone();
    annotations.insert(
        ANNOTATION_IMAGE_EXTENSION.to_string(),
        serde_json::to_string(&extension)?,
    );
    let mut images = options.container_images.clone();
    images.sort();
    annotations.insert(
        ANNOTATION_CONTAINER_IMAGES.to_string(),
        serde_json::to_string(&images)?,
    );
    let layers: Vec<Value> = solved
        .chain
        .iter()
        .map(|l| json!({"digest": l.digest, "mediaType": l.media_type, "size": l.size}))
        .collect();
    let manifest = json!({
        "annotations": annotations,
        "config": {
            "digest": config_digest.to_string(),
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": config_bytes.len(),
        },
        "layers": layers,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "schemaVersion": 2,
    });
    let manifest_bytes = serde_json::to_vec(&manifest)?;
    let manifest_digest = if options.tag {
        store
            .write_image(&options.name, &config_bytes, &manifest_bytes)?
            .digest()
            .to_string()
    } else {
        store.put_blob(&manifest_bytes)?.to_string()
    };
    Ok(Exported {
        manifest_digest,
        config_digest: config_digest.to_string(),
        manifest: manifest_bytes,
    })
}

/// How many layers the step at `digest` added on top of its first input.
fn layers_added(def: &Definition, solved: &Solved, digest: &VertexDigest) -> usize {
    let Some(vertex) = def.vertex(digest) else {
        return 0;
    };
    let mine = solved.layer_counts.get(digest).copied().unwrap_or(0);
    let parent = vertex
        .inputs
        .first()
        .and_then(|i| solved.layer_counts.get(i))
        .copied()
        .unwrap_or(0);
    mine.saturating_sub(parent)
}

#[cfg(test)]
#[path = "tests/export.rs"]
mod tests;
