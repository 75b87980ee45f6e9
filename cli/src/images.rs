//! Store commands: images, inspect, tag, rmi, save, load, prune, fsck.

use anyhow::{Context, Result, anyhow, bail};
use sealer_image_cache::Store;

use sealer_image_cache::gc::PruneOptions;
use sealer_image_cache::sealer_meta::Platform;
use sealer_image_cache::sealer_meta::{
    ANNOTATION_CONTAINER_IMAGES, ANNOTATION_IMAGE_EXTENSION, LABEL_KUBE_CNI_PREFIX,
    LABEL_KUBE_CSI_PREFIX,
};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;

fn open(root: &Path) -> Result<Store> {
    Store::open(root).with_context(|| format!("cannot open store {}", root.display()))
}

pub fn images(root: &Path, as_json: bool) -> Result<()> {
    let store = open(root)?;
    let mut rows = Vec::new();
    for entry in store.images()? {
        let child = store.platform_manifest(&entry.descriptor, &Platform::host());
        let Ok(child) = child else {
            rows.push(json!({
                "name": entry.name,
                "digest": entry.descriptor.digest().to_string(),
                "size": entry.descriptor.size(),
                "layers": 0,
            }));
            continue;
        };
        let (manifest, _) = store.manifest(&child)?;
        let size: u64 =
            manifest.layers().iter().map(|l| l.size()).sum::<u64>() + manifest.config().size();
        rows.push(json!({
            "name": entry.name,
            "digest": entry.descriptor.digest().to_string(),
            "size": size,
            "layers": manifest.layers().len(),
        }));
    }
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<50} {:<20} {:>8} {:>10}",
        "NAME", "DIGEST", "LAYERS", "SIZE"
    )?;
    for r in rows {
        let digest = r["digest"].as_str().unwrap_or("");
        let short = digest.strip_prefix("sha256:").unwrap_or(digest);
        writeln!(
            out,
            "{:<50} {:<20} {:>8} {:>10}",
            r["name"].as_str().unwrap_or(""),
            &short[..short.len().min(12)],
            r["layers"],
            human_size(r["size"].as_u64().unwrap_or(0))
        )?;
    }
    Ok(())
}

/// `1.5 MiB`-style sizes for people (exact bytes below 1 KiB).
pub(crate) fn human_size(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// sealer-shaped inspect document.
pub fn inspect(root: &Path, name: &str, platform: Option<&str>) -> Result<()> {
    let store = open(root)?;
    let top = store
        .resolve(name)?
        .ok_or_else(|| anyhow!("image {name:?} not found in {}", root.display()))?;
    let platform = match platform {
        Some(p) => Platform::parse(p).map_err(anyhow::Error::msg)?,
        None => Platform::host(),
    };
    let desc = store.platform_manifest(&top, &platform)?;
    let index: Option<Value> = (desc.digest() != top.digest())
        .then(|| store.read_blob(top.digest(), 4 << 20).ok())
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let (manifest, raw) = store.manifest(&desc)?;
    let manifest_json: Value = serde_json::from_slice(&raw)?;
    let config: Value =
        serde_json::from_slice(&store.read_blob(manifest.config().digest(), 8 << 20)?)?;
    let annotations = manifest.annotations().clone().unwrap_or_default();
    let mut extension: Value = annotations
        .get(ANNOTATION_IMAGE_EXTENSION)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_else(|| json!({}));
    let images: Value = annotations
        .get(ANNOTATION_CONTAINER_IMAGES)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_else(|| json!([]));
    extension["labels"] = fold_labels(&config["config"]["Labels"]);
    let mut doc = json!({
        "name": name,
        "digest": top.digest().to_string(),
        "manifestDigest": desc.digest().to_string(),
        "manifest": manifest_json,
        "config": config,
        "imageExtension": extension,
        "containerImageList": images,
    });
    if let Some(index) = index {
        doc["index"] = index;
        doc["platform"] = json!(platform.to_string());
    }
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

/// Labels with the CNI/CSI marker labels folded into `kube-cni` / `kube-csi` lists.
fn fold_labels(labels: &Value) -> Value {
    let mut out = serde_json::Map::new();
    let mut cni = Vec::new();
    let mut csi = Vec::new();
    if let Some(map) = labels.as_object() {
        for (k, v) in map {
            if let Some(name) = k.strip_prefix(LABEL_KUBE_CNI_PREFIX) {
                cni.push(json!(name));
            } else if let Some(name) = k.strip_prefix(LABEL_KUBE_CSI_PREFIX) {
                csi.push(json!(name));
            } else {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if !cni.is_empty() {
        out.insert("kube-cni".into(), Value::Array(cni));
    }
    if !csi.is_empty() {
        out.insert("kube-csi".into(), Value::Array(csi));
    }
    Value::Object(out)
}

pub fn tag(root: &Path, source: &str, target: &str) -> Result<()> {
    let store = open(root)?;
    let desc = store
        .resolve(source)?
        .ok_or_else(|| anyhow!("image {source:?} not found"))?;
    store.set_tag(target, desc)?;
    Ok(())
}

pub fn rmi(root: &Path, names: &[String]) -> Result<()> {
    let store = open(root)?;
    let mut missing = Vec::new();
    for name in names {
        match store.remove_tag(name)? {
            Some(desc) => println!("untagged {name} ({})", desc.digest()),
            None => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        bail!("no such image: {}", missing.join(", "));
    }
    Ok(())
}

pub fn prune(root: &Path, keep_cache: bool) -> Result<()> {
    let store = open(root)?;
    // Unpacked snapshots are regenerable: drop them while no build runs.
    if !keep_cache && let Some(lease) = store.try_exclusive_lease()? {
        sealer_snapshotter::clear_caches(&store.root().join("snapshots"))?;
        // Materialized root filesystems (for run/apply) are regenerated on demand.
        let rootfs = store.root().join("rootfs");
        if rootfs.exists() {
            std::fs::remove_dir_all(&rootfs)
                .with_context(|| format!("cannot remove {}", rootfs.display()))?;
        }
        drop(lease);
    }
    let report = store.prune(&PruneOptions {
        all_cache: !keep_cache,
    })?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

pub fn fsck(root: &Path) -> Result<()> {
    let store = open(root)?;
    let report = store.fsck()?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !report.is_clean() {
        bail!(
            "store {} is damaged: {}",
            root.display(),
            report.damage.join("; ")
        );
    }
    Ok(())
}
