//! Files written into the rootfs at install time without touching the image's copy:
//! rendered `*.tmpl` files, `Config` documents and `Application` file configs.

use super::manifest::{EntryKind, Manifest};
use crate::clusterfile::{AppConfig, ConfigDoc, ConfigStrategy};
use std::collections::BTreeMap;
use std::path::Path;

/// Directories whose `*.tmpl` files are rendered with the cluster env.
pub const TEMPLATE_DIRS: &[&str] = &["etc/", "charts/", "manifests/"];

/// Content that replaces or adds a rootfs file, by relative path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overlay {
    pub files: BTreeMap<String, (Vec<u8>, u32)>,
}

/// A Config path must stay inside the rootfs.
pub fn check_config_path(path: &str) -> Result<(), String> {
    let p = path.trim();
    if p.is_empty() {
        return Err("spec.path is empty".into());
    }
    if p.starts_with('/') {
        return Err(format!(
            "spec.path {p:?} must be relative to the rootfs (e.g. etc/kubeadm.yml)"
        ));
    }
    if p.split('/').any(|c| c == ".." || c == ".") || p.contains('\n') || p.contains('\\') {
        return Err(format!(
            "spec.path {p:?} must not contain `.`, `..` or special characters"
        ));
    }
    Ok(())
}

/// Supported `process` steps: `toJson`, `toBase64`, separated by `|`.
pub fn check_process(process: &str) -> Result<(), String> {
    for step in process.split('|').map(str::trim).filter(|s| !s.is_empty()) {
        if !matches!(step, "toJson" | "toBase64") {
            return Err(format!(
                "unsupported process step {step:?}: supported are toJson and toBase64"
            ));
        }
    }
    Ok(())
}

impl Overlay {
    /// Build the overlay for one host's env.
    pub fn build(
        manifest: &Manifest,
        configs: &[ConfigDoc],
        apps: &[AppConfig],
        env: &BTreeMap<String, String>,
    ) -> Result<Overlay, String> {
        let mut ov = Overlay::default();
        for e in &manifest.entries {
            let EntryKind::File { .. } = e.kind else {
                continue;
            };
            let Some(out) = e.path.strip_suffix(".tmpl") else {
                continue;
            };
            if !TEMPLATE_DIRS.iter().any(|d| e.path.starts_with(d)) {
                continue;
            }
            let text = read(&manifest.root, &e.path)?;
            let rendered = render(&String::from_utf8_lossy(&text), env);
            ov.files
                .insert(out.to_string(), (rendered.into_bytes(), e.mode));
        }
        for c in configs {
            let path = c.spec.path.trim().to_string();
            check_config_path(&path)?;
            let data = process(&c.spec.data, &c.spec.process)?;
            let strategy = c.spec.strategy.unwrap_or_default();
            ov.put(manifest, &path, data.into_bytes(), strategy)
                .map_err(|e| format!("Config {:?}: {e}", c.metadata.name))?;
        }
        for app in apps {
            for f in &app.files {
                let path = format!("application/apps/{}/{}", app.name, f.path.trim());
                check_config_path(&path)?;
                ov.put(
                    manifest,
                    &path,
                    f.data.clone().into_bytes(),
                    f.strategy.unwrap_or_default(),
                )
                .map_err(|e| format!("Application config {:?}: {e}", app.name))?;
            }
        }
        Ok(ov)
    }

    fn put(
        &mut self,
        manifest: &Manifest,
        path: &str,
        data: Vec<u8>,
        strategy: ConfigStrategy,
    ) -> Result<(), String> {
        let mode = manifest.get(path).map(|e| e.mode).unwrap_or(0o644);
        let content = match strategy {
            ConfigStrategy::Overwrite => data,
            ConfigStrategy::Merge => {
                let base = match self.files.get(path) {
                    Some((b, _)) => Some(b.clone()),
                    None if manifest.get(path).is_some() => Some(read(&manifest.root, path)?),
                    None => None,
                };
                match base {
                    None => data,
                    Some(base) => merge_yaml(&base, &data)
                        .map_err(|e| format!("cannot merge into {path}: {e}"))?,
                }
            }
        };
        self.files.insert(path.to_string(), (content, mode));
        Ok(())
    }
}

fn read(root: &Path, rel: &str) -> Result<Vec<u8>, String> {
    let p = root.join(rel);
    std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

/// Replace `{{ .KEY }}` with env values (missing keys render empty); other `{{ }}` stay as they are.
pub fn render(text: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = after[..end].trim();
        let key = inner.strip_prefix('.').filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        match key {
            Some(k) => out.push_str(env.get(k).map(String::as_str).unwrap_or("")),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn process(data: &str, steps: &str) -> Result<String, String> {
    check_process(steps)?;
    let mut cur = data.to_string();
    for step in steps.split('|').map(str::trim).filter(|s| !s.is_empty()) {
        cur = match step {
            "toJson" => {
                let v: serde_json::Value = serde_saphyr::from_str(&cur)
                    .map_err(|e| format!("toJson: data is not YAML: {e}"))?;
                serde_json::to_string(&v).map_err(|e| format!("toJson: {e}"))?
            }
            _ => base64(cur.as_bytes()),
        };
    }
    Ok(cur)
}

/// Deep-merge YAML mappings (`over` wins; sequences and scalars are replaced).
pub fn merge_yaml(base: &[u8], over: &[u8]) -> Result<Vec<u8>, String> {
    let parse = |b: &[u8], what: &str| -> Result<serde_json::Value, String> {
        let text = std::str::from_utf8(b).map_err(|_| format!("the {what} is not UTF-8"))?;
        serde_saphyr::from_str(text).map_err(|e| format!("the {what} is not YAML: {e}"))
    };
    let mut b = parse(base, "existing file")?;
    let o = parse(over, "Config data")?;
    merge_value(&mut b, o);
    serde_saphyr::to_string(&b)
        .map(String::into_bytes)
        .map_err(|e| e.to_string())
}

fn merge_value(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge_value(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for c in input.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if i <= c.len() {
                out.push(T[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "../tests/rootfs_overlay.rs"]
mod tests;
