//! Reachability: from index/manifest descriptors down to configs and layers.
//!
//! Manifests are read as generic JSON so OCI and Docker media types, image indexes and
//! artifact manifests are all followed (`manifests`, `config`, `layers`, `blobs`).

use std::collections::HashSet;

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde_json::Value;

use crate::digest::parse_sha256;
use crate::store::Store;

/// Largest manifest or index we read (the distribution registry uses the same limit).
pub const MANIFEST_LIMIT: u64 = 4 << 20;
/// Largest image config we parse when checking.
pub const CONFIG_LIMIT: u64 = 64 << 20;

/// The result of walking some roots.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    /// Present blobs reached, unique, in visit order: (digest text, size on disk).
    pub blobs: Vec<(String, u64)>,
    /// Referenced but absent blobs, with what referenced them.
    pub missing: Vec<String>,
    /// Present but wrong: size mismatch, bad digest, unparsable manifest.
    pub damage: Vec<String>,
}

struct Node {
    digest: String,
    size: u64,
    media_type: String,
    /// A manifest or index (followed), as opposed to a config or layer (leaf).
    doc: bool,
    role: String,
}

fn node_from_desc(d: &Descriptor, role: String) -> Node {
    Node {
        digest: d.digest().to_string(),
        size: d.size(),
        media_type: d.media_type().to_string(),
        doc: true,
        role,
    }
}

/// Walk everything reachable from `roots`. With `strict`, manifests must also parse as
/// oci-spec types and JSON configs as JSON.
pub(crate) fn walk(store: &Store, roots: &[Descriptor], strict: bool) -> Walk {
    let mut out = Walk::default();
    let mut seen = HashSet::new();
    let mut stack: Vec<Node> = roots
        .iter()
        .rev()
        .map(|d| node_from_desc(d, "index.json entry".to_string()))
        .collect();
    while let Some(node) = stack.pop() {
        if !seen.insert(node.digest.clone()) {
            continue;
        }
        let digest = match parse_sha256(&node.digest) {
            Ok(d) => d,
            Err(e) => {
                out.damage
                    .push(format!("{} ({}): {e}", node.digest, node.role));
                continue;
            }
        };
        let len = match std::fs::metadata(store.blob_path(&digest)) {
            Ok(m) if m.is_file() => m.len(),
            _ => {
                out.missing.push(format!("{} ({})", node.digest, node.role));
                continue;
            }
        };
        out.blobs.push((node.digest.clone(), len));
        if len != node.size {
            out.damage.push(format!(
                "{} ({}): size {len} on disk, descriptor says {}",
                node.digest, node.role, node.size
            ));
            continue;
        }
        if !node.doc {
            if strict && node.media_type.contains("json") {
                check_json_blob(store, &node, &digest, &mut out);
            }
            continue;
        }
        let bytes = match store.read_blob(&digest, MANIFEST_LIMIT) {
            Ok(b) => b,
            Err(e) => {
                out.damage
                    .push(format!("{} ({}): {e}", node.digest, node.role));
                continue;
            }
        };
        let value: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                out.damage.push(format!(
                    "{} ({}): not valid JSON: {e}",
                    node.digest, node.role
                ));
                continue;
            }
        };
        if strict && let Err(e) = check_typed(&value, &bytes) {
            out.damage
                .push(format!("{} ({}): {e}", node.digest, node.role));
        }
        let children = children(&value, &node.digest, &mut out.damage);
        stack.extend(children.into_iter().rev());
    }
    out
}

fn check_json_blob(store: &Store, node: &Node, digest: &oci_spec::image::Digest, out: &mut Walk) {
    match store.read_blob(digest, CONFIG_LIMIT) {
        Ok(b) => {
            if let Err(e) = serde_json::from_slice::<Value>(&b) {
                out.damage.push(format!(
                    "{} ({}): not valid JSON: {e}",
                    node.digest, node.role
                ));
            }
        }
        Err(e) => out
            .damage
            .push(format!("{} ({}): {e}", node.digest, node.role)),
    }
}

fn check_typed(value: &Value, bytes: &[u8]) -> Result<(), String> {
    if value.get("manifests").is_some() {
        serde_json::from_slice::<ImageIndex>(bytes)
            .map(|_| ())
            .map_err(|e| format!("not a valid image index: {e}"))
    } else if value.get("layers").is_some() {
        serde_json::from_slice::<ImageManifest>(bytes)
            .map(|_| ())
            .map_err(|e| format!("not a valid image manifest: {e}"))
    } else {
        Ok(())
    }
}

fn children(value: &Value, parent: &str, damage: &mut Vec<String>) -> Vec<Node> {
    let mut out = Vec::new();
    let mut push = |v: &Value, doc: bool, role: &str| {
        let digest = v.get("digest").and_then(Value::as_str);
        let size = v.get("size").and_then(Value::as_u64);
        match (digest, size) {
            (Some(d), Some(s)) => out.push(Node {
                digest: d.to_string(),
                size: s,
                media_type: v
                    .get("mediaType")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                doc,
                role: format!("{role} of {parent}"),
            }),
            _ => damage.push(format!("{parent}: {role} descriptor without digest/size")),
        }
    };
    if let Some(c) = value.get("config") {
        push(c, false, "config");
    }
    for (key, doc, role) in [
        ("layers", false, "layer"),
        ("blobs", false, "blob"),
        ("manifests", true, "manifest"),
    ] {
        if let Some(items) = value.get(key).and_then(Value::as_array) {
            for item in items {
                push(item, doc, role);
            }
        }
    }
    out
}
