//! Unit tests of `pargz`.

use super::*;
use std::io::Read;

fn gz(data: &[u8], threads: usize, level: u32, piece: usize) -> Vec<u8> {
    let mut w = ParGzWriter::new(Vec::new(), level, threads).unwrap();
    for chunk in data.chunks(piece.max(1)) {
        w.write_all(chunk).unwrap();
    }
    w.finish().unwrap()
}

fn sample(len: usize) -> Vec<u8> {
    let mut x: u32 = 12345;
    (0..len)
        .map(|i| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if i % 3 == 0 {
                (x >> 24) as u8
            } else {
                b"abcdefgh"[i % 8]
            }
        })
        .collect()
}

#[test]
fn identical_across_thread_counts_and_readable() {
    for len in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 5 * BLOCK + 77] {
        let data = sample(len);
        let one = gz(&data, 1, 6, 1000);
        for threads in [2, 3, 8] {
            assert_eq!(
                one,
                gz(&data, threads, 6, 4096),
                "len {len} threads {threads}"
            );
        }
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&one[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data, "len {len}");
    }
}

#[test]
fn compresses_repetitive_input() {
    let data = vec![7u8; 4 * BLOCK];
    let out = gz(&data, 2, 9, BLOCK);
    assert!(out.len() < data.len() / 50, "{} bytes", out.len());
}
