//! Extracting a layer blob onto a directory, safely.
//!
//! `Plain` applies OCI whiteouts by deletion (a flattened rootfs). `Overlay` writes the layer
//! in overlayfs form for use as a lower dir: `.wh.<name>` → 0/0 character device,
//! `.wh..wh..opq` → `trusted.overlay.opaque=y` on the directory.
//!
//! Safety: entries with `..` are rejected; parents are resolved inside the root (symlinks are
//! followed as in a chroot, an escape is rejected); the entry itself is replaced, never written
//! through; hardlink targets must resolve inside the root. Ownership and device nodes are
//! applied only when running as root (unprivileged: skipped, directories keep u+rwx).
//! `SCHILY.xattr.*` records are applied best-effort, except `*.overlay.*` ones.

mod resolve;
mod whiteout;

pub(crate) use resolve::make_writable;

use crate::compression::decoder;
use crate::error::SnapshotError;
use crate::sys;
use crate::upper_diff::{OPAQUE_MARKER, WHITEOUT_PREFIX};
use resolve::{Resolver, remove_any, split_entry_path};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{OpenOptions, Permissions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tar::EntryType;

/// How whiteouts are materialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// Delete whited-out paths: the result is the merged tree.
    Plain,
    /// Keep whiteouts as overlayfs markers: the result is one overlay lower dir.
    Overlay,
}

/// Decompress `blob` by `media_type` and extract it onto `dest` (which must exist).
pub fn apply_layer(
    blob: impl Read,
    media_type: &str,
    dest: &Path,
    mode: ApplyMode,
) -> Result<(), SnapshotError> {
    apply_layer_digest(blob, media_type, dest, mode).map(|_| ())
}

