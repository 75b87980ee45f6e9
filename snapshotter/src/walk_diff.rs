//! The copy-fallback differ: compare a tree against a `Manifest` taken before a step.

use crate::error::SnapshotError;
use crate::layer::{DiffSource, TarOptions};
use crate::manifest::{EntryMeta, Manifest};
use crate::tarout::{TarOut, sort_key};
use crate::upper_diff::WHITEOUT_PREFIX;
use std::collections::HashSet;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Emits added and changed entries, the parent directories of every emitted entry (so that
/// their metadata survives in overlay-style stacking), and a `.wh.<name>` whiteout for each
/// deleted path (a deleted directory gets a single whiteout, not one per child).
#[derive(Debug, Clone)]
pub struct WalkDiff<'a> {
    before: &'a Manifest,
    root: PathBuf,
}

enum Out {
    Host(PathBuf),
    Whiteout(PathBuf),
}

enum Node {
    After {
        name: OsString,
        is_dir: bool,
        changed: bool,
    },
    Gone {
        name: OsString,
    },
}

impl<'a> WalkDiff<'a> {
    pub fn new(before: &'a Manifest, after_root: &Path) -> Self {
        WalkDiff {
            before,
            root: after_root.to_path_buf(),
        }
    }

    /// Append the changes below `rel` (sorted) to `out`.
    fn collect(&self, rel: &Path, out: &mut Vec<Out>) -> Result<(), SnapshotError> {
        let host = self.root.join(rel);
        let mut nodes: Vec<(Vec<u8>, Node)> = Vec::new();
        let mut present = HashSet::new();
        for child in std::fs::read_dir(&host).map_err(SnapshotError::io("listing", &host))? {
            let child = child.map_err(SnapshotError::io("listing", &host))?;
            let name = child.file_name();
            let path = child.path();
            let md = std::fs::symlink_metadata(&path)
                .map_err(SnapshotError::io("reading metadata of", &path))?;
            let now = EntryMeta::from_metadata(&path, &md)?;
            let changed = self.before.child(rel, &name) != Some(&now);
            present.insert(name.clone());
            nodes.push((
                sort_key(&name, md.is_dir()),
                Node::After {
                    name,
                    is_dir: md.is_dir(),
                    changed,
                },
            ));
        }
        for (name, _) in self.before.children(rel) {
            if !present.contains(name) {
                let mut wh = OsString::from(WHITEOUT_PREFIX);
                wh.push(name);
                nodes.push((sort_key(&wh, false), Node::Gone { name: wh }));
            }
        }
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, node) in nodes {
            match node {
                Node::After {
                    name,
                    is_dir: true,
                    changed,
                } => {
                    let child = rel.join(&name);
                    let mark = out.len();
                    out.push(Out::Host(child.clone()));
                    self.collect(&child, out)?;
                    if !changed && out.len() == mark + 1 {
                        out.truncate(mark);
                    }
                }
                Node::After {
                    name,
                    is_dir: false,
                    changed: true,
                } => out.push(Out::Host(rel.join(name))),
                Node::After { .. } => {}
                Node::Gone { name } => out.push(Out::Whiteout(rel.join(name))),
            }
        }
        Ok(())
    }
}

impl DiffSource for WalkDiff<'_> {
    fn write_tar(&self, out: &mut dyn Write, opts: &TarOptions) -> Result<u64, SnapshotError> {
        let mut changes = Vec::new();
        self.collect(Path::new(""), &mut changes)?;
        let mut tar = TarOut::new(out, opts);
        for change in changes {
            match change {
                Out::Host(rel) => {
                    let host = self.root.join(&rel);
                    let md = std::fs::symlink_metadata(&host)
                        .map_err(SnapshotError::io("reading metadata of", &host))?;
                    tar.host_entry(&rel, &host, &md)?;
                }
                Out::Whiteout(rel) => tar.whiteout(&rel)?,
            }
        }
        tar.finish()
    }
}
