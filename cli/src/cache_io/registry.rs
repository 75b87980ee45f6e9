//! A shared cache in a registry: one manifest per record under a `k-<key>` tag (so
//! concurrent exporters never overwrite each other), plus a merged view under the given ref.

use super::{CACHE_CONFIG_MEDIA_TYPE, config_bytes, manifest_bytes, parse_config};
use crate::registry::runtime_handle;
use anyhow::{Context, Result, anyhow, bail};
use sealer_image_cache::{CacheRecord, Store};
use sealer_registry_shim::client::{Client, MemoryStore, PushOptions, StoreSink, StoreSource};
use sealer_registry_shim::digest::Digest as ShimDigest;
use sealer_registry_shim::reference::ImageReference;
use sealer_solver::import::BlobProvider;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) struct RegistryBlobs {
    pub(super) client: Client,
    pub(super) reference: ImageReference,
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
pub(super) async fn registry_records(
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
pub(super) async fn export_registry(
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
