//! Delta bundles: which blobs a save may leave out, and the `sealer-bundle.json` record that
//! tells `load` what the target store must already hold.
//!
//! A delta archive carries, right after `index.json` (before any blob):
//! ```json
//! {"schemaVersion": 1, "mediaType": "application/vnd.sealer.bundle.v1+json", "delta": true,
//!  "omitted": [{"digest": "sha256:…", "size": 123}, …]}
//! ```
//! and its `index.json` is annotated `sealer.bundle.delta: "true"`. Manifests, indexes and
//! configs are never left out; only layers (and artifact `blobs`) the inventory lists are.

use std::collections::{BTreeMap, BTreeSet};

use oci_spec::image::Descriptor;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::inventory::Inventory;
use crate::digest::parse_sha256;
use crate::error::StoreError;
use crate::store::Store;
use crate::walk::MANIFEST_LIMIT;

/// Path of the record inside the archive.
pub const BUNDLE_FILE: &str = "sealer-bundle.json";
/// Media type of the record.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.sealer.bundle.v1+json";
/// index.json annotation marking a delta archive.
pub const ANNOTATION_DELTA: &str = "sealer.bundle.delta";
/// index.json annotation with the number of omitted blobs.
pub const ANNOTATION_OMITTED: &str = "sealer.bundle.omitted-blobs";

/// The record a delta archive carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleInfo {
    pub schema_version: u32,
    pub media_type: String,
    pub delta: bool,
    #[serde(default)]
    pub omitted: Vec<OmittedBlob>,
}

/// A blob a delta leaves out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OmittedBlob {
    pub digest: String,
    pub size: u64,
}

impl BundleInfo {
    pub(crate) fn delta(omitted: &BTreeMap<String, u64>) -> BundleInfo {
        BundleInfo {
            schema_version: 1,
            media_type: BUNDLE_MEDIA_TYPE.to_string(),
            delta: true,
            omitted: omitted
                .iter()
                .map(|(d, s)| OmittedBlob {
                    digest: d.clone(),
                    size: *s,
                })
                .collect(),
        }
    }

    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, StoreError> {
        let mut out = serde_json::to_vec_pretty(self)
            .map_err(|e| StoreError::json("sealer-bundle.json (serialize)", e))?;
        out.push(b'\n');
        Ok(out)
    }

    pub(crate) fn parse(bytes: &[u8]) -> Result<BundleInfo, StoreError> {
        let info: BundleInfo = serde_json::from_slice(bytes)
            .map_err(|e| StoreError::json(format!("archive {BUNDLE_FILE}"), e))?;
        if info.schema_version != 1 {
            return Err(StoreError::archive(format!(
                "{BUNDLE_FILE}: unsupported schemaVersion {} (a newer sealer wrote it)",
                info.schema_version
            )));
        }
        for b in &info.omitted {
            parse_sha256(&b.digest)?;
        }
        Ok(info)
    }

    /// Fail, naming each one, unless the store holds every omitted blob with its size.
    pub(crate) fn check_base(&self, store: &Store) -> Result<(), StoreError> {
        let mut missing = Vec::new();
        for b in &self.omitted {
            let digest = parse_sha256(&b.digest)?;
            match std::fs::metadata(store.blob_path(&digest)) {
                Ok(m) if m.is_file() && m.len() == b.size => {}
                Ok(m) if m.is_file() => missing.push(format!(
                    "{} ({} bytes; the store's copy has {})",
                    b.digest,
                    b.size,
                    m.len()
                )),
                _ => missing.push(format!("{} ({} bytes)", b.digest, b.size)),
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(StoreError::DeltaBaseMissing { missing })
        }
    }
}

/// The blobs of `blobs` a delta may leave out because `since` lists them: layers and artifact
/// blobs only, never a manifest, index or config (also when one doubles as a layer).
pub(crate) fn omittable(
    store: &Store,
    roots: &[Descriptor],
    blobs: &BTreeMap<String, u64>,
    since: &Inventory,
) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut docs: Vec<String> = roots.iter().map(|d| d.digest().to_string()).collect();
    let mut seen = BTreeSet::new();
    let mut always = BTreeSet::new();
    let mut layers = BTreeSet::new();
    while let Some(doc) = docs.pop() {
        if !seen.insert(doc.clone()) {
            continue;
        }
        always.insert(doc.clone());
        let bytes = store.read_blob(&parse_sha256(&doc)?, MANIFEST_LIMIT)?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::json(format!("manifest {doc}"), e))?;
        let digest_of = |v: &Value| v.get("digest").and_then(Value::as_str).map(str::to_string);
        if let Some(d) = value.get("config").and_then(digest_of) {
            always.insert(d);
        }
        for key in ["layers", "blobs"] {
            for item in value
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                layers.extend(digest_of(item));
            }
        }
        for item in value
            .get("manifests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            docs.extend(digest_of(item));
        }
    }
    Ok(blobs
        .iter()
        .filter(|(d, _)| layers.contains(*d) && !always.contains(*d) && since.contains(d))
        .map(|(d, s)| (d.clone(), *s))
        .collect())
}
