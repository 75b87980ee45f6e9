//! Image references inside free text: ConfigMap values (often whole embedded manifests or config
//! files), container arguments, environment values and shell scripts.

use super::objects::{Hit, scan_object};
use super::reference::is_strong;
use super::report::Confidence;
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

/// Whether a key names an image: `image`, `sidecarImage`, `proxy_image`, `FOO_IMAGE`,
/// `imageName`, `--some-image` … but not `imagePullPolicy`, `imagePullSecrets`, `imageTag`.
pub fn image_key(key: &str) -> bool {
    let last = key.rsplit(['/', '.']).next().unwrap_or(key);
    let k: String = last
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    if k.contains("pullpolicy") || k.contains("pullsecret") || k.contains("imageid") {
        return false;
    }
    k.ends_with("image")
        || k.starts_with("relatedimage")
        || matches!(
            k.as_str(),
            "imagename" | "imageref" | "imagereference" | "imageuri" | "imageurl" | "images"
        )
}

fn keyed_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r#"(?m)(?:^|[\s"'{,(-])([A-Za-z0-9_.\-/]*[Ii][Mm][Aa][Gg][Ee][A-Za-z0-9_\-]*)["']?\s*[:=]\s*["']?([A-Za-z0-9][^\s"',;}\]]*)"#)
            .unwrap_or_else(|_| unreachable!("static regex"))
    })
}

fn token_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"[A-Za-z0-9\[][A-Za-z0-9._\-/:@\[\]]*[A-Za-z0-9]")
            .unwrap_or_else(|_| unreachable!("static regex"))
    })
}

/// Scan text: embedded YAML/JSON documents are walked like objects (all hits indirect), and
/// `key: value` / `key=value` pairs with an image key plus registry-qualified, tagged tokens are
/// picked up line by line.
pub fn scan_text(text: &str, field: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    let structured = text.contains('\n') || text.trim_start().starts_with('{');
    if structured && let Ok(docs) = serde_saphyr::from_multiple::<Value>(text) {
        for (i, doc) in docs.iter().enumerate() {
            if !(doc.is_object() || doc.is_array()) {
                continue;
            }
            let prefix = if docs.len() > 1 {
                format!("{field}>[{i}]")
            } else {
                format!("{field}>")
            };
            for mut h in scan_object(doc, Confidence::Indirect) {
                h.via = Confidence::Indirect;
                h.container_image = false;
                h.field = format!("{prefix}{}", h.field);
                hits.push(h);
            }
        }
    }
    for cap in keyed_re().captures_iter(text) {
        let (Some(k), Some(v)) = (cap.get(1), cap.get(2)) else {
            continue;
        };
        if image_key(k.as_str()) && !hits.iter().any(|h| h.text == v.as_str()) {
            hits.push(Hit {
                text: v.as_str().to_string(),
                via: Confidence::Indirect,
                field: field.to_string(),
                container_image: false,
                require_tag: false,
            });
        }
    }
    for m in token_re().find_iter(text) {
        let t = m.as_str();
        if is_strong(t) && !hits.iter().any(|h| h.text == t) {
            hits.push(Hit {
                text: t.to_string(),
                via: Confidence::Indirect,
                field: field.to_string(),
                container_image: false,
                require_tag: false,
            });
        }
    }
    hits
}

#[cfg(test)]
#[path = "../tests/discover_text.rs"]
mod tests;
