//! Shared build caches (`--cache-to`, `--cache-from`): the solver's key→record graph plus
//! the blobs it references, stored as an OCI image manifest whose config has its own media
//! type, in a local OCI layout or a registry. Import is lazy (records now, blobs when used);
//! export merges with what is there and retries until the stored cache holds our records.

use crate::registry::runtime_handle;
use anyhow::{Context, Result, anyhow, bail};
use sealer_image_cache::{CacheRecord, Store};
use sealer_registry_shim::client::{Client, MemoryStore, PushOptions, StoreSink, StoreSource};
use sealer_registry_shim::digest::Digest as ShimDigest;
use sealer_registry_shim::reference::ImageReference;
use sealer_solver::import::{BlobProvider, ImportedCache};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

pub const CACHE_CONFIG_MEDIA_TYPE: &str = "application/vnd.sealer.cache.config.v1+json";
const LOCAL_TAG: &str = "sealer-cache:latest";
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

// ---- local OCI layout ----

fn local_records(dir: &std::path::Path) -> Result<Option<(Store, BTreeMap<String, CacheRecord>)>> {
    let store = Store::open(dir).with_context(|| format!("cache directory {}", dir.display()))?;
    let Some(desc) = store.resolve(LOCAL_TAG)? else {
        return Ok(Some((store, BTreeMap::new())));
    };
    let (manifest, _) = store.manifest(&desc)?;
    if manifest.config().media_type().to_string() != CACHE_CONFIG_MEDIA_TYPE {
        bail!(
            "{} holds a foreign manifest, not a sealer cache",
            dir.display()
        );
    }
    let records = parse_config(&store.read_blob(manifest.config().digest(), CONFIG_LIMIT)?)?;
    Ok(Some((store, records)))
}

struct LocalBlobs(Store);

impl BlobProvider for LocalBlobs {
    fn fetch(&self, digest: &str, _size: u64, store: &Store) -> Result<bool, String> {
        let d: oci_spec::image::Digest = digest.parse().map_err(|e| format!("{e}"))?;
        if !self.0.has_blob(&d) {
            return Ok(false);
        }
        let mut src = self.0.open_blob(&d).map_err(|e| e.to_string())?;
        let mut w = store.blob_writer().map_err(|e| e.to_string())?;
        std::io::copy(&mut src, &mut w).map_err(|e| e.to_string())?;
        w.finish(Some(&d)).map_err(|e| e.to_string())?;
        Ok(true)
    }
    fn describe(&self) -> String {
        format!("local cache {}", self.0.root().display())
    }
}

fn export_local(
    dir: &std::path::Path,
    store: &Store,
    ours: &BTreeMap<String, CacheRecord>,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let (dest, mut merged) =
        local_records(dir)?.ok_or_else(|| anyhow!("cannot open {}", dir.display()))?;
    // Serialize exporters: read-merge-write under one lock (the layout's locks/ dir).
    std::fs::create_dir_all(dir.join("locks"))?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("locks").join("cache-export.lock"))?;
    lock.lock()?;
    if let Some((_, fresh)) = local_records(dir)? {
        merged = fresh;
    }
    merged.extend(ours.clone());
    let source = LocalBlobs(store.clone());
    for record in ours.values() {
        for l in &record.layers {
            let digest: oci_spec::image::Digest = l.digest.parse()?;
            if !dest.has_blob(&digest) {
                // Ok(false): our store lacks it too; write_image below names what is missing.
                source
                    .fetch(&l.digest, l.size, &dest)
                    .map_err(anyhow::Error::msg)?;
            }
        }
    }
    let config = config_bytes(&merged)?;
    let config_digest = dest.put_blob(&config)?;
    let manifest = manifest_bytes(&config, config_digest.as_ref(), &merged)?;
    dest.write_image(LOCAL_TAG, &config, &manifest)?;
    Ok(())
}

// ---- registry ----

struct RegistryBlobs {
    client: Client,
    reference: ImageReference,
}

impl BlobProvider for RegistryBlobs {
    fn fetch(&self, digest: &str, size: u64, store: &Store) -> Result<bool, String> {
        let d = ShimDigest::parse(digest).map_err(|e| e.to_string())?;
        let sink = Arc::new(StoreSink::new(store.clone(), self.reference.name()));
        runtime_handle()
            .block_on(self.client.fetch_blob(
                &self.reference.domain,
                &self.reference.repository,
                &d,
                Some(size),
                sink,
            ))
            .map(|_| true)
            .map_err(|e| e.to_string())
    }
    fn describe(&self) -> String {
        format!("registry cache {}", self.reference)
    }
}

fn is_missing(e: &sealer_registry_shim::client::ClientError) -> bool {
    matches!(
        e.root(),
        sealer_registry_shim::client::ClientError::ManifestUnknown { .. }
    )
}

