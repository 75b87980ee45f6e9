//! A manifest of a rootfs tree: every directory, symlink and file with its SHA-256.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    Symlink { target: String },
    File { size: u64, digest: String },
}

/// One entry; `path` is relative, `/`-separated, without a leading `./`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub mode: u32,
    pub kind: EntryKind,
}

/// Entries sorted by path (parents before children).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub root: PathBuf,
    pub entries: Vec<Entry>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Unsupported { path: PathBuf, message: String },
}

impl Manifest {
    /// Walk `root` and hash every regular file (in parallel, one thread per core).
    pub fn scan(root: &Path) -> Result<Manifest, ManifestError> {
        let io = |path: &Path, source: std::io::Error| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut entries = Vec::new();
        let mut files: Vec<(usize, PathBuf)> = Vec::new();
        for item in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
            let item = item.map_err(|e| {
                let path = e.path().unwrap_or(root).to_path_buf();
                ManifestError::Io {
                    path,
                    source: e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("walk error")),
                }
            })?;
            let full = item.path();
            let rel = relative(root, full)?;
            let meta = item.path().symlink_metadata().map_err(|e| io(full, e))?;
            let mode = meta.permissions().mode() & 0o7777;
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_symlink() {
                let target = std::fs::read_link(full).map_err(|e| io(full, e))?;
                let target = target.to_str().map(str::to_string).ok_or_else(|| {
                    ManifestError::Unsupported {
                        path: full.to_path_buf(),
                        message: "symlink target is not UTF-8".into(),
                    }
                })?;
                EntryKind::Symlink { target }
            } else if ft.is_file() {
                files.push((entries.len(), full.to_path_buf()));
                EntryKind::File {
                    size: meta.len(),
                    digest: String::new(),
                }
            } else {
                return Err(ManifestError::Unsupported {
                    path: full.to_path_buf(),
                    message: "only directories, regular files and symlinks can be distributed"
                        .into(),
                });
            };
            entries.push(Entry {
                path: rel,
                mode,
                kind,
            });
        }
        let digests = hash_all(&files)?;
        for ((idx, _), d) in files.iter().zip(digests) {
            if let Some(Entry {
                kind: EntryKind::File { digest, .. },
                ..
            }) = entries.get_mut(*idx)
            {
                *digest = d;
            }
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Manifest {
            root: root.to_path_buf(),
            entries,
        })
    }

    /// Total size of regular files.
    pub fn total_bytes(&self) -> u64 {
        self.entries
            .iter()
            .map(|e| match e.kind {
                EntryKind::File { size, .. } => size,
                _ => 0,
            })
            .sum()
    }

    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .and_then(|i| self.entries.get(i))
    }
}

fn relative(root: &Path, full: &Path) -> Result<String, ManifestError> {
    let rel = full.strip_prefix(root).unwrap_or(full);
    let text = rel.to_str().ok_or_else(|| ManifestError::Unsupported {
        path: full.to_path_buf(),
        message: "file name is not UTF-8".into(),
    })?;
    if text.contains('\n') || text.contains('\\') {
        return Err(ManifestError::Unsupported {
            path: full.to_path_buf(),
            message: "file names with newlines or backslashes cannot be distributed".into(),
        });
    }
    Ok(text.to_string())
}

fn hash_all(files: &[(usize, PathBuf)]) -> Result<Vec<String>, ManifestError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(8);
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(_, p)| {
                            hash_file(p).map_err(|source| ManifestError::Io {
                                path: p.clone(),
                                source,
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(files.len());
        for h in handles {
            let part = h.join().map_err(|_| ManifestError::Unsupported {
                path: PathBuf::new(),
                message: "a hashing thread panicked".into(),
            })??;
            out.extend(part);
        }
        Ok(out)
    })
}

/// Hex SHA-256 of one file.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(h.finalize()));
        }
        h.update(&buf[..n]);
    }
}

/// Hex SHA-256 of bytes.
pub fn hash_bytes(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

#[cfg(test)]
#[path = "../tests/rootfs_manifest.rs"]
mod tests;
