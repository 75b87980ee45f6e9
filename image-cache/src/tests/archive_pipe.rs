//! Unit tests of `archive::pipe`.

use super::*;

/// Yields `good` bytes in odd-sized reads, then fails.
struct Flaky {
    left: usize,
}

impl Read for Flaky {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "bad volume",
            ));
        }
        let n = buf.len().min(self.left).min(777);
        buf[..n].fill(7);
        self.left -= n;
        Ok(n)
    }
}

#[test]
fn reader_passes_data_then_a_sticky_error() {
    let (tx, rx) = channel();
    let total = CHUNK * 2 + 5;
    std::thread::scope(|s| {
        s.spawn(move || pump(Flaky { left: total }, tx));
        let mut r = ChunkReader::new(rx);
        let mut got = Vec::new();
        let err = r.read_to_end(&mut got).unwrap_err();
        assert_eq!(got.len(), total);
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        let again = r.read(&mut [0u8; 16]).unwrap_err();
        assert!(again.to_string().contains("bad volume"), "{again}");
    });
}

#[test]
fn reader_ends_cleanly_and_the_pump_stops_when_dropped() {
    let data: Vec<u8> = (0..(CHUNK * 3 + 11)).map(|i| i as u8).collect();
    let (tx, rx) = channel();
    std::thread::scope(|s| {
        s.spawn(|| pump(&data[..], tx));
        let mut got = Vec::new();
        ChunkReader::new(rx).read_to_end(&mut got).unwrap();
        assert_eq!(got, data);
    });
    let endless = std::io::repeat(1);
    let (tx, rx) = channel();
    std::thread::scope(|s| {
        s.spawn(move || pump(endless, tx));
        let mut r = ChunkReader::new(rx);
        r.read_exact(&mut [0u8; 100]).unwrap();
        // Dropping the reader ends the pump, or the scope would never join.
    });
}

#[test]
fn writer_round_trip_and_unclosed_writer_is_an_error() {
    let data: Vec<u8> = (0..(CHUNK * 2 + 3)).map(|i| (i * 7) as u8).collect();
    let (tx, rx) = channel();
    let mut out = Vec::new();
    std::thread::scope(|s| {
        let h = s.spawn(|| drain_into(&mut out, rx));
        let mut w = ChunkWriter::new(tx);
        for piece in data.chunks(333_333) {
            w.write_all(piece).unwrap();
        }
        w.close().unwrap();
        h.join().unwrap().unwrap();
    });
    assert_eq!(out, data);
    let (tx, rx) = channel();
    std::thread::scope(|s| {
        let h = s.spawn(|| drain_into(std::io::sink(), rx));
        let mut w = ChunkWriter::new(tx);
        w.write_all(b"partial").unwrap();
        drop(w);
        assert!(h.join().unwrap().is_err());
    });
}
