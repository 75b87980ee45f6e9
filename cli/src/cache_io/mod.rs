//! Shared build caches (`--cache-to`, `--cache-from`): the solver's key→record graph plus
//! the blobs it references, stored as an OCI image manifest whose config has its own media
//! type, in a local OCI layout or a registry. Import reads records only (in the background;
//! blobs come when a hit needs them); export adds our records to what is there, without ever
//! dropping another builder's (per-key tags in a registry, a locked merge in a local layout).

mod local;
mod registry;

use crate::registry::runtime_handle;
use anyhow::{Result, anyhow, bail};
use local::{LocalBlobs, export_local, local_records};
use registry::{RegistryBlobs, export_registry, registry_records};
use sealer_image_cache::{CacheRecord, Store};
use sealer_registry_shim::client::Client;
use sealer_registry_shim::reference::ImageReference;
use sealer_solver::import::{BlobProvider, ImportedCache, Sources};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;

pub const CACHE_CONFIG_MEDIA_TYPE: &str = "application/vnd.sealer.cache.config.v1+json";
const CONFIG_LIMIT: u64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLocation {
    Local(PathBuf),
    Registry(String),
}

impl std::fmt::Display for CacheLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheLocation::Local(dir) => write!(f, "local cache {}", dir.display()),
            CacheLocation::Registry(reference) => write!(f, "registry cache {reference}"),
        }
    }
}

/// `type=local,dest=DIR` / `type=registry,ref=REF` (+ `mode=min|max` for exports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSpec {
    pub location: CacheLocation,
    /// max: every record this build used; min: only the final step's.
    pub max: bool,
}

pub fn parse_spec(text: &str, export: bool) -> Result<CacheSpec> {
    let mut fields = HashMap::new();
    for part in text.split(',') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| anyhow!("cache spec {text:?}: {part:?} is not key=value"))?;
        fields.insert(k.trim(), v.trim());
    }
    let path_key = if export { "dest" } else { "src" };
    let location = match fields.get("type").copied() {
        Some("local") => {
            CacheLocation::Local(PathBuf::from(fields.get(path_key).ok_or_else(|| {
                anyhow!("cache spec {text:?}: type=local needs {path_key}=DIR")
            })?))
        }
        Some("registry") => CacheLocation::Registry(
            fields
                .get("ref")
                .ok_or_else(|| anyhow!("cache spec {text:?}: type=registry needs ref=REF"))?
                .to_string(),
        ),
        other => bail!("cache spec {text:?}: type must be local or registry, not {other:?}"),
    };
    let max = match fields.get("mode").copied() {
        None | Some("max") => true,
        Some("min") => false,
        Some(m) => bail!("cache spec {text:?}: mode must be min or max, not {m:?}"),
    };
    Ok(CacheSpec { location, max })
}

fn config_bytes(records: &BTreeMap<String, CacheRecord>) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(
        &json!({"records": records, "schemaVersion": 1}),
    )?)
}

fn parse_config(bytes: &[u8]) -> Result<BTreeMap<String, CacheRecord>> {
    let doc: serde_json::Value = serde_json::from_slice(bytes)?;
    if doc["schemaVersion"] != 1 {
        bail!("unknown cache schema {}", doc["schemaVersion"]);
    }
    let records: BTreeMap<String, CacheRecord> = serde_json::from_value(doc["records"].clone())?;
    for (key, record) in &records {
        if !key.starts_with("sha256:") || key.len() != 71 {
            bail!("malformed cache key {key:?}");
        }
        for l in &record.layers {
            l.digest
                .parse::<oci_spec::image::Digest>()
                .map_err(|e| anyhow!("record {key}: bad layer digest {}: {e}", l.digest))?;
        }
    }
    Ok(records)
}

/// The manifest for a set of records: config + every referenced blob once, sorted.
fn manifest_bytes(
    config: &[u8],
    config_digest: &str,
    records: &BTreeMap<String, CacheRecord>,
) -> Result<Vec<u8>> {
    let mut layers = BTreeMap::new();
    for r in records.values() {
        for l in &r.layers {
            layers.insert(
                l.digest.clone(),
                json!({"digest": l.digest, "mediaType": l.media_type, "size": l.size}),
            );
        }
    }
    Ok(serde_json::to_vec(&json!({
        "config": {"digest": config_digest, "mediaType": CACHE_CONFIG_MEDIA_TYPE, "size": config.len()},
        "layers": layers.into_values().collect::<Vec<_>>(),
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "schemaVersion": 2,
    }))?)
}

/// Every `--cache-from` source's records, read on a thread of their own while the build
/// hashes its context (a bad source is skipped with a warning). None without sources.
pub fn import(specs: &[CacheSpec], client: &Client) -> Option<ImportedCache> {
    if specs.is_empty() {
        return None;
    }
    let (specs, client) = (specs.to_vec(), client.clone());
    Some(ImportedCache::in_background(move || {
        read_sources(&specs, &client)
    }))
}

fn read_sources(specs: &[CacheSpec], client: &Client) -> Sources {
    let mut sources = Sources::default();
    for spec in specs {
        let loaded = match &spec.location {
            CacheLocation::Local(dir) => local_records(dir)
                .map(|o| o.map(|(s, r)| (r, Box::new(LocalBlobs(s)) as Box<dyn BlobProvider>))),
            CacheLocation::Registry(reference) => ImageReference::parse(reference)
                .map_err(anyhow::Error::from)
                .and_then(|r| {
                    let found = runtime_handle().block_on(registry_records(client, &r))?;
                    Ok(found.map(|rec| {
                        (
                            rec,
                            Box::new(RegistryBlobs {
                                client: client.clone(),
                                reference: r,
                            }) as Box<dyn BlobProvider>,
                        )
                    }))
                }),
        };
        let mut err = std::io::stderr();
        match loaded {
            Ok(Some((recs, provider))) => {
                let _ = writeln!(
                    err,
                    "cache: {} records from {}",
                    recs.len(),
                    provider.describe()
                );
                sources.records.extend(recs);
                sources.blobs.push(provider);
            }
            Ok(None) => {
                let _ = writeln!(err, "cache: {} has no cache yet", spec.location);
            }
            Err(e) => {
                let _ = writeln!(err, "warning: ignoring {}: {e:#}", spec.location);
            }
        }
    }
    sources
}

/// Write our records to each `--cache-to` destination.
pub fn export(
    specs: &[CacheSpec],
    client: &Client,
    store: &Store,
    all: &BTreeMap<String, CacheRecord>,
    output_key: &str,
) -> Result<()> {
    for spec in specs {
        let ours: BTreeMap<String, CacheRecord> = if spec.max {
            all.clone()
        } else {
            all.iter()
                .filter(|(k, _)| k.as_str() == output_key)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        match &spec.location {
            CacheLocation::Local(dir) => export_local(dir, store, &ours)?,
            CacheLocation::Registry(reference) => {
                runtime_handle().block_on(export_registry(reference, client, store, &ours))?
            }
        }
        eprintln!(
            "cache: exported {} records to {}",
            ours.len(),
            spec.location
        );
    }
    Ok(())
}
