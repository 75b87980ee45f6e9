//! The build context on disk: path resolution that never leaves the context root.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a context path cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ContextPathError {
    #[error("{path:?} does not exist in the build context {root}")]
    NotFound { path: String, root: PathBuf },
    #[error(
        "{path:?} points outside the build context {root} (absolute path, '..' or a symlink out)"
    )]
    Escapes { path: String, root: PathBuf },
    #[error("cannot read {path:?} in the build context: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("invalid pattern {pattern:?}: {message}")]
    Pattern { pattern: String, message: String },
}

/// A build context rooted at a directory.
#[derive(Debug, Clone)]
pub struct LocalContext {
    root: PathBuf,
}

impl LocalContext {
    pub fn new(root: &Path) -> io::Result<LocalContext> {
        Ok(LocalContext {
            root: root.canonicalize()?,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolve a context-relative path to a host path, following symlinks, refusing any
    /// resolution that leaves the context.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, ContextPathError> {
        let lexical = self.lexical(rel)?;
        let real = match lexical.canonicalize() {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // A dangling symlink pointing out is still an escape.
                if let Ok(target) = std::fs::read_link(&lexical) {
                    let joined = lexical.parent().unwrap_or(&self.root).join(target);
                    if !normalize(&joined).starts_with(&self.root) {
                        return Err(self.escapes(rel));
                    }
                }
                return Err(ContextPathError::NotFound {
                    path: rel.to_string(),
                    root: self.root.clone(),
                });
            }
            Err(source) => {
                return Err(ContextPathError::Io {
                    path: rel.to_string(),
                    source,
                });
            }
        };
        if !real.starts_with(&self.root) {
            return Err(self.escapes(rel));
        }
        Ok(real)
    }

    /// Join without touching the disk; rejects absolute paths and `..` that climbs out.
    pub fn lexical(&self, rel: &str) -> Result<PathBuf, ContextPathError> {
        let path = Path::new(rel);
        let mut out = self.root.clone();
        let mut depth = 0usize;
        for comp in path.components() {
            match comp {
                Component::Normal(c) => {
                    out.push(c);
                    depth += 1;
                }
                Component::CurDir => {}
                Component::ParentDir => {
                    if depth == 0 {
                        return Err(self.escapes(rel));
                    }
                    out.pop();
                    depth -= 1;
                }
                Component::RootDir | Component::Prefix(_) => return Err(self.escapes(rel)),
            }
        }
        Ok(out)
    }

    /// Expand a source that may hold glob characters into sorted context-relative matches.
    pub fn expand(&self, pattern: &str) -> Result<Vec<String>, ContextPathError> {
        if !has_glob(pattern) {
            self.resolve(pattern)?;
            return Ok(vec![pattern.trim_start_matches("./").to_string()]);
        }
        let glob = globset::GlobBuilder::new(pattern.trim_start_matches("./"))
            .literal_separator(true)
            .build()
            .map_err(|e| ContextPathError::Pattern {
                pattern: pattern.to_string(),
                message: e.to_string(),
            })?
            .compile_matcher();
        let mut matches = Vec::new();
        for entry in walkdir::WalkDir::new(&self.root)
            .min_depth(1)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| ContextPathError::Io {
                path: pattern.to_string(),
                source: e.into(),
            })?;
            let rel = entry
                .path()
                .strip_prefix(&self.root)
                .unwrap_or(entry.path())
                .to_string_lossy()
                .to_string();
            if glob.is_match(&rel) {
                self.resolve(&rel)?;
                matches.push(rel);
            }
        }
        if matches.is_empty() {
            return Err(ContextPathError::NotFound {
                path: pattern.to_string(),
                root: self.root.clone(),
            });
        }
        Ok(matches)
    }

    fn escapes(&self, rel: &str) -> ContextPathError {
        ContextPathError::Escapes {
            path: rel.to_string(),
            root: self.root.clone(),
        }
    }
}

/// Whether a source path uses glob syntax.
pub fn has_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
#[path = "tests/context.rs"]
mod tests;