/// The records in one cache manifest (None when the tag does not exist).
async fn manifest_records(
    client: &Client,
    r: &ImageReference,
) -> Result<Option<BTreeMap<String, CacheRecord>>> {
    let fetched = match client.fetch_manifest(r).await {
        Ok(f) => f,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let manifest: serde_json::Value = serde_json::from_slice(&fetched.bytes)?;
    if manifest["config"]["mediaType"] != CACHE_CONFIG_MEDIA_TYPE {
        bail!(
            "{r} is not a sealer cache (config media type {})",
            manifest["config"]["mediaType"]
        );
    }
    let digest = ShimDigest::parse(manifest["config"]["digest"].as_str().unwrap_or_default())?;
    let mem = Arc::new(MemoryStore::new());
    client
        .fetch_blob(
            &r.domain,
            &r.repository,
            &digest,
            manifest["config"]["size"].as_u64(),
            mem.clone(),
        )
        .await?;
    let bytes = mem
        .get(&digest)
        .ok_or_else(|| anyhow!("{r}: config blob vanished"))?;
    Ok(Some(parse_config(&bytes)?))
}

/// Per-key objects: each record is its own manifest tagged `k-<hex of key>` in the cache
/// repository, so concurrent exporters never overwrite each other's records.
fn key_tag(key: &str) -> String {
    format!("k-{}", key.trim_start_matches("sha256:"))
}

/// Record manifests fetched at once.
const RECORD_FETCH_WIDTH: usize = 8;

/// Every record in the cache repository: the `ref` tag's merged view, plus the per-key tags
/// it does not cover (a tag names its key, so covered ones are not fetched). The tag list
/// and the merged view are requested together, the uncovered tags concurrently.
async fn registry_records(
    client: &Client,
    r: &ImageReference,
) -> Result<Option<BTreeMap<String, CacheRecord>>> {
    use futures::StreamExt as _;
    let (merged, tags) = tokio::join!(
        manifest_records(client, r),
        client.list_tags(&r.domain, &r.repository)
    );
    let mut records = BTreeMap::new();
    let mut found = false;
    if let Some(merged) = merged? {
        found = true;
        records.extend(merged);
    }
    let uncovered: Vec<String> = tags?
        .into_iter()
        .filter(|tag| {
            tag.strip_prefix("k-")
                .is_some_and(|hex| !records.contains_key(&format!("sha256:{hex}")))
        })
        .collect();
    let mut fetches = futures::stream::iter(uncovered)
        .map(|tag| async move {
            let tagged = ImageReference::parse(&format!("{}/{}:{tag}", r.domain, r.repository))?;
            manifest_records(client, &tagged).await.map_err(|e| {
                // One damaged or foreign record costs that record only.
                eprintln!("warning: skipping cache record {tagged}: {e:#}");
                e
            })
        })
        .buffer_unordered(RECORD_FETCH_WIDTH);
    while let Some(one) = fetches.next().await {
        if let Ok(Some(one)) = one {
            found = true;
            records.extend(one);
        }
    }
    Ok(found.then_some(records))
}

/// Push a manifest holding `records` under `target`.
async fn push_records(
    client: &Client,
    store: &Store,
    target: &ImageReference,
    records: &BTreeMap<String, CacheRecord>,
) -> Result<()> {
    let config = config_bytes(records)?;
    let config_digest = store.put_blob(&config)?;
    let manifest = manifest_bytes(&config, config_digest.as_ref(), records)?;
    let manifest_digest = store.put_blob(&manifest)?;
    let source = Arc::new(StoreSource {
        store: store.clone(),
    });
    let root = ShimDigest::parse(manifest_digest.as_ref())?;
    client
        .push(target, source, &root, &PushOptions::default())
        .await
        .with_context(|| format!("cannot export the build cache to {target}"))?;
    Ok(())
}

/// The merged view under `ref` first (it references every blob, so each is uploaded once),
/// then one tag per key, concurrently: those carry only a config and a manifest. A key
/// already tagged is skipped: keys are content addresses, any record under one is as good
/// as ours. Per-key tags are the truth; the merged view is a best-effort index of them.
async fn export_registry(
    reference: &str,
    client: &Client,
    store: &Store,
    ours: &BTreeMap<String, CacheRecord>,
) -> Result<()> {
    use futures::StreamExt as _;
    let r = ImageReference::parse(reference)?;
    let mut merged = manifest_records(client, &r)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    merged.extend(ours.clone());
    if let Err(e) = push_records(client, store, &r, &merged).await {
        eprintln!(
            "warning: the merged cache view {r} was not updated ({e:#}); per-key records follow"
        );
    }
    let mut pushes = futures::stream::iter(ours)
        .map(|(key, record)| {
            let r = &r;
            async move {
                let target = ImageReference::parse(&format!(
                    "{}/{}:{}",
                    r.domain,
                    r.repository,
                    key_tag(key)
                ))?;
                let exists = match client.resolve(&target).await {
                    Ok(d) => d.is_some(),
                    Err(e) if is_missing(&e) => false,
                    Err(e) => return Err(anyhow::Error::from(e)),
                };
                if !exists {
                    let one = BTreeMap::from([(key.clone(), record.clone())]);
                    push_records(client, store, &target, &one).await?;
                }
                Ok(())
            }
        })
        .buffer_unordered(RECORD_FETCH_WIDTH);
    while let Some(pushed) = pushes.next().await {
        pushed?;
    }
    Ok(())
}

/// Load every `--cache-from` source's records (a bad source is skipped with a warning).
pub fn import(specs: &[CacheSpec], client: &Client) -> Option<ImportedCache> {
    let mut records = HashMap::new();
    let mut blobs: Vec<Box<dyn BlobProvider>> = Vec::new();
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
        match loaded {
            Ok(Some((recs, provider))) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "cache: {} records from {}",
                    recs.len(),
                    provider.describe()
                );
                records.extend(recs);
                blobs.push(provider);
            }
            Ok(None) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "cache: {} has no cache yet",
                    spec.location
                );
            }
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: ignoring {}: {e:#}",
                    spec.location
                );
            }
        }
    }
    (!blobs.is_empty()).then(|| ImportedCache::new(records, blobs))
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