/// `apply_layer`, returning the diffID (`sha256:` of the whole uncompressed stream).
pub fn apply_layer_digest(
    blob: impl Read,
    media_type: &str,
    dest: &Path,
    mode: ApplyMode,
) -> Result<String, SnapshotError> {
    // Buffered after decoding too, so plain tars are not read 512 bytes per syscall.
    let mut hashing = HashingReader {
        inner: BufReader::with_capacity(256 * 1024, decoder(blob, media_type)?),
        hasher: Sha256::new(),
    };
    {
        let mut archive = tar::Archive::new(&mut hashing);
        let mut applier = Applier::new(dest, mode);
        let entries = archive
            .entries()
            .map_err(SnapshotError::stream("reading the layer tar"))?;
        for entry in entries {
            let entry = entry.map_err(SnapshotError::stream("reading a layer tar entry"))?;
            applier.entry(entry)?;
        }
        applier.finish();
    }
    io::copy(&mut hashing, &mut io::sink())
        .map_err(SnapshotError::stream("reading the end of the layer"))?;
    Ok(format!("sha256:{}", hex::encode(hashing.hasher.finalize())))
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

struct DirMeta {
    path: PathBuf,
    mode: u32,
    mtime: u64,
}

struct Applier {
    mode: ApplyMode,
    root: bool,
    resolver: Resolver,
    /// Host paths this layer wrote (an opaque marker keeps these).
    created: HashSet<PathBuf>,
    dirs: Vec<DirMeta>,
    buf: Vec<u8>,
}

impl Applier {
    fn new(dest: &Path, mode: ApplyMode) -> Self {
        Applier {
            mode,
            root: sys::is_root(),
            resolver: Resolver::new(dest),
            created: HashSet::new(),
            dirs: Vec::new(),
            buf: vec![0; 1024 * 1024],
        }
    }

    fn parent_dir(
        &mut self,
        raw: &[u8],
        parents: &[&OsStr],
        create: bool,
    ) -> Result<Option<PathBuf>, SnapshotError> {
        let created = &mut self.created;
        self.resolver.dir(raw, parents, create, &mut |p: &Path| {
            created.insert(p.to_path_buf());
        })
    }

    fn remove(&mut self, path: &Path) -> Result<(), SnapshotError> {
        if remove_any(path)? {
            self.resolver.invalidate();
        }
        Ok(())
    }

    fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), SnapshotError> {
        let raw = entry.path_bytes().into_owned();
        let comps = split_entry_path(&raw)?;
        let Some((name, parents)) = comps.split_last() else {
            return Ok(()); // the root itself ("./")
        };
        let name_b = name.as_bytes();
        if name_b == OPAQUE_MARKER.as_bytes() {
            return self.opaque(&raw, parents);
        }
        if name_b.starts_with(b".wh..wh.") {
            return Ok(()); // aufs metadata (.wh..wh.plnk etc.)
        }
        if let Some(gone) = name_b.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
            if gone.is_empty() || gone == b"." || gone == b".." {
                return Err(SnapshotError::UnsafeEntry {
                    entry: String::from_utf8_lossy(&raw).into_owned(),
                    reason: "whiteout of an invalid name",
                });
            }
            return self.whiteout(&raw, parents, OsStr::from_bytes(gone));
        }
        let kind = entry.header().entry_type();
        let supported = matches!(
            kind,
            EntryType::Directory
                | EntryType::Regular
                | EntryType::Continuous
                | EntryType::GNUSparse
                | EntryType::Symlink
                | EntryType::Link
                | EntryType::Fifo
        ) || (self.root && matches!(kind, EntryType::Char | EntryType::Block));
        if !supported {
            // Global PAX headers, volume labels, and device nodes when unprivileged.
            return Ok(());
        }
        let Some(dir) = self.parent_dir(&raw, parents, true)? else {
            return Ok(());
        };
        let target = dir.join(name);
        let xattrs = pax_xattrs(&mut entry)?;
        let header = entry.header();
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let uid = header.uid().unwrap_or(0) as u32;
        let gid = header.gid().unwrap_or(0) as u32;
        let mtime = header.mtime().unwrap_or(0);
        let existing = std::fs::symlink_metadata(&target).ok();
        if kind == EntryType::Directory {
            if !existing.as_ref().is_some_and(|m| m.is_dir()) {
                if existing.is_some() {
                    self.remove(&target)?;
                }
                std::fs::create_dir(&target).map_err(SnapshotError::io("creating", &target))?;
            }
            self.chown(&target, uid, gid)?;
            self.dirs.push(DirMeta {
                path: target.clone(),
                mode,
                mtime,
            });
        } else {
            if existing.is_some() {
                self.remove(&target)?;
            }
            match kind {
                EntryType::Symlink => {
                    let link = entry.link_name_bytes().unwrap_or_default().into_owned();
                    std::os::unix::fs::symlink(OsStr::from_bytes(&link), &target)
                        .map_err(SnapshotError::io("creating symlink", &target))?;
                    self.chown(&target, uid, gid)?;
                    set_mtime(&target, mtime)?;
                }
                EntryType::Link => self.hardlink(&raw, &mut entry, &target)?,
                EntryType::Fifo => {
                    sys::mkfifo(&target, mode).map_err(SnapshotError::io("mkfifo", &target))?;
                    self.finish_node(&target, uid, gid, mode, mtime)?;
                }
                EntryType::Char | EntryType::Block => {
                    let major = header.device_major().ok().flatten().unwrap_or(0);
                    let minor = header.device_minor().ok().flatten().unwrap_or(0);
                    let fmt = if kind == EntryType::Char {
                        libc::S_IFCHR
                    } else {
                        libc::S_IFBLK
                    };
                    sys::mknod(&target, fmt | mode, major, minor)
                        .map_err(SnapshotError::io("mknod", &target))?;
                    self.finish_node(&target, uid, gid, mode, mtime)?;
                }
                _ => self.file(&mut entry, &target, uid, gid, mode, mtime)?,
            }
        }
        for (name, value) in xattrs {
            let _ = sys::lsetxattr(&target, &name, &value);
        }
        self.created.insert(target);
        Ok(())
    }

    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        target: &Path,
        uid: u32,
        gid: u32,
        mode: u32,
        mtime: u64,
    ) -> Result<(), SnapshotError> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(target)
            .map_err(SnapshotError::io("creating", target))?;
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SnapshotError::stream("reading layer content")(e)),
            };
            f.write_all(&self.buf[..n])
                .map_err(SnapshotError::io("writing", target))?;
        }
        if self.root {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))
                .map_err(SnapshotError::io("chown", target))?;
        }
        f.set_permissions(Permissions::from_mode(mode))
            .map_err(SnapshotError::io("chmod", target))?;
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(mtime))
            .map_err(SnapshotError::io("setting mtime of", target))?;
        Ok(())
    }

    fn hardlink<R: Read>(
        &mut self,
        raw: &[u8],
        entry: &mut tar::Entry<'_, R>,
        target: &Path,
    ) -> Result<(), SnapshotError> {
        let link = entry.link_name_bytes().unwrap_or_default().into_owned();
        let comps = split_entry_path(&link)?;
        let unsafe_link = || SnapshotError::UnsafeEntry {
            entry: String::from_utf8_lossy(raw).into_owned(),
            reason: "hardlink to a path outside the layer root",
        };
        let (name, parents) = comps.split_last().ok_or_else(unsafe_link)?;
        let dir = self
            .parent_dir(raw, parents, false)?
            .ok_or_else(unsafe_link)?;
        let source = dir.join(name);
        std::fs::hard_link(&source, target).map_err(SnapshotError::io("hardlinking to", &source))
    }

    fn finish_node(
        &self,
        target: &Path,
        uid: u32,
        gid: u32,
        mode: u32,
        mtime: u64,
    ) -> Result<(), SnapshotError> {
        self.chown(target, uid, gid)?;
        std::fs::set_permissions(target, Permissions::from_mode(mode))
            .map_err(SnapshotError::io("chmod", target))?;
        set_mtime(target, mtime)
    }

    fn chown(&self, target: &Path, uid: u32, gid: u32) -> Result<(), SnapshotError> {
        if self.root {
            std::os::unix::fs::lchown(target, Some(uid), Some(gid))
                .map_err(SnapshotError::io("chown", target))?;
        }
        Ok(())
    }

    /// Directory modes and mtimes last (children change a directory's mtime).
    fn finish(self) {
        for d in self.dirs.iter().rev() {
            let mode = if self.root { d.mode } else { d.mode | 0o700 };
            let _ = std::fs::set_permissions(&d.path, Permissions::from_mode(mode));
            let _ = set_mtime(&d.path, d.mtime);
        }
    }
}

fn set_mtime(path: &Path, mtime: u64) -> Result<(), SnapshotError> {
    let t = filetime::FileTime::from_unix_time(i64::try_from(mtime).unwrap_or(i64::MAX), 0);
    filetime::set_symlink_file_times(path, t, t)
        .map_err(SnapshotError::io("setting mtime of", path))
}

fn pax_xattrs<R: Read>(
    entry: &mut tar::Entry<'_, R>,
) -> Result<Vec<(String, Vec<u8>)>, SnapshotError> {
    let mut out = Vec::new();
    let Some(exts) = entry
        .pax_extensions()
        .map_err(SnapshotError::stream("reading PAX records"))?
    else {
        return Ok(out);
    };
    for ext in exts {
        let ext = ext.map_err(SnapshotError::stream("reading PAX records"))?;
        let Ok(key) = ext.key() else { continue };
        if let Some(name) = key.strip_prefix("SCHILY.xattr.")
            && !name.contains(".overlay.")
        {
            out.push((name.to_string(), ext.value_bytes().to_vec()));
        }
    }
    Ok(out)
}
