//! Repository links: layers, manifest revisions, tags, catalog.

use std::io;
use std::path::{Path, PathBuf};

use super::{Layout, LayoutError, Result, atomic_write, io_err};
use crate::digest::Digest;
use crate::manifest::Manifest;

/// A manifest read back from the layout, bytes exactly as stored.
#[derive(Clone, Debug)]
pub struct StoredManifest {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

fn sha_dir(base: &Path, d: &Digest) -> PathBuf {
    base.join("sha256").join(d.hex())
}

/// Read a `link` file; `None` when absent.
fn read_link(path: &Path) -> Result<Option<Digest>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Digest::parse(s.trim())
            .map(Some)
            .map_err(|_| LayoutError::CorruptLink {
                path: path.to_path_buf(),
                content: s.chars().take(100).collect(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => Ok(None),
        Err(e) => Err(io_err("read", path)(e)),
    }
}

fn write_link(path: &Path, d: &Digest) -> Result<()> {
    if read_link(path).ok().flatten().as_ref() == Some(d) {
        return Ok(());
    }
    atomic_write(path, d.to_string().as_bytes())
}

pub(crate) fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

impl Layout {
    fn layer_link(&self, repo: &str, d: &Digest) -> Result<PathBuf> {
        Ok(sha_dir(&self.repo_dir(repo)?.join("_layers"), d).join("link"))
    }

    fn revision_link(&self, repo: &str, d: &Digest) -> Result<PathBuf> {
        Ok(sha_dir(&self.repo_dir(repo)?.join("_manifests/revisions"), d).join("link"))
    }

    fn tag_dir(&self, repo: &str, tag: &str) -> Result<PathBuf> {
        if !valid_tag(tag) {
            return Err(LayoutError::InvalidTag(tag.to_string()));
        }
        Ok(self.repo_dir(repo)?.join("_manifests/tags").join(tag))
    }

    /// Link an existing blob into `repo` (`_layers/sha256/<hex>/link`).
    pub fn link_blob(&self, repo: &str, d: &Digest) -> Result<()> {
        write_link(&self.layer_link(repo, d)?, d)
    }

    /// Size of a blob if it is stored and linked into `repo`.
    pub fn linked_blob_size(&self, repo: &str, d: &Digest) -> Result<Option<u64>> {
        if read_link(&self.layer_link(repo, d)?)?.as_ref() != Some(d) {
            return Ok(None);
        }
        self.blob_size(d)
    }

    /// Whether `repo` holds manifest `d` (a revision link and the blob).
    pub fn has_manifest(&self, repo: &str, d: &Digest) -> Result<bool> {
        Ok(
            read_link(&self.revision_link(repo, d)?)?.as_ref() == Some(d)
                && self.blob_size(d)?.is_some(),
        )
    }

    /// The digest a tag points at.
    pub fn resolve_tag(&self, repo: &str, tag: &str) -> Result<Option<Digest>> {
        read_link(&self.tag_dir(repo, tag)?.join("current/link"))
    }

    /// Read a manifest by tag or digest; `None` when the repository does not have it.
    pub fn read_manifest(&self, repo: &str, reference: &str) -> Result<Option<StoredManifest>> {
        let digest = if reference.contains(':') {
            match Digest::parse(reference) {
                Ok(d) => d,
                Err(_) => return Ok(None),
            }
        } else {
            match self.resolve_tag(repo, reference)? {
                Some(d) => d,
                None => return Ok(None),
            }
        };
        if !self.has_manifest(repo, &digest)? {
            return Ok(None);
        }
        let path = self.blob_path(&digest);
        let bytes = std::fs::read(&path).map_err(io_err("read manifest", &path))?;
        let media_type = Manifest::parse(&bytes)
            .map(|m| m.media_type().to_string())
            .unwrap_or_else(|_| crate::manifest::OCI_MANIFEST.to_string());
        Ok(Some(StoredManifest {
            digest,
            media_type,
            bytes,
        }))
    }

    /// Store manifest bytes (as-is), link the revision, and point `tag` at it if given.
    pub fn put_manifest(&self, repo: &str, tag: Option<&str>, bytes: &[u8]) -> Result<Digest> {
        let d = Digest::of(bytes);
        if self.blob_size(&d)? != Some(bytes.len() as u64) {
            let mut w = self.blob_writer(repo)?.without_layer_link();
            w.write(bytes)?;
            w.commit(Some(&d), Some(bytes.len() as u64))?;
        }
        write_link(&self.revision_link(repo, &d)?, &d)?;
        if let Some(t) = tag {
            self.tag(repo, t, &d)?;
        }
        Ok(d)
    }

    /// Point `tag` at manifest `d` (`current/link` and `index/sha256/<hex>/link`).
    pub fn tag(&self, repo: &str, tag: &str, d: &Digest) -> Result<()> {
        let dir = self.tag_dir(repo, tag)?;
        write_link(&sha_dir(&dir.join("index"), d).join("link"), d)?;
        write_link(&dir.join("current/link"), d)
    }

    /// Tags of `repo`, sorted; empty when the repository does not exist.
    pub fn tags(&self, repo: &str) -> Result<Vec<String>> {
        let dir = self.repo_dir(repo)?.join("_manifests/tags");
        let mut tags = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(tags),
            Err(e) => return Err(io_err("list tags in", &dir)(e)),
        };
        for e in entries {
            let e = e.map_err(io_err("list tags in", &dir))?;
            if let Some(name) = e.file_name().to_str()
                && valid_tag(name)
                && e.path().join("current/link").is_file()
            {
                tags.push(name.to_string());
            }
        }
        tags.sort();
        Ok(tags)
    }

    /// All repositories (directories holding `_layers` or `_manifests`), sorted.
    pub fn repositories(&self) -> Result<Vec<String>> {
        let base = self.v2().join("repositories");
        let mut out = Vec::new();
        walk_repos(&base, "", &mut out)?;
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Top-level directories under `repositories/` (registry domains in our layout).
    pub fn top_level_dirs(&self) -> Result<Vec<String>> {
        let base = self.v2().join("repositories");
        let mut out = Vec::new();
        match std::fs::read_dir(&base) {
            Ok(entries) => {
                for e in entries.flatten() {
                    if let (Some(n), true) = (e.file_name().to_str(), e.path().is_dir())
                        && !n.starts_with('_')
                    {
                        out.push(n.to_string());
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("list", &base)(e)),
        }
        out.sort();
        Ok(out)
    }
}

fn walk_repos(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("list", dir)(e)),
    };
    for e in entries {
        let e = e.map_err(io_err("list", dir))?;
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let ft = e.file_type().map_err(io_err("stat", &e.path()))?;
        if !ft.is_dir() {
            continue;
        }
        if (name == "_manifests" || name == "_layers") && !prefix.is_empty() {
            // distribution lists repositories by `_layers`; we also count manifest-only ones
            if out.last().map(String::as_str) != Some(prefix) {
                out.push(prefix.to_string());
            }
        } else if !name.starts_with('_') && !name.starts_with('.') {
            let p = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            walk_repos(&e.path(), &p, out)?;
        }
    }
    Ok(())
}
