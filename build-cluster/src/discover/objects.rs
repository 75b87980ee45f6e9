//! Walking an object for images: container images of any pod spec anywhere (Pods, templates,
//! CronJob job templates, custom resources), `image`-like keys, container args and env, and
//! the data of ConfigMaps.

use super::report::Confidence;
use super::text::{image_key, scan_text};
use serde_json::Value;

/// A candidate reference and where it sat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub text: String,
    pub via: Confidence,
    /// Field path (`spec.template.spec.containers[0].image`).
    pub field: String,
    /// A container's `image` field: an unparsable value is reported as unresolved, not ignored.
    pub container_image: bool,
    /// An operator flag or variable: a value without tag or digest is a base the operator
    /// completes with a version, so it is reported as unresolved rather than guessed `:latest`.
    pub require_tag: bool,
}

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Keys whose values copy whole objects (they would repeat every image as a keyed hit). A
/// top-level `status` is also skipped: what kubelets report is covered by observed pulls.
const SKIPPED_KEYS: [&str; 2] = [
    "managedFields",
    "kubectl.kubernetes.io/last-applied-configuration",
];

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Scan a whole object. `declared` is the confidence of container images (Declared for recorded
/// objects, List for static files, Indirect for YAML embedded in a ConfigMap).
pub fn scan_object(obj: &Value, declared: Confidence) -> Vec<Hit> {
    let mut hits = Vec::new();
    if obj["kind"] == "Secret" {
        return hits;
    }
    if obj["kind"] == "ConfigMap" {
        for key in ["data", "binaryData"] {
            if let Some(data) = obj[key].as_object() {
                for (k, v) in data {
                    if let Some(text) = v.as_str() {
                        hits.extend(scan_text(text, &format!("{key}.{k}")));
                    }
                }
            }
        }
        if let Some(meta) = obj.get("metadata") {
            walk(meta, "metadata", declared, &mut hits);
        }
        return hits;
    }
    walk(obj, "", declared, &mut hits);
    hits
}

fn walk(v: &Value, path: &str, declared: Confidence, hits: &mut Vec<Hit>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let skipped = match k.as_str() {
                    "status" => path.is_empty(),
                    other => SKIPPED_KEYS.contains(&other),
                };
                if skipped {
                    continue;
                }
                let p = join(path, k);
                if CONTAINER_LISTS.contains(&k.as_str())
                    && let Some(list) = child.as_array()
                    && list.iter().all(|c| c.is_object())
                {
                    for (i, c) in list.iter().enumerate() {
                        container(c, &format!("{p}[{i}]"), declared, hits);
                    }
                    continue;
                }
                if image_key(k) {
                    keyed(child, &p, hits);
                    continue;
                }
                walk(child, &p, declared, hits);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), declared, hits);
            }
        }
        _ => {}
    }
}

/// The value of an `image`-like key: a string, a list of strings, or a
/// `{registry, repository, tag, digest}` map.
fn keyed(v: &Value, path: &str, hits: &mut Vec<Hit>) {
    let hit = |text: String, field: String| Hit {
        text,
        via: Confidence::Indirect,
        field,
        container_image: false,
        require_tag: false,
    };
    match v {
        Value::String(s) if !s.trim().is_empty() => {
            hits.push(hit(s.trim().to_string(), path.to_string()))
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => hits.push(hit(s.clone(), format!("{path}[{i}]"))),
                    other => keyed(other, &format!("{path}[{i}]"), hits),
                }
            }
        }
        Value::Object(m) => {
            let s = |k: &str| {
                m.get(k).and_then(|v| match v {
                    Value::String(s) if !s.is_empty() => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            if let Some(repo) = s("repository").or_else(|| s("repo")).or_else(|| s("name")) {
                let mut text = match s("registry").or_else(|| s("host")) {
                    Some(reg) => format!("{}/{repo}", reg.trim_end_matches('/')),
                    None => repo,
                };
                if let Some(tag) = s("tag").or_else(|| s("version")) {
                    text.push(':');
                    text.push_str(&tag);
                }
                if let Some(d) = s("digest") {
                    text.push('@');
                    text.push_str(&d);
                }
                hits.push(hit(text, path.to_string()));
            } else {
                for (k, child) in m {
                    keyed(child, &join(path, k), hits);
                }
            }
        }
        _ => {}
    }
}

fn container(c: &Value, path: &str, declared: Confidence, hits: &mut Vec<Hit>) {
    if let Some(img) = c["image"].as_str() {
        hits.push(Hit {
            text: img.trim().to_string(),
            via: declared,
            field: format!("{path}.image"),
            container_image: true,
            require_tag: false,
        });
    }
    for key in ["command", "args"] {
        let Some(list) = c[key].as_array() else {
            continue;
        };
        let args: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
        for (i, a) in args.iter().enumerate() {
            let field = format!("{path}.{key}[{i}]");
            let flag = a.trim_start_matches('-');
            if let Some((k, val)) = flag.split_once('=')
                && a.starts_with('-')
                && image_key(k)
            {
                hits.push(Hit {
                    text: val.trim_matches(['"', '\'']).to_string(),
                    via: Confidence::Indirect,
                    field,
                    container_image: false,
                    require_tag: true,
                });
            } else if a.starts_with('-') && image_key(flag) && i + 1 < args.len() {
                hits.push(Hit {
                    text: args[i + 1].to_string(),
                    via: Confidence::Indirect,
                    field: format!("{path}.{key}[{}]", i + 1),
                    container_image: false,
                    require_tag: true,
                });
            } else {
                hits.extend(
                    scan_text(a, &field)
                        .into_iter()
                        .filter(|h| !h.container_image),
                );
            }
        }
    }
    if let Some(env) = c["env"].as_array() {
        for (i, e) in env.iter().enumerate() {
            let (Some(name), Some(value)) = (e["name"].as_str(), e["value"].as_str()) else {
                continue;
            };
            let field = format!("{path}.env[{i}].value");
            if image_key(name) || name.to_ascii_lowercase().starts_with("related_image") {
                hits.push(Hit {
                    text: value.trim().to_string(),
                    via: Confidence::Indirect,
                    field,
                    container_image: false,
                    require_tag: true,
                });
            } else {
                hits.extend(scan_text(value, &field));
            }
        }
    }
}

#[cfg(test)]
#[path = "../tests/discover_objects.rs"]
mod tests;
