//! Questions about the build context, asked through [`ContextView`] (the crate does no IO),
//! and the lexical checks made before asking.

/// What a context path is (after following symlinks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// Why a context question failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    #[error("not found in the build context")]
    NotFound,
    /// A symlink on the way resolves outside the context.
    #[error("a symlink resolves outside the build context")]
    EscapesContext,
    #[error("{0}")]
    Io(String),
}

/// Read-only view of the build context.
///
/// Paths are context-relative and `/`-separated, already lexically checked (no `..`
/// escaping the root, not absolute); `.` is the context root.
pub trait ContextView {
    /// Kind of the entry at `rel`, following symlinks, which must stay inside the context.
    fn stat(&self, rel: &str) -> Result<EntryKind, ContextError>;
    /// All regular files under the directory `rel_dir` (recursive), relative to it, sorted.
    fn list_files(&self, rel_dir: &str) -> Result<Vec<String>, ContextError>;
    /// Context paths matching a pattern with `*`, `?` and `[..]` (`*` stops at `/`), sorted.
    fn glob(&self, pattern: &str) -> Result<Vec<String>, ContextError>;
}

/// Why a path was rejected before asking the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathProblem {
    Empty,
    Absolute,
    Escapes,
}

/// Lexically clean a context-relative source path: `./a//b/../c` → `a/c`, root → `.`.
pub(crate) fn normalize_source(path: &str) -> Result<String, PathProblem> {
    if path.is_empty() {
        return Err(PathProblem::Empty);
    }
    if path.starts_with('/') {
        return Err(PathProblem::Absolute);
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PathProblem::Escapes);
                }
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Ok(".".to_string());
    }
    Ok(parts.join("/"))
}

/// Clean a destination: no leading `/`, `..` may not leave the rootfs, a trailing `/` (or a
/// final `.`) is kept as "into this directory"; the root itself is `./`.
pub(crate) fn normalize_dest(dest: &str) -> Result<String, PathProblem> {
    if dest.is_empty() {
        return Err(PathProblem::Empty);
    }
    let is_dir = dest.ends_with('/') || dest == "." || dest.ends_with("/.");
    let mut parts: Vec<&str> = Vec::new();
    for c in dest.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PathProblem::Escapes);
                }
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Ok("./".to_string());
    }
    let mut out = parts.join("/");
    if is_dir {
        out.push('/');
    }
    Ok(out)
}

/// Does the path contain glob metacharacters?
pub(crate) fn is_pattern(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// Last component of a `/`-separated path.
pub(crate) fn basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

#[cfg(test)]
#[path = "tests/unit_context.rs"]
mod tests;
