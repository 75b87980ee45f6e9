//! A shared cache in a local OCI layout: one merged manifest under a fixed tag, written by
//! read-merge-write under the layout's lock.

use super::{CACHE_CONFIG_MEDIA_TYPE, CONFIG_LIMIT, config_bytes, manifest_bytes, parse_config};
use anyhow::{Context, Result, anyhow, bail};
use sealer_image_cache::{CacheRecord, Store};
use sealer_solver::import::BlobProvider;
use std::collections::BTreeMap;

const LOCAL_TAG: &str = "sealer-cache:latest";

pub(super) fn local_records(
    dir: &std::path::Path,
) -> Result<Option<(Store, BTreeMap<String, CacheRecord>)>> {
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

pub(super) struct LocalBlobs(pub(super) Store);

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

pub(super) fn export_local(
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
