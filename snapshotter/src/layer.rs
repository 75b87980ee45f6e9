//! Turning a `DiffSource` into a layer blob: tar → sha256 (diffID) → compressor → sink.
//!
//! The tar is produced on the calling thread into 1 MiB chunks that travel through a bounded
//! channel to a consumer thread, which hashes them and feeds the compressor (whose own workers
//! compress in parallel). Buffers are recycled; memory stays bounded whatever the layer size.

use crate::compression::Compression;
use crate::error::SnapshotError;
use crate::pargz::ParGzWriter;
use crate::zstdw::ZstdWriter;
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

const CHUNK: usize = 1024 * 1024;
const QUEUE: usize = 4;

/// How entries are normalised when a tar stream is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TarOptions {
    /// mtimes are clamped to `min(mtime, source_date_epoch)`. 0 (the default, "unset") gives
    /// every entry mtime 0, i.e. fully reproducible layers; `u64::MAX` keeps host mtimes.
    pub source_date_epoch: u64,
}

/// What `write_layer` learned about the uncompressed stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerStats {
    /// `sha256:<hex>` of the uncompressed tar.
    pub diff_id: String,
    pub uncompressed_size: u64,
    pub entries: u64,
}

/// Something that yields the entries of a layer, in sorted path order, as a deterministic tar
/// stream.
pub trait DiffSource {
    /// Write the whole tar (including the end-of-archive marker); returns the entry count.
    fn write_tar(&self, out: &mut dyn Write, opts: &TarOptions) -> Result<u64, SnapshotError>;
}

/// Most compression threads `write_layer` uses: each zstdmt worker holds ~40 MiB of job buffers.
pub const MAX_DEFAULT_THREADS: usize = 8;

/// Write `diff` as a compressed layer into `sink` using every available core (at most
/// [`MAX_DEFAULT_THREADS`]). The bytes written do not depend on the core count.
pub fn write_layer<W: Write + Send>(
    diff: &dyn DiffSource,
    compression: Compression,
    opts: &TarOptions,
    sink: W,
) -> Result<(LayerStats, W), SnapshotError> {
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = NonZeroUsize::new(cores.min(MAX_DEFAULT_THREADS)).unwrap_or(NonZeroUsize::MIN);
    write_layer_threads(diff, compression, opts, sink, threads)
}

/// `write_layer` with an explicit number of compression threads. The output bytes are the same
/// for any `threads`.
pub fn write_layer_threads<W: Write + Send>(
    diff: &dyn DiffSource,
    compression: Compression,
    opts: &TarOptions,
    sink: W,
    threads: NonZeroUsize,
) -> Result<(LayerStats, W), SnapshotError> {
    let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(QUEUE + 2);
    let aborted = Arc::new(AtomicBool::new(false));
    std::thread::scope(|s| {
        let abort_flag = Arc::clone(&aborted);
        let consumer =
            s.spawn(move || consume(rx, free_tx, compression, sink, threads.get(), &abort_flag));
        let mut chunks = ChunkWriter {
            buf: Vec::with_capacity(CHUNK),
            tx: Some(tx),
            free: free_rx,
            bytes: 0,
        };
        let produced = diff
            .write_tar(&mut chunks, opts)
            .and_then(|n| chunks.send_last().map(|()| n));
        if produced.is_err() {
            aborted.store(true, Ordering::SeqCst);
        }
        let bytes = chunks.bytes;
        drop(chunks);
        let consumed = consumer
            .join()
            .map_err(|_| SnapshotError::Pipeline("the hashing/compression thread panicked"))?;
        match (produced, consumed) {
            (Ok(entries), Ok(Some((diff_id, sink)))) => Ok((
                LayerStats {
                    diff_id,
                    uncompressed_size: bytes,
                    entries,
                },
                sink,
            )),
            // A failing sink closes the channel, so the tar side then fails too: report the
            // sink's error, which is the cause.
            (_, Err(e)) => Err(e),
            (Err(e), Ok(_)) => Err(e),
            (Ok(_), Ok(None)) => Err(SnapshotError::Pipeline("the layer stream was cut short")),
        }
    })
}

/// Fills fixed-size chunks and sends them down the channel.
struct ChunkWriter {
    buf: Vec<u8>,
    tx: Option<SyncSender<Vec<u8>>>,
    free: Receiver<Vec<u8>>,
    bytes: u64,
}

impl ChunkWriter {
    fn send_full(&mut self) -> io::Result<()> {
        let next = match self.free.try_recv() {
            Ok(b) => b,
            Err(_) => Vec::with_capacity(CHUNK),
        };
        let full = std::mem::replace(&mut self.buf, next);
        self.tx
            .as_ref()
            .ok_or_else(|| io::Error::from(io::ErrorKind::BrokenPipe))?
            .send(full)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "layer consumer stopped"))
    }

    fn send_last(&mut self) -> Result<(), SnapshotError> {
        if !self.buf.is_empty() {
            self.send_full()
                .map_err(SnapshotError::stream("sending the last chunk"))?;
        }
        self.tx = None;
        Ok(())
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.bytes += n as u64;
        if self.buf.len() == CHUNK {
            self.send_full()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Compressor<W: Write> {
    Zstd(ZstdWriter<W>),
    Gzip(ParGzWriter<W>),
    Plain(W),
}

impl<W: Write> Compressor<W> {
    fn new(c: Compression, sink: W, threads: usize) -> io::Result<Self> {
        Ok(match c {
            // Always zstdmt (>= 1 worker): its output differs from single-threaded zstd but
            // is the same for any worker count.
            Compression::Zstd { level } => {
                Compressor::Zstd(ZstdWriter::new(sink, level, threads.max(1) as u32)?)
            }
            Compression::Gzip { level } => {
                Compressor::Gzip(ParGzWriter::new(sink, level, threads)?)
            }
            Compression::None => Compressor::Plain(sink),
        })
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Compressor::Zstd(e) => e.write_all(data),
            Compressor::Gzip(g) => g.write_all(data),
            Compressor::Plain(w) => w.write_all(data),
        }
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Compressor::Zstd(e) => e.finish(),
            Compressor::Gzip(g) => g.finish(),
            Compressor::Plain(mut w) => {
                w.flush()?;
                Ok(w)
            }
        }
    }
}

fn consume<W: Write>(
    rx: Receiver<Vec<u8>>,
    free: SyncSender<Vec<u8>>,
    compression: Compression,
    sink: W,
    threads: usize,
    aborted: &AtomicBool,
) -> Result<Option<(String, W)>, SnapshotError> {
    let mut hasher = Sha256::new();
    let mut enc = Compressor::new(compression, sink, threads)
        .map_err(SnapshotError::stream("starting the compressor"))?;
    for mut chunk in rx {
        hasher.update(&chunk);
        enc.write_all(&chunk)
            .map_err(SnapshotError::stream("compressing into the sink"))?;
        chunk.clear();
        match free.try_send(chunk) {
            Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
        }
    }
    if aborted.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let sink = enc
        .finish()
        .map_err(SnapshotError::stream("finishing the compressed stream"))?;
    Ok(Some((
        format!("sha256:{}", hex::encode(hasher.finalize())),
        sink,
    )))
}
