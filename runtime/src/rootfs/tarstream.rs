//! The tar stream of a distribution, cut into large chunks that can be shared by several hosts
//! without copying (`Bytes`). File data is read straight into the chunk being filled; headers
//! (with GNU long-name entries where needed) come from the `tar` crate.

use super::items::{Item, Source};
use bytes::Bytes;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;
use tokio::sync::mpsc::Sender;

/// Size of the chunks handed to the SSH channels.
pub(crate) const CHUNK: usize = 1 << 20;
const BLOCK: usize = 512;

/// One receiver of the stream: its channel and how many bytes it was given.
pub(crate) struct Member {
    pub tx: Sender<io::Result<Bytes>>,
    pub sent: Arc<AtomicU64>,
}

impl Member {
    fn send(&self, chunk: Bytes) -> bool {
        let n = chunk.len() as u64;
        let ok = self.tx.blocking_send(Ok(chunk)).is_ok();
        if ok {
            self.sent.fetch_add(n, Ordering::Relaxed);
        }
        ok
    }
    /// Abort this member's command with `e` (its stdin reports the error).
    pub fn fail(&self, e: &io::Error) {
        let _ = self
            .tx
            .blocking_send(Err(io::Error::new(e.kind(), e.to_string())));
    }
}

/// Send `chunk` to every member still listening; members that stopped are dropped.
/// Fails when nobody listens any more.
pub(crate) fn fan_out(members: &mut Vec<&Member>, chunk: Bytes) -> io::Result<()> {
    members.retain(|m| m.send(chunk.clone()));
    if members.is_empty() {
        Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "every host stopped reading",
        ))
    } else {
        Ok(())
    }
}

/// Builds tar bytes into chunks and hands full chunks to `emit`.
pub(crate) struct TarWriter {
    /// Only used to encode headers: its buffer is emptied after every header.
    headers: tar::Builder<Vec<u8>>,
    chunk: Vec<u8>,
    now: u64,
}

impl TarWriter {
    pub fn new() -> TarWriter {
        TarWriter {
            headers: tar::Builder::new(Vec::with_capacity(4 * BLOCK)),
            chunk: Vec::with_capacity(CHUNK),
            now: std::time::SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }

    fn emit(&mut self, emit: &mut dyn FnMut(Bytes) -> io::Result<()>) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        emit(Bytes::from(full))
    }

    fn push(
        &mut self,
        data: &[u8],
        emit: &mut dyn FnMut(Bytes) -> io::Result<()>,
    ) -> io::Result<()> {
        self.chunk.extend_from_slice(data);
        if self.chunk.len() >= CHUNK {
            self.emit(emit)?;
        }
        Ok(())
    }

    /// The header bytes `append` produced (long-name entries included).
    fn take_header(&mut self, emit: &mut dyn FnMut(Bytes) -> io::Result<()>) -> io::Result<()> {
        let bytes = std::mem::take(self.headers.get_mut());
        self.push(&bytes, emit)
    }

    fn pad(&mut self, len: u64, emit: &mut dyn FnMut(Bytes) -> io::Result<()>) -> io::Result<()> {
        let rem = (len % BLOCK as u64) as usize;
        if rem == 0 {
            return Ok(());
        }
        self.push(&[0u8; BLOCK][..BLOCK - rem], emit)
    }

    /// Append one entry; disk files are read from `root/path`.
    pub fn append(
        &mut self,
        root: &Path,
        path: &str,
        item: &Item,
        emit: &mut dyn FnMut(Bytes) -> io::Result<()>,
    ) -> io::Result<()> {
        let src = root.join(path);
        let mtime_of = |m: &std::fs::Metadata, now: u64| {
            m.modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
                .unwrap_or(now)
        };
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(0);
        match item {
            Item::Dir { mode } => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                let m = std::fs::symlink_metadata(&src).ok();
                h.set_mtime(m.map(|m| mtime_of(&m, self.now)).unwrap_or(self.now));
                self.headers.append_data(&mut h, path, io::empty())?;
                self.take_header(emit)
            }
            Item::Link { target } => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                let m = std::fs::symlink_metadata(&src).ok();
                h.set_mtime(m.map(|m| mtime_of(&m, self.now)).unwrap_or(self.now));
                self.headers.append_link(&mut h, path, target)?;
                self.take_header(emit)
            }
            Item::File {
                mode,
                source: Source::Memory(bytes),
                ..
            } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_mtime(self.now);
                h.set_size(bytes.len() as u64);
                self.headers.append_data(&mut h, path, io::empty())?;
                self.take_header(emit)?;
                self.push(bytes, emit)?;
                self.pad(bytes.len() as u64, emit)
            }
            Item::File {
                mode,
                source: Source::Disk,
                ..
            } => {
                let named =
                    |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", src.display()));
                let mut f = std::fs::File::open(&src).map_err(named)?;
                let meta = f.metadata().map_err(named)?;
                let len = meta.len();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_mtime(mtime_of(&meta, self.now));
                h.set_size(len);
                self.headers.append_data(&mut h, path, io::empty())?;
                self.take_header(emit)?;
                let mut left = len;
                while left > 0 {
                    if self.chunk.len() >= CHUNK {
                        self.emit(emit)?;
                    }
                    let room = (CHUNK - self.chunk.len()) as u64;
                    // Reads straight into the chunk's spare capacity (no zeroing, no copy).
                    let n = (&mut f)
                        .take(room.min(left))
                        .read_to_end(&mut self.chunk)
                        .map_err(named)?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("{} shrank while it was being sent", src.display()),
                        ));
                    }
                    left -= n as u64;
                }
                self.pad(len, emit)
            }
        }
    }

    /// Emit what is buffered (the stream goes on elsewhere).
    pub fn flush(&mut self, emit: &mut dyn FnMut(Bytes) -> io::Result<()>) -> io::Result<()> {
        self.emit(emit)
    }

    /// End the archive (two zero blocks) and emit the rest.
    pub fn finish(mut self, emit: &mut dyn FnMut(Bytes) -> io::Result<()>) -> io::Result<()> {
        self.push(&[0u8; 2 * BLOCK], emit)?;
        self.emit(emit)
    }
}
