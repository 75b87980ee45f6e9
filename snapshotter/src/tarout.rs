//! The deterministic tar entry writer every `DiffSource` uses.
//!
//! Policy: GNU headers (long names and link targets via `././@LongLink`, by the tar crate),
//! uid/gid 0 and empty user/group names, mode = permission bits (`& 0o7777`) plus the entry
//! type, mtime = min(mtime, `source_date_epoch`) (negative mtimes become 0), no atime/ctime,
//! directory names end in `/`, hardlinks inside one layer become link entries pointing at the
//! first path (in emission order), xattrs are dropped, sockets are skipped. Whiteouts are empty
//! regular files with mode 0 and mtime 0.

use crate::error::SnapshotError;
use crate::layer::TarOptions;
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use tar::{EntryType, Header};

const COPY_BUF: usize = 1024 * 1024;

pub(crate) struct TarOut<'a> {
    builder: tar::Builder<&'a mut dyn Write>,
    clamp: u64,
    links: HashMap<(u64, u64), PathBuf>,
    entries: u64,
    buf: Vec<u8>,
}

impl<'a> TarOut<'a> {
    pub(crate) fn new(out: &'a mut dyn Write, opts: &TarOptions) -> Self {
        TarOut {
            builder: tar::Builder::new(out),
            clamp: opts.source_date_epoch,
            links: HashMap::new(),
            entries: 0,
            buf: Vec::new(),
        }
    }

    fn header(&self, kind: EntryType, mode: u32, mtime: i64) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode & 0o7777);
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(0);
        h.set_mtime(u64::try_from(mtime).unwrap_or(0).min(self.clamp));
        h
    }

    /// A directory with no host counterpart (implied parent): mode 0755, mtime 0.
    pub(crate) fn implied_dir(&mut self, rel: &Path) -> Result<(), SnapshotError> {
        let mut h = self.header(EntryType::Directory, 0o755, 0);
        let name = dir_name(rel);
        self.builder
            .append_data(&mut h, &name, io::empty())
            .map_err(SnapshotError::io("writing tar entry", rel))?;
        self.entries += 1;
        Ok(())
    }

    /// An OCI whiteout entry (`.wh.<name>` or `.wh..wh..opq`) at `rel`.
    pub(crate) fn whiteout(&mut self, rel: &Path) -> Result<(), SnapshotError> {
        let mut h = self.header(EntryType::Regular, 0, 0);
        self.builder
            .append_data(&mut h, rel, io::empty())
            .map_err(SnapshotError::io("writing tar whiteout", rel))?;
        self.entries += 1;
        Ok(())
    }

    /// The host file `host` (already `lstat`ed as `md`) as entry `rel` (no trailing slash).
    pub(crate) fn host_entry(
        &mut self,
        rel: &Path,
        host: &Path,
        md: &Metadata,
    ) -> Result<(), SnapshotError> {
        let ft = md.file_type();
        let werr = SnapshotError::io("writing tar entry for", host);
        if ft.is_dir() {
            let mut h = self.header(EntryType::Directory, md.mode(), md.mtime());
            self.builder
                .append_data(&mut h, dir_name(rel), io::empty())
                .map_err(werr)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(host).map_err(SnapshotError::io("readlink", host))?;
            let mut h = self.header(EntryType::Symlink, md.mode(), md.mtime());
            self.builder
                .append_link(&mut h, rel, &target)
                .map_err(werr)?;
        } else if ft.is_file() {
            if md.nlink() > 1 {
                let key = (md.dev(), md.ino());
                if let Some(first) = self.links.get(&key) {
                    let mut h = self.header(EntryType::Link, md.mode(), md.mtime());
                    self.builder.append_link(&mut h, rel, first).map_err(werr)?;
                    self.entries += 1;
                    return Ok(());
                }
                self.links.insert(key, rel.to_path_buf());
            }
            self.file(rel, host, md)?;
        } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
            let kind = if ft.is_char_device() {
                EntryType::Char
            } else if ft.is_block_device() {
                EntryType::Block
            } else {
                EntryType::Fifo
            };
            let mut h = self.header(kind, md.mode(), md.mtime());
            if kind != EntryType::Fifo {
                let rdev = md.rdev();
                h.set_device_major(libc::major(rdev))
                    .map_err(SnapshotError::io("setting device number of", host))?;
                h.set_device_minor(libc::minor(rdev))
                    .map_err(SnapshotError::io("setting device number of", host))?;
            }
            self.builder
                .append_data(&mut h, rel, io::empty())
                .map_err(werr)?;
        } else {
            // Sockets (and anything unknown) cannot be represented in a layer.
            return Ok(());
        }
        self.entries += 1;
        Ok(())
    }

    fn file(&mut self, rel: &Path, host: &Path, md: &Metadata) -> Result<(), SnapshotError> {
        let size = md.len();
        let mut f = File::open(host).map_err(SnapshotError::io("opening", host))?;
        let mut h = self.header(EntryType::Regular, md.mode(), md.mtime());
        h.set_size(size);
        // The header goes through the tar crate (long names); the content is streamed here in
        // large reads instead of the crate's 8 KiB copy loop.
        self.builder
            .append_data(&mut h, rel, io::empty())
            .map_err(SnapshotError::io("writing tar header for", host))?;
        if self.buf.len() < COPY_BUF {
            self.buf.resize(COPY_BUF, 0);
        }
        let out = self.builder.get_mut();
        let mut left = size;
        while left > 0 {
            let want = left.min(COPY_BUF as u64) as usize;
            let n = match f.read(&mut self.buf[..want]) {
                Ok(0) => {
                    return Err(SnapshotError::Io {
                        op: "reading (file shrank while the layer was written)",
                        path: host.to_path_buf(),
                        source: io::ErrorKind::UnexpectedEof.into(),
                    });
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SnapshotError::io("reading", host)(e)),
            };
            out.write_all(&self.buf[..n])
                .map_err(SnapshotError::stream("writing file content"))?;
            left -= n as u64;
        }
        let pad = (512 - (size % 512) as usize) % 512;
        out.write_all(&[0u8; 512][..pad])
            .map_err(SnapshotError::stream("writing padding"))?;
        Ok(())
    }

    /// Write the end-of-archive marker; returns the number of entries written.
    pub(crate) fn finish(self) -> Result<u64, SnapshotError> {
        let entries = self.entries;
        self.builder
            .into_inner()
            .map_err(SnapshotError::stream("finishing tar"))?;
        Ok(entries)
    }
}

fn dir_name(rel: &Path) -> PathBuf {
    let mut s = rel.as_os_str().to_os_string();
    if !s.as_bytes().ends_with(b"/") {
        s.push("/");
    }
    PathBuf::from(s)
}

/// The sort key of a directory child: its name, plus `/` for directories, so that a
/// depth-first walk in key order yields entries in byte order of their full tar paths.
pub(crate) fn sort_key(name: &std::ffi::OsStr, is_dir: bool) -> Vec<u8> {
    let mut k = name.as_bytes().to_vec();
    if is_dir {
        k.push(b'/');
    }
    k
}
