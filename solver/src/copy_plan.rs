//! Decide which host files land where for COPY/ADD/APP, with Docker's destination rules:
//! a destination ending in `/`, several sources, or a directory source means "into this
//! directory"; a single file to a path that is a directory in the parent image goes into it
//! too; otherwise the destination is the file's new name. Directory sources copy their
//! contents. ADD extracts local tar archives (plain, gzip, zstd).

use crate::chain_files::open_layer;
use crate::context::{ContextPathError, LocalContext};
use crate::graph::{CopyOp, CopySource};
use sealer_snapshotter::{CopyEntry, LayerBlobRef};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CopyPlanError {
    #[error(transparent)]
    Context(#[from] ContextPathError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot extract archive {path}: {source}")]
    Extract {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CopyPlanError + '_ {
    move |source| CopyPlanError::Io {
        path: path.to_path_buf(),
        source,
    }
}

struct Source {
    host: PathBuf,
    name: String,
    is_dir: bool,
}

/// Resolve a copy into layer entries. `scratch` holds extracted archives for the step.
pub fn plan_copy(
    copy: &CopyOp,
    context: &LocalContext,
    urls: &HashMap<String, PathBuf>,
    parent: &[LayerBlobRef],
    scratch: &Path,
) -> Result<Vec<CopyEntry>, CopyPlanError> {
    let mut sources = Vec::new();
    for (i, source) in copy.sources.iter().enumerate() {
        match source {
            CopySource::Context { path } => {
                for rel in context.expand(path)? {
                    let host = context.resolve(&rel)?;
                    let is_dir = host.is_dir();
                    let mut host = host;
                    let mut is_dir = is_dir;
                    if copy.extract_archives && !is_dir && is_archive(&host)? {
                        let out = scratch.join(format!("extract-{i}-{}", sources.len()));
                        extract(&host, &out)?;
                        host = out;
                        is_dir = true;
                    }
                    sources.push(Source {
                        name: base_name(&rel),
                        host,
                        is_dir,
                    });
                }
            }
            CopySource::Url { url } => {
                let Some(host) = urls.get(url) else { continue };
                let name = url
                    .split(['?', '#'])
                    .next()
                    .and_then(|u| u.rsplit('/').next())
                    .filter(|n| !n.is_empty())
                    .unwrap_or("download")
                    .to_string();
                sources.push(Source {
                    host: host.clone(),
                    name,
                    is_dir: false,
                });
            }
        }
    }
    let dest = normalize_dest(&copy.dest);
    let into_dir = copy.dest.ends_with('/')
        || dest.is_empty()
        || sources.len() > 1
        || sources.iter().any(|s| s.is_dir)
        || parent_has_dir(parent, &dest);
    let mut entries = Vec::new();
    for source in sources {
        if source.is_dir {
            if dest.is_empty() {
                // Contents of the directory go to the root: one entry per child.
                let mut children: Vec<_> = std::fs::read_dir(&source.host)
                    .map_err(io_err(&source.host))?
                    .filter_map(Result::ok)
                    .collect();
                children.sort_by_key(|e| e.file_name());
                for child in children {
                    entries.push(CopyEntry {
                        host_path: child.path(),
                        dest: child.file_name().to_string_lossy().to_string(),
                    });
                }
            } else {
                entries.push(CopyEntry {
                    host_path: source.host,
                    dest: dest.clone(),
                });
            }
        } else if into_dir {
            entries.push(CopyEntry {
                host_path: source.host,
                dest: join(&dest, &source.name),
            });
        } else {
            entries.push(CopyEntry {
                host_path: source.host,
                dest: dest.clone(),
            });
        }
    }
    Ok(entries)
}

fn base_name(rel: &str) -> String {
    rel.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(rel)
        .to_string()
}

/// Strip leading `/`, `./` and trailing `/`.
pub fn normalize_dest(dest: &str) -> String {
    let parts: Vec<&str> = dest
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    parts.join("/")
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn is_archive(path: &Path) -> Result<bool, CopyPlanError> {
    let mut head = [0u8; 262];
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut n = 0;
    while n < head.len() {
        let r = file.read(&mut head[n..]).map_err(io_err(path))?;
        if r == 0 {
            break;
        }
        n += r;
    }
    let gzip = n >= 2 && head[..2] == [0x1f, 0x8b];
    let zstd = n >= 4 && head[..4] == [0x28, 0xb5, 0x2f, 0xfd];
    let tar = n >= 262 && &head[257..262] == b"ustar";
    Ok(gzip || zstd || tar)
}

fn extract(archive: &Path, out: &Path) -> Result<(), CopyPlanError> {
    let err = |source| CopyPlanError::Extract {
        path: archive.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(out).map_err(err)?;
    let reader = open_layer(archive).map_err(err)?;
    let mut tar = tar::Archive::new(reader);
    tar.set_preserve_permissions(true);
    tar.set_overwrite(true);
    tar.unpack(out).map_err(err)
}

/// Whether `path` is a directory in the filesystem made by `parent` (topmost layer first;
/// whiteouts hide lower layers). Only consulted for the ambiguous single-file case.
fn parent_has_dir(parent: &[LayerBlobRef], path: &str) -> bool {
    if path.is_empty() {
        return true;
    }
    for layer in parent.iter().rev() {
        match layer_lookup(&layer.path, path) {
            Some(Found::Dir) => return true,
            Some(Found::Other) | Some(Found::Deleted) => return false,
            None => {}
        }
    }
    false
}

enum Found {
    Dir,
    Other,
    Deleted,
}

fn layer_lookup(blob: &Path, path: &str) -> Option<Found> {
    let reader = open_layer(blob).ok()?;
    let mut tar = tar::Archive::new(reader);
    let (parent, name) = match path.rsplit_once('/') {
        Some((p, n)) => (format!("{p}/"), n.to_string()),
        None => (String::new(), path.to_string()),
    };
    let whiteout = format!("{parent}.wh.{name}");
    let prefix = format!("{path}/");
    let mut found = None;
    for entry in tar.entries().ok()? {
        let entry = entry.ok()?;
        let p = entry.path().ok()?.to_string_lossy().to_string();
        let p = p.trim_start_matches("./").to_string();
        if p.trim_end_matches('/') == path {
            found = Some(if entry.header().entry_type().is_dir() {
                Found::Dir
            } else {
                Found::Other
            });
        } else if p == whiteout {
            found = Some(Found::Deleted);
        } else if p.starts_with(&prefix) && found.is_none() {
            found = Some(Found::Dir);
        }
    }
    found
}

#[cfg(test)]
#[path = "tests/copy_plan.rs"]
mod tests;
