//! `--explain-cache`: for each step that missed, which part of its cache key changed since the
//! last build of the same tag (the instruction, an earlier step, the files it reads, or the
//! output settings).

use sealer_image_cache::Store;
use sealer_solver::Solved;
use sealer_solver::graph::Definition;
use sealer_solver::keys::KeyParts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

#[derive(Serialize, Deserialize)]
struct StepKeys {
    name: String,
    key: String,
    parts: KeyParts,
}

fn path(store: &Store, tag: &str) -> PathBuf {
    let id = hex::encode(Sha256::digest(tag.as_bytes()));
    store
        .root()
        .join("cache")
        .join("explain")
        .join(format!("{}.json", &id[..32]))
}

fn steps(def: &Definition, solved: &Solved) -> Vec<StepKeys> {
    def.vertices
        .iter()
        .filter_map(|(d, _)| {
            Some(StepKeys {
                name: def.name(d),
                key: solved.keys.get(d)?.clone(),
                parts: solved.key_parts.get(d)?.clone(),
            })
        })
        .collect()
}

/// Lines explaining each executed step (empty when nothing ran).
pub fn explain(store: &Store, tag: &str, def: &Definition, solved: &Solved) -> Vec<String> {
    let previous: Option<Vec<StepKeys>> = std::fs::read(path(store, tag))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let current = steps(def, solved);
    let mut out = Vec::new();
    for (i, (d, _)) in def.vertices.iter().enumerate() {
        if !solved.executed.contains(d) {
            continue;
        }
        let now = &current[i];
        let why = match previous.as_ref().and_then(|p| p.get(i)) {
            None => vec![format!("no earlier build of {tag} had step {}", i + 1)],
            Some(old) if old.name != now.name && old.parts.op_digest != now.parts.op_digest => {
                vec![format!("the step changed: was `{}`", old.name)]
            }
            Some(old) if old.key == now.key => {
                vec!["the key is unchanged but its result was not in the cache (pruned, --no-cache, or blobs missing)".into()]
            }
            Some(old) => now.parts.explain_change(&old.parts),
        };
        out.push(format!("#{} {}: {}", i + 1, now.name, why.join("; ")));
    }
    out
}

/// Remember this build's keys for the next `--explain-cache`.
pub fn record(store: &Store, tag: &str, def: &Definition, solved: &Solved) -> std::io::Result<()> {
    let p = path(store, tag);
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = serde_json::to_vec(&steps(def, solved)).map_err(std::io::Error::other)?;
    let tmp = p.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, p)
}
