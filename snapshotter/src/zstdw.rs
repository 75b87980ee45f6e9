//! A zstdmt stream writer that always produces exactly one frame.
//!
//! `zstd::Encoder` (the `Write` wrapper) treats a 0 "remaining" hint as the end of a frame; in
//! multithreaded mode that hint is also 0 whenever no finished job is waiting, so the wrapper
//! would start new frames at timing-dependent places. This writer drives the raw streaming API
//! itself: input is only ever fed with `ZSTD_e_continue`, the frame is ended once in `finish`.

use std::io::{self, Write};
use zstd::stream::raw::{CParameter, Encoder, InBuffer, Operation, OutBuffer};

const OUT_BUF: usize = 256 * 1024;

pub(crate) struct ZstdWriter<W: Write> {
    enc: Encoder<'static>,
    out: Vec<u8>,
    sink: W,
}

impl<W: Write> ZstdWriter<W> {
    /// zstd at `level` with `workers` (>= 1) compression threads and a content checksum.
    pub(crate) fn new(sink: W, level: i32, workers: u32) -> io::Result<Self> {
        let mut enc = Encoder::new(level)?;
        enc.set_parameter(CParameter::NbWorkers(workers.max(1)))?;
        enc.set_parameter(CParameter::ChecksumFlag(true))?;
        Ok(ZstdWriter {
            enc,
            out: Vec::with_capacity(OUT_BUF),
            sink,
        })
    }

    pub(crate) fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let mut input = InBuffer::around(data);
        while input.pos() < data.len() {
            self.out.clear();
            let mut ob = OutBuffer::around(&mut self.out);
            self.enc.run(&mut input, &mut ob)?;
            self.sink.write_all(&self.out)?;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> io::Result<W> {
        loop {
            self.out.clear();
            let mut ob = OutBuffer::around(&mut self.out);
            let remaining = self.enc.finish(&mut ob, false)?;
            self.sink.write_all(&self.out)?;
            if remaining == 0 {
                break;
            }
        }
        self.sink.flush()?;
        Ok(self.sink)
    }
}
