//! A bounded hand-off between two threads, so volume IO and hashing run beside the tar and
//! zstd work instead of after it: [`ChunkReader`] reads what a pump thread produces,
//! [`ChunkWriter`] feeds a writer thread. At most `DEPTH` chunks of `CHUNK` bytes are in
//! flight, so memory stays bounded.

use std::io::{Read, Write};
use std::sync::mpsc::{Receiver, RecvError, SyncSender, sync_channel};

/// Bytes per chunk.
pub(crate) const CHUNK: usize = 1 << 20;
/// Chunks in flight.
const DEPTH: usize = 4;

pub(crate) enum Msg {
    Data(Vec<u8>),
    End,
    Fail(std::io::Error),
}

/// The producing end; spent chunk buffers come back through `spare`, so a long stream
/// reuses a handful of buffers instead of faulting in fresh pages for every chunk.
pub(crate) struct Tx {
    data: SyncSender<Msg>,
    spare: Receiver<Vec<u8>>,
}

/// The consuming end.
pub(crate) struct Rx {
    data: Receiver<Msg>,
    spare: SyncSender<Vec<u8>>,
}

pub(crate) fn channel() -> (Tx, Rx) {
    let (data_tx, data_rx) = sync_channel(DEPTH);
    let (spare_tx, spare_rx) = sync_channel(DEPTH + 2);
    (
        Tx {
            data: data_tx,
            spare: spare_rx,
        },
        Rx {
            data: data_rx,
            spare: spare_tx,
        },
    )
}

impl Tx {
    fn buffer(&self) -> Vec<u8> {
        self.spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK))
    }

    fn send(&self, msg: Msg) -> Result<(), ()> {
        self.data.send(msg).map_err(|_| ())
    }
}

impl Rx {
    fn recv(&self) -> Result<Msg, RecvError> {
        self.data.recv()
    }

    fn give_back(&self, mut buf: Vec<u8>) {
        if buf.capacity() >= CHUNK {
            buf.clear();
            let _ = self.spare.try_send(buf);
        }
    }
}

/// Read `input` to its end in chunks and send them; stops early when the receiver is gone.
pub(crate) fn pump(mut input: impl Read, tx: Tx) {
    loop {
        let mut buf = tx.buffer();
        buf.resize(CHUNK, 0);
        let mut filled = 0;
        let failure = loop {
            if filled == buf.len() {
                break None;
            }
            match input.read(&mut buf[filled..]) {
                Ok(0) => break None,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        if filled > 0 {
            buf.truncate(filled);
            if tx.send(Msg::Data(buf)).is_err() {
                return;
            }
        }
        if let Some(e) = failure {
            let _ = tx.send(Msg::Fail(e));
            return;
        }
        if filled < CHUNK {
            let _ = tx.send(Msg::End);
            return;
        }
    }
}

fn stopped() -> std::io::Error {
    std::io::Error::other("the volume thread stopped unexpectedly")
}

/// The receiving end of [`pump`] as a `Read`. An error is sticky: it never turns into EOF.
pub(crate) struct ChunkReader {
    rx: Rx,
    chunk: Vec<u8>,
    pos: usize,
    state: State,
}

enum State {
    Open,
    Ended,
    Failed(std::io::ErrorKind, String),
}

impl ChunkReader {
    pub(crate) fn new(rx: Rx) -> ChunkReader {
        ChunkReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
            state: State::Open,
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.chunk.len() {
            match &self.state {
                State::Ended => return Ok(0),
                State::Failed(kind, text) => return Err(std::io::Error::new(*kind, text.clone())),
                State::Open => {}
            }
            match self.rx.recv() {
                Ok(Msg::Data(chunk)) => {
                    self.rx.give_back(std::mem::replace(&mut self.chunk, chunk));
                    self.pos = 0;
                }
                Ok(Msg::End) => self.state = State::Ended,
                Ok(Msg::Fail(e)) => self.state = State::Failed(e.kind(), e.to_string()),
                Err(_) => {
                    let e = stopped();
                    self.state = State::Failed(e.kind(), e.to_string());
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Write every chunk received into `out` until [`Msg::End`]; the first error ends it.
pub(crate) fn drain_into(mut out: impl Write, rx: Rx) -> std::io::Result<()> {
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Data(chunk) => {
                out.write_all(&chunk)?;
                rx.give_back(chunk);
            }
            Msg::End => return out.flush(),
            Msg::Fail(e) => return Err(e),
        }
    }
    Err(stopped())
}

/// The sending end of [`drain_into`] as a `Write`, batching into [`CHUNK`]-sized chunks.
pub(crate) struct ChunkWriter {
    tx: Tx,
    buf: Vec<u8>,
}

impl ChunkWriter {
    pub(crate) fn new(tx: Tx) -> ChunkWriter {
        let buf = tx.buffer();
        ChunkWriter { tx, buf }
    }

    fn send_buf(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, self.tx.buffer());
        self.tx.send(Msg::Data(chunk)).map_err(|_| stopped())
    }

    /// Send what is buffered and the end marker.
    pub(crate) fn close(mut self) -> std::io::Result<()> {
        self.send_buf()?;
        self.tx.send(Msg::End).map_err(|_| stopped())
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send_buf()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[path = "../tests/archive_pipe.rs"]
mod tests;
