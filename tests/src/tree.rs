//! A directory tree as data, for "left as before" checks.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Every path under `root` with its type and content digest (empty when `root` is absent).
pub fn snapshot(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if !root.exists() {
        return out;
    }
    for e in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let e = e.unwrap_or_else(|err| panic!("walk {}: {err}", root.display()));
        let rel = e
            .path()
            .strip_prefix(root)
            .unwrap_or(e.path())
            .to_string_lossy()
            .into_owned();
        let ft = e.file_type();
        let v = if ft.is_dir() {
            "dir".to_string()
        } else if ft.is_symlink() {
            match std::fs::read_link(e.path()) {
                Ok(target) => format!("link {}", target.display()),
                Err(err) => panic!("readlink {}: {err}", e.path().display()),
            }
        } else {
            match std::fs::read(e.path()) {
                Ok(bytes) => format!("file {}", hex::encode(Sha256::digest(&bytes))),
                Err(err) => panic!("read {}: {err}", e.path().display()),
            }
        };
        out.insert(rel, v);
    }
    out
}
