//! overlayfs upper directory → layer.

use crate::error::SnapshotError;
use crate::layer::{DiffSource, TarOptions};
use crate::sys;
use crate::tarout::{TarOut, sort_key};
use std::ffi::OsString;
use std::fs::Metadata;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The xattrs overlayfs uses to mark a directory opaque (privileged and `userxattr` mounts).
pub(crate) const OPAQUE_XATTRS: [&str; 2] = ["trusted.overlay.opaque", "user.overlay.opaque"];
pub(crate) const WHITEOUT_PREFIX: &str = ".wh.";
pub(crate) const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// The changes recorded in an overlayfs upper directory: 0/0 character devices become
/// `.wh.<name>` whiteouts, directories marked opaque get a `.wh..wh..opq` entry (in sorted
/// position) followed by their contents. Everything else is emitted as is.
#[derive(Debug, Clone)]
pub struct UpperDirDiff {
    upper: PathBuf,
}

enum Node {
    Host { name: OsString, md: Metadata },
    Whiteout { name: OsString },
    Opaque,
}

impl UpperDirDiff {
    pub fn new(upper: impl Into<PathBuf>) -> Self {
        UpperDirDiff {
            upper: upper.into(),
        }
    }

    fn walk(&self, tar: &mut TarOut<'_>, rel: &Path, host: &Path) -> Result<(), SnapshotError> {
        let mut nodes: Vec<(Vec<u8>, Node)> = Vec::new();
        for child in std::fs::read_dir(host).map_err(SnapshotError::io("listing", host))? {
            let child = child.map_err(SnapshotError::io("listing", host))?;
            let name = child.file_name();
            let path = child.path();
            let md = std::fs::symlink_metadata(&path)
                .map_err(SnapshotError::io("reading metadata of", &path))?;
            if md.file_type().is_char_device() && md.rdev() == 0 {
                let mut wh = OsString::from(WHITEOUT_PREFIX);
                wh.push(&name);
                nodes.push((sort_key(&wh, false), Node::Whiteout { name: wh }));
            } else {
                nodes.push((sort_key(&name, md.is_dir()), Node::Host { name, md }));
            }
        }
        if !rel.as_os_str().is_empty() && is_opaque(host)? {
            nodes.push((OPAQUE_MARKER.as_bytes().to_vec(), Node::Opaque));
        }
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, node) in nodes {
            match node {
                Node::Host { name, md } => {
                    let child_rel = rel.join(&name);
                    let child_host = host.join(&name);
                    tar.host_entry(&child_rel, &child_host, &md)?;
                    if md.is_dir() {
                        self.walk(tar, &child_rel, &child_host)?;
                    }
                }
                Node::Whiteout { name } => tar.whiteout(&rel.join(name))?,
                Node::Opaque => tar.whiteout(&rel.join(OPAQUE_MARKER))?,
            }
        }
        Ok(())
    }
}

pub(crate) fn is_opaque(dir: &Path) -> Result<bool, SnapshotError> {
    for name in OPAQUE_XATTRS {
        let v = sys::lgetxattr(dir, name).map_err(SnapshotError::io("reading xattrs of", dir))?;
        if v.as_deref() == Some(b"y") {
            return Ok(true);
        }
    }
    Ok(false)
}

impl DiffSource for UpperDirDiff {
    fn write_tar(&self, out: &mut dyn Write, opts: &TarOptions) -> Result<u64, SnapshotError> {
        let mut tar = TarOut::new(out, opts);
        self.walk(&mut tar, Path::new(""), &self.upper)?;
        tar.finish()
    }
}
