//! `Kubefile.lock`: the base image digests and every embedded image's tag → digest, per
//! platform. Written after each build; `--locked` builds from it without resolving tags and
//! fail when the build would need anything it does not pin.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockfile {
    pub version: u32,
    /// `FROM` reference → manifest digest.
    #[serde(default)]
    pub base: BTreeMap<String, String>,
    /// Platform (`linux/amd64`) → embedded image reference → digest.
    #[serde(default)]
    pub images: BTreeMap<String, BTreeMap<String, String>>,
}

/// `Kubefile.lock` beside the Kubefile (`<name>.lock` for other file names).
pub fn path_for(kubefile: &Path) -> PathBuf {
    let name = kubefile
        .file_name()
        .map(|n| format!("{}.lock", n.to_string_lossy()))
        .unwrap_or_else(|| "Kubefile.lock".to_string());
    kubefile.with_file_name(name)
}

pub fn load(path: &Path) -> Result<Option<Lockfile>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not a valid lockfile; delete it and rebuild without --locked",
                path.display()
            )
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Write atomically (temp file + rename), pretty and sorted.
pub fn save(path: &Path, lock: &Lockfile) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(lock)?;
    bytes.push(b'\n');
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write a lockfile in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, &bytes)?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
#[path = "../tests/build_lock.rs"]
mod tests;
