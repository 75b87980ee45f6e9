//! Cluster environment: `K=V` lists from the image, the Clusterfile and per host, merged in that order.

use std::collections::BTreeMap;

/// Parse `K=V` entries; `K=a;b` is a list value, exported space-separated as sealer does.
/// A later entry for the same key replaces the earlier one.
pub fn parse_env(entries: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for entry in entries {
        let Some((key, value)) = entry.split_once('=') else {
            return Err(format!("invalid env entry {entry:?}: expected KEY=VALUE"));
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) || key.contains('\0') {
            return Err(format!(
                "invalid env entry {entry:?}: the key must be non-empty without spaces"
            ));
        }
        if value.contains('\0') {
            return Err(format!("invalid env entry {entry:?}: NUL in the value"));
        }
        let value = if value.contains(';') {
            value
                .split(';')
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            value.to_string()
        };
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

/// Merge layers of env, later layers winning.
pub fn merge_env<'a>(
    layers: impl IntoIterator<Item = &'a BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for layer in layers {
        for (k, v) in layer {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

#[cfg(test)]
#[path = "../tests/clusterfile_env.rs"]
mod tests;
