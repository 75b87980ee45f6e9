//! `index.json`: tags (ref.name annotations), locked read-modify-write, name resolution.

use oci_spec::image::Descriptor;
use serde_json::Value;

use super::Store;
use crate::error::StoreError;
use crate::fsutil::{atomic_write, lock_file};
use crate::reference;
use crate::walk::walk;

/// The annotation that names an entry of `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Shortest bare hex prefix accepted as a digest (with `sha256:` any length works).
const MIN_BARE_PREFIX: usize = 4;

/// A named image of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    /// The `org.opencontainers.image.ref.name` annotation (normalized when written by us).
    pub name: String,
    pub descriptor: Descriptor,
}

/// The ref.name annotation of a descriptor, if any.
pub(crate) fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotations()
        .as_ref()
        .and_then(|a| a.get(REF_NAME))
        .map(String::as_str)
}

/// Recursively sort object keys so files we write are byte-for-byte deterministic
/// (descriptor annotations are HashMaps).
pub(crate) fn canonical(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Serialize an index document the way we write it to disk.
pub(crate) fn index_bytes(index: Value) -> Result<Vec<u8>, StoreError> {
    let mut bytes = serde_json::to_vec_pretty(&canonical(index))
        .map_err(|e| StoreError::json("index.json (serialize)", e))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A descriptor value carrying `name` as its ref.name annotation.
pub(crate) fn named_descriptor(desc: &Descriptor, name: Option<&str>) -> Result<Value, StoreError> {
    let mut d = desc.clone();
    let mut ann = d.annotations().clone().unwrap_or_default();
    match name {
        Some(n) => {
            ann.insert(REF_NAME.to_string(), n.to_string());
        }
        None => {
            ann.remove(REF_NAME);
        }
    }
    d.set_annotations(if ann.is_empty() { None } else { Some(ann) });
    serde_json::to_value(&d).map_err(|e| StoreError::json("descriptor (serialize)", e))
}

impl Store {
    fn read_index(&self) -> Result<Value, StoreError> {
        let path = self.index_path();
        let bytes = std::fs::read(&path).map_err(|e| StoreError::io("read", &path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::json(path.display().to_string(), e))
    }

    /// Every descriptor listed in index.json, named or not.
    pub(crate) fn index_descriptors(&self) -> Result<Vec<Descriptor>, StoreError> {
        let index = self.read_index()?;
        let items = index
            .get("manifests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                serde_json::from_value(v)
                    .map_err(|e| StoreError::json(format!("index.json manifests[{i}]"), e))
            })
            .collect()
    }

    /// Locked read-modify-write of the `manifests` array of index.json.
    fn update_index<T>(
        &self,
        f: impl FnOnce(&mut Vec<Value>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _guard = lock_file(&self.index_lock_path(), false)?;
        let mut index = self.read_index()?;
        let Some(obj) = index.as_object_mut() else {
            return Err(StoreError::Corrupt {
                path: self.index_path(),
                message: "not a JSON object".to_string(),
            });
        };
        let mut manifests = match obj.remove("manifests") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        let out = f(&mut manifests)?;
        obj.insert("manifests".to_string(), Value::Array(manifests));
        obj.entry("schemaVersion").or_insert(Value::from(2));
        atomic_write(&self.tmp_dir(), &self.index_path(), &index_bytes(index)?)?;
        Ok(out)
    }

    /// Named images (entries without a ref.name are skipped but still protect their blobs).
    pub fn images(&self) -> Result<Vec<ImageEntry>, StoreError> {
        Ok(self
            .index_descriptors()?
            .into_iter()
            .filter_map(|d| {
                ref_name(&d).map(|n| ImageEntry {
                    name: n.to_string(),
                    descriptor: d.clone(),
                })
            })
            .collect())
    }

    /// Point `name` (normalized) at `manifest`, replacing an existing entry of that name.
    /// Refuses unless the manifest and everything it references is in the store.
    pub fn set_tag(&self, name: &str, manifest: Descriptor) -> Result<(), StoreError> {
        self.set_tags(&[(name.to_string(), manifest)])
    }

    /// Several tags in one index update (all or nothing).
    pub fn set_tags(&self, entries: &[(String, Descriptor)]) -> Result<(), StoreError> {
        let _lease = self.lease()?;
        let mut named = Vec::with_capacity(entries.len());
        for (name, desc) in entries {
            let name = reference::normalize(name)?;
            let w = walk(self, std::slice::from_ref(desc), false);
            if !w.missing.is_empty() || !w.damage.is_empty() {
                let mut missing = w.missing;
                missing.extend(w.damage);
                return Err(StoreError::IncompleteImage { name, missing });
            }
            named.push((name.clone(), named_descriptor(desc, Some(&name))?));
        }
        self.update_index(|manifests| {
            for (name, value) in named {
                let pos = manifests
                    .iter()
                    .position(|m| value_ref_name(m) == Some(&name));
                match pos {
                    Some(i) => manifests[i] = value,
                    None => manifests.push(value),
                }
            }
            Ok(())
        })
    }

    /// Remove the entry named `name` (normalized; an exact stored name also matches).
    /// The blobs stay until the next prune.
    pub fn remove_tag(&self, name: &str) -> Result<Option<Descriptor>, StoreError> {
        let normalized = reference::normalize(name).ok();
        self.update_index(|manifests| {
            let pos = manifests
                .iter()
                .position(|m| value_ref_name(m) == Some(name))
                .or_else(|| {
                    let n = normalized.as_deref()?;
                    manifests.iter().position(|m| value_ref_name(m) == Some(n))
                });
            let Some(i) = pos else { return Ok(None) };
            let removed = manifests.remove(i);
            serde_json::from_value(removed)
                .map(Some)
                .map_err(|e| StoreError::json("index.json entry", e))
        })
    }

    /// Find an image by name (normalized), `repo@digest`, full manifest digest or a
    /// unique digest prefix (`sha256:ab12`, or bare hex of at least 4 characters).
    pub fn resolve(&self, name: &str) -> Result<Option<Descriptor>, StoreError> {
        let all = self.index_descriptors()?;
        if let Some(d) = all.iter().find(|d| ref_name(d) == Some(name)) {
            return Ok(Some(d.clone()));
        }
        let parsed = reference::parse(name);
        if let Ok(r) = &parsed {
            let normalized = r.clone().with_default_tag().to_string();
            if let Some(d) = all.iter().find(|d| ref_name(d) == Some(&normalized)) {
                return Ok(Some(d.clone()));
            }
            if let Some(digest) = &r.digest {
                let repo = r.name();
                let hit = all.iter().find(|d| {
                    d.digest().as_ref() == digest.as_str()
                        && ref_name(d)
                            .and_then(|n| reference::parse(n).ok())
                            .is_some_and(|er| er.name() == repo)
                });
                return Ok(hit.cloned());
            }
        }
        match digest_prefix(name) {
            Some(prefix) => resolve_prefix(&all, name, &prefix),
            None => match parsed {
                Ok(_) => Ok(None),
                Err(e) => Err(e.into()),
            },
        }
    }
}

fn value_ref_name(v: &Value) -> Option<&str> {
    v.get("annotations")?.get(REF_NAME)?.as_str()
}

/// `sha256:<hex prefix>` (any length ≥ 1) or bare hex (≥ 4) → the `sha256:…` prefix.
fn digest_prefix(text: &str) -> Option<String> {
    let is_hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match text.strip_prefix("sha256:") {
        Some(hex) if !hex.is_empty() && hex.len() <= 64 && is_hex(hex) => Some(text.to_string()),
        Some(_) => None,
        None if text.len() >= MIN_BARE_PREFIX && text.len() <= 64 && is_hex(text) => {
            Some(format!("sha256:{text}"))
        }
        None => None,
    }
}

fn resolve_prefix(
    all: &[Descriptor],
    input: &str,
    prefix: &str,
) -> Result<Option<Descriptor>, StoreError> {
    let mut hits: Vec<&Descriptor> = all
        .iter()
        .filter(|d| d.digest().as_ref().starts_with(prefix))
        .collect();
    hits.sort_by(|a, b| a.digest().as_ref().cmp(b.digest().as_ref()));
    hits.dedup_by(|a, b| a.digest() == b.digest());
    match hits.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => Err(StoreError::Ambiguous {
            prefix: input.to_string(),
            candidates: many.iter().map(|d| d.digest().to_string()).collect(),
        }),
    }
}
