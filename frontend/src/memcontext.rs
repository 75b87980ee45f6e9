//! [`MemContext`]: an in-memory [`ContextView`] for tests (files, directories, symlinks).

use globset::GlobBuilder;
use std::collections::BTreeMap;

use crate::context::{ContextError, ContextView, EntryKind};

const MAX_SYMLINK_HOPS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File,
    Dir,
    /// Target as written: relative to the link's directory, or absolute (= outside).
    Symlink(String),
}

/// A fake build context. Parent directories are created implicitly.
#[derive(Debug, Clone, Default)]
pub struct MemContext {
    entries: BTreeMap<String, Entry>,
}

impl MemContext {
    pub fn new() -> MemContext {
        MemContext::default()
    }

    /// Add a regular file (and its parent directories).
    pub fn file(mut self, path: &str) -> MemContext {
        self.insert(path, Entry::File);
        self
    }

    /// Add several regular files.
    pub fn files(self, paths: &[&str]) -> MemContext {
        paths.iter().fold(self, |ctx, p| ctx.file(p))
    }

    /// Add a (possibly empty) directory.
    pub fn dir(mut self, path: &str) -> MemContext {
        self.insert(path, Entry::Dir);
        self
    }

    /// Add a symlink at `path` pointing to `target` (relative to the link's directory;
    /// an absolute target points outside the context).
    pub fn symlink(mut self, path: &str, target: &str) -> MemContext {
        self.insert(path, Entry::Symlink(target.to_string()));
        self
    }

    fn insert(&mut self, path: &str, entry: Entry) {
        let path = path.trim_matches('/');
        let mut prefix = String::new();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if i + 1 < parts.len() {
                self.entries.entry(prefix.clone()).or_insert(Entry::Dir);
            }
        }
        self.entries.insert(prefix, entry);
    }

    /// Follow symlinks; returns the real path ("" for the root) and its kind.
    fn resolve(&self, rel: &str) -> Result<(String, EntryKind), ContextError> {
        let mut todo: Vec<String> = rel.split('/').rev().map(str::to_string).collect();
        let mut stack: Vec<String> = Vec::new();
        let mut kind = EntryKind::Dir;
        let mut hops = 0;
        while let Some(part) = todo.pop() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    if stack.pop().is_none() {
                        return Err(ContextError::EscapesContext);
                    }
                    kind = EntryKind::Dir;
                    continue;
                }
                _ => {}
            }
            if kind == EntryKind::File {
                return Err(ContextError::NotFound);
            }
            let mut candidate = stack.clone();
            candidate.push(part.clone());
            match self.entries.get(&candidate.join("/")) {
                None => return Err(ContextError::NotFound),
                Some(Entry::File) => {
                    stack = candidate;
                    kind = EntryKind::File;
                }
                Some(Entry::Dir) => {
                    stack = candidate;
                    kind = EntryKind::Dir;
                }
                Some(Entry::Symlink(target)) => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(ContextError::Io(format!(
                            "{rel}: too many levels of symbolic links"
                        )));
                    }
                    if target.starts_with('/') {
                        return Err(ContextError::EscapesContext);
                    }
                    todo.extend(target.split('/').rev().map(str::to_string));
                    kind = EntryKind::Dir;
                }
            }
        }
        Ok((stack.join("/"), kind))
    }

    fn collect_files(
        &self,
        dir: &str,
        prefix: &str,
        depth: usize,
        out: &mut Vec<String>,
    ) -> Result<(), ContextError> {
        if depth > MAX_SYMLINK_HOPS {
            return Err(ContextError::Io(format!(
                "{dir}: too many levels of symbolic links"
            )));
        }
        let lead = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        for (path, entry) in self.entries.range(lead.clone()..) {
            let Some(rest) = path.strip_prefix(&lead) else {
                break;
            };
            if rest.is_empty() {
                continue;
            }
            let shown = format!("{prefix}{rest}");
            match entry {
                Entry::File => out.push(shown),
                Entry::Dir => {}
                Entry::Symlink(_) => match self.resolve(path)? {
                    (_, EntryKind::File) => out.push(shown),
                    (real, EntryKind::Dir) => {
                        self.collect_files(&real, &format!("{shown}/"), depth + 1, out)?
                    }
                },
            }
        }
        Ok(())
    }
}

impl ContextView for MemContext {
    fn stat(&self, rel: &str) -> Result<EntryKind, ContextError> {
        self.resolve(rel).map(|(_, kind)| kind)
    }

    fn list_files(&self, rel_dir: &str) -> Result<Vec<String>, ContextError> {
        let (real, kind) = self.resolve(rel_dir)?;
        if kind != EntryKind::Dir {
            return Err(ContextError::Io(format!("{rel_dir} is not a directory")));
        }
        let mut out = Vec::new();
        self.collect_files(&real, "", 0, &mut out)?;
        out.sort();
        Ok(out)
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, ContextError> {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| ContextError::Io(format!("invalid pattern {pattern:?}: {e}")))?
            .compile_matcher();
        Ok(self
            .entries
            .keys()
            .filter(|p| glob.is_match(p.as_str()))
            .cloned()
            .collect())
    }
}
