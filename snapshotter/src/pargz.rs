//! pigz-style parallel gzip whose output does not depend on the number of threads.
//!
//! The input is cut into fixed 128 KiB blocks. Each block is deflated on its own (raw deflate,
//! primed with the last 32 KiB of the previous block as dictionary, ended with a sync flush;
//! the last block ends the stream), so a block's bytes depend only on the input. The CRC-32 of
//! the blocks is combined in order. One member, fixed header (mtime 0, OS 255).

use flate2::{Compress, Crc, FlushCompress, Status};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

const BLOCK: usize = 128 * 1024;
const DICT: usize = 32 * 1024;

struct Job {
    seq: u64,
    data: Arc<Vec<u8>>,
    dict: Option<Arc<Vec<u8>>>,
    last: bool,
}

struct BlockOut {
    bytes: Vec<u8>,
    crc: Crc,
}

type Done = (u64, io::Result<BlockOut>);

struct Pool {
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
}

pub(crate) struct ParGzWriter<W: Write> {
    inner: W,
    level: u32,
    buf: Vec<u8>,
    prev: Option<Arc<Vec<u8>>>,
    pool: Option<Pool>,
    submitted: u64,
    written: u64,
    pending: BTreeMap<u64, BlockOut>,
    crc: Crc,
    max_in_flight: u64,
}

impl<W: Write> ParGzWriter<W> {
    /// `threads` compressing threads (1 = compress inline); the output is the same for any value.
    pub(crate) fn new(mut inner: W, level: u32, threads: usize) -> io::Result<Self> {
        let level = level.min(9);
        let xfl = match level {
            9 => 2,
            1 => 4,
            _ => 0,
        };
        inner.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255])?;
        let threads = threads.max(1);
        let pool = (threads > 1).then(|| Pool::start(threads, level));
        Ok(ParGzWriter {
            inner,
            level,
            buf: Vec::with_capacity(BLOCK),
            prev: None,
            pool,
            submitted: 0,
            written: 0,
            pending: BTreeMap::new(),
            crc: Crc::new(),
            max_in_flight: 2 * threads as u64 + 1,
        })
    }

    fn submit(&mut self, last: bool) -> io::Result<()> {
        let data = Arc::new(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(if last { 0 } else { BLOCK }),
        ));
        let job = Job {
            seq: self.submitted,
            data: Arc::clone(&data),
            dict: self.prev.replace(data),
            last,
        };
        self.submitted += 1;
        match &self.pool {
            None => {
                let out = compress_block(&job, self.level)?;
                self.emit(out)?;
            }
            Some(pool) => {
                pool.jobs
                    .as_ref()
                    .ok_or_else(|| io::Error::other("gzip pool already stopped"))?
                    .send(job)
                    .map_err(|_| io::Error::other("gzip worker exited"))?;
                while self.submitted - self.written >= self.max_in_flight {
                    self.wait_one()?;
                }
            }
        }
        Ok(())
    }

    fn wait_one(&mut self) -> io::Result<()> {
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| io::Error::other("gzip pool missing"))?;
        let (seq, out) = pool
            .done
            .recv()
            .map_err(|_| io::Error::other("gzip worker exited"))?;
        self.pending.insert(seq, out?);
        while let Some(out) = self.pending.remove(&self.written) {
            self.emit(out)?;
        }
        Ok(())
    }

    fn emit(&mut self, out: BlockOut) -> io::Result<()> {
        self.inner.write_all(&out.bytes)?;
        self.crc.combine(&out.crc);
        self.written += 1;
        Ok(())
    }

    /// Write the last block and the trailer; returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.submit(true)?;
        while self.written < self.submitted {
            self.wait_one()?;
        }
        if let Some(mut pool) = self.pool.take() {
            pool.stop();
        }
        let mut trailer = [0u8; 8];
        trailer[..4].copy_from_slice(&self.crc.sum().to_le_bytes());
        trailer[4..].copy_from_slice(&self.crc.amount().to_le_bytes());
        self.inner.write_all(&trailer)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ParGzWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(BLOCK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == BLOCK {
            self.submit(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Flushing mid-stream would change block boundaries; blocks are emitted as they fill.
        Ok(())
    }
}

impl Pool {
    fn start(threads: usize, level: u32) -> Pool {
        let (jobs_tx, jobs_rx) = sync_channel::<Job>(threads);
        let (done_tx, done_rx) = sync_channel::<Done>(2 * threads + 2);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let workers = (0..threads)
            .map(|_| {
                let jobs = Arc::clone(&jobs_rx);
                let done = done_tx.clone();
                std::thread::spawn(move || {
                    loop {
                        let job = match jobs.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        if done.send((job.seq, compress_block(&job, level))).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        Pool {
            jobs: Some(jobs_tx),
            done: done_rx,
            workers,
        }
    }

    fn stop(&mut self) {
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs = None;
        // Unblock workers stuck sending results, then wait for them.
        while self.done.try_recv().is_ok() {}
        for w in self.workers.drain(..) {
            while !w.is_finished() {
                while self.done.try_recv().is_ok() {}
                std::thread::yield_now();
            }
            let _ = w.join();
        }
    }
}

fn compress_block(job: &Job, level: u32) -> io::Result<BlockOut> {
    let mut c = Compress::new(flate2::Compression::new(level), false);
    if let Some(dict) = &job.dict {
        c.set_dictionary(&dict[dict.len().saturating_sub(DICT)..])
            .map_err(io::Error::other)?;
    }
    let data = &job.data[..];
    let flush = if job.last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() + data.len() / 8 + 256);
    let mut input = data;
    loop {
        if out.len() == out.capacity() {
            out.reserve(64 * 1024);
        }
        let before = c.total_in();
        let status = c
            .compress_vec(input, &mut out, flush)
            .map_err(io::Error::other)?;
        input = &input[(c.total_in() - before) as usize..];
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                if !job.last && input.is_empty() && out.len() < out.capacity() {
                    break;
                }
            }
        }
    }
    let mut crc = Crc::new();
    crc.update(data);
    Ok(BlockOut { bytes: out, crc })
}

#[cfg(test)]
#[path = "tests/pargz.rs"]
mod tests;
