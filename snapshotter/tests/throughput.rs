//! Quick speed check (ignored by default):
//! `cargo test --release -p sealer-snapshotter --test throughput -- --ignored --nocapture`
//! Set `SNAP_BENCH_MIB` to change the size of the random big file (default 256), or
//! `SNAP_BENCH_DIR` to layer an existing directory instead of generated data.

mod common;

use common::*;
use sealer_snapshotter::{Compression, CopyDiff, CopyEntry, TarOptions, write_layer};
use std::io::Write;
use std::time::Instant;

struct Counting(u64);

impl Write for Counting {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
#[ignore = "throughput print; run with --ignored --nocapture"]
fn layer_throughput() {
    let mib: usize = std::env::var("SNAP_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    if let Ok(dir) = std::env::var("SNAP_BENCH_DIR") {
        return bench_dir(std::path::Path::new(&dir));
    }
    let t = tempfile::tempdir().unwrap();
    let mut f = std::fs::File::create(t.path().join("big.bin")).unwrap();
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for chunk in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&block).unwrap();
    }
    drop(f);
    for i in 0..5000 {
        write(
            &t.path().join(format!("small/{:02}/{i}.txt", i % 50)),
            format!("small file {i}\n").repeat(i % 40 + 1).as_bytes(),
        );
    }
    bench_dir(t.path());
}

fn bench_dir(dir: &std::path::Path) {
    let diff = CopyDiff::new(vec![CopyEntry {
        host_path: dir.to_path_buf(),
        dest: "data".into(),
    }]);
    for c in [
        Compression::None,
        Compression::Zstd { level: 3 },
        Compression::Gzip { level: 6 },
    ] {
        let start = Instant::now();
        let (stats, out) = write_layer(&diff, c, &TarOptions::default(), Counting(0)).unwrap();
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "{c:?}: {} MiB tar, {} entries -> {} MiB in {secs:.2}s = {:.0} MB/s",
            stats.uncompressed_size >> 20,
            stats.entries,
            out.0 >> 20,
            stats.uncompressed_size as f64 / secs / 1e6
        );
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let hwm = status
            .lines()
            .find(|l| l.starts_with("VmHWM"))
            .unwrap_or("VmHWM: ?");
        eprintln!(
            "peak RSS of this process so far: {}",
            hwm.trim_start_matches("VmHWM:").trim()
        );
    }
    if tool_exists("zstd") && tool_exists("sha256sum") && tool_exists("bash") {
        let start = Instant::now();
        let ok = std::process::Command::new("bash")
            .arg("-c")
            .arg("tar -cf - . | tee >(sha256sum >/dev/null) | zstd -3 -T0 -q -c | wc -c >/dev/null")
            .current_dir(dir)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            eprintln!(
                "reference `tar | tee >(sha256sum) | zstd -3 -T0`: {:.2}s",
                start.elapsed().as_secs_f64()
            );
        }
    }
}

struct Random(usize);

impl sealer_snapshotter::DiffSource for Random {
    fn write_tar(
        &self,
        out: &mut dyn Write,
        _: &TarOptions,
    ) -> Result<u64, sealer_snapshotter::SnapshotError> {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..self.0 {
            for chunk in block.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                chunk.copy_from_slice(&x.to_le_bytes());
            }
            out.write_all(&block)
                .map_err(|source| sealer_snapshotter::SnapshotError::Stream {
                    op: "bench",
                    source,
                })?;
        }
        Ok(1)
    }
}

#[test]
#[ignore = "throughput print; run with --ignored --nocapture"]
fn compressor_scaling() {
    for c in [
        Compression::Gzip { level: 6 },
        Compression::Zstd { level: 3 },
    ] {
        for n in [1, 2] {
            let start = Instant::now();
            let threads = std::num::NonZeroUsize::new(n).unwrap();
            let (stats, out) = sealer_snapshotter::write_layer_threads(
                &Random(64),
                c,
                &TarOptions::default(),
                Counting(0),
                threads,
            )
            .unwrap();
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "{c:?} x{n}: {} MiB -> {} MiB in {secs:.2}s = {:.0} MB/s",
                stats.uncompressed_size >> 20,
                out.0 >> 20,
                stats.uncompressed_size as f64 / secs / 1e6
            );
        }
    }
}
