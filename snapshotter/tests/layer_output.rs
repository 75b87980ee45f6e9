//! Deterministic tar policy and compressed output stability.

mod common;

use common::*;
use sealer_snapshotter::{
    Compression, CopyDiff, CopyEntry, DiffSource, SnapshotError, TarOptions, write_layer,
    write_layer_threads,
};
use std::io::{Read, Write};
use std::num::NonZeroUsize;
use std::path::Path;

fn copy_of(root: &Path) -> CopyDiff {
    CopyDiff::new(vec![CopyEntry {
        host_path: root.to_path_buf(),
        dest: "opt/app".into(),
    }])
}

fn touch_all(root: &Path, secs: i64) {
    for e in walkdir::WalkDir::new(root).contents_first(true) {
        set_mtime(e.unwrap().path(), secs);
    }
}

#[test]
fn tar_is_byte_identical_across_runs_and_mtimes_above_the_clamp() {
    let t = tempfile::tempdir().unwrap();
    sample_tree(t.path());
    let opts = TarOptions {
        source_date_epoch: 1_600_000_000,
    };
    touch_all(t.path(), 1_700_000_000);
    let (s1, a) = layer_bytes(&copy_of(t.path()), Compression::None, &opts);
    let (s2, b) = layer_bytes(&copy_of(t.path()), Compression::None, &opts);
    assert_eq!(a, b);
    assert_eq!(s1, s2);
    touch_all(t.path(), 1_800_000_000);
    let (s3, c) = layer_bytes(&copy_of(t.path()), Compression::None, &opts);
    assert_eq!(a, c, "mtimes above the clamp must not matter");
    assert_eq!(s1.diff_id, s3.diff_id);
    for comp in [
        Compression::Zstd { level: 3 },
        Compression::Gzip { level: 6 },
    ] {
        let (_, x) = layer_bytes(&copy_of(t.path()), comp, &opts);
        touch_all(t.path(), 1_650_000_000);
        let (_, y) = layer_bytes(&copy_of(t.path()), comp, &opts);
        assert_eq!(x, y, "{comp:?}");
    }
    // Below the clamp, mtimes are kept, so the output changes.
    touch_all(t.path(), 1_500_000_000);
    let (_, d) = layer_bytes(&copy_of(t.path()), Compression::None, &opts);
    assert_ne!(a, d);
}

#[test]
fn tar_entries_follow_the_policy() {
    let t = tempfile::tempdir().unwrap();
    sample_tree(t.path());
    set_mtime(&t.path().join("etc/app.conf"), 500);
    let opts = TarOptions {
        source_date_epoch: 1000,
    };
    let (stats, bytes) = layer_bytes(&copy_of(t.path()), Compression::None, &opts);
    let entries = read_tar(&bytes);
    assert_eq!(stats.entries as usize, entries.len());
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(paths, sorted, "entries must be in byte order of path");
    assert_eq!(&paths[..3], &["opt/", "opt/app/", "opt/app/a.b"]);
    let by = |p: &str| entries.iter().find(|e| e.path == p).unwrap();
    for e in &entries {
        assert_eq!((e.uid, e.gid), (0, 0), "{}", e.path);
        assert!(e.uname.is_empty(), "{}", e.path);
        assert!(e.mtime <= 1000, "{}", e.path);
        if e.kind == b'5' {
            assert!(e.path.ends_with('/'), "{}", e.path);
        }
    }
    assert_eq!(by("opt/").mode, 0o755);
    assert_eq!(by("opt/app/etc/").mode, 0o750);
    assert_eq!(by("opt/app/bin/tool").mode, 0o755);
    assert_eq!(by("opt/app/etc/app.conf").mtime, 500);
    assert_eq!(by("opt/app/bin/tool").mtime, 1000);
    let conf = by("opt/app/bin/conf-link");
    assert_eq!(
        (conf.kind, conf.link.as_deref()),
        (b'2', Some("../etc/app.conf"))
    );
    let long_link = by("opt/app/long-link");
    assert_eq!(long_link.link.as_deref().map(str::len), Some(151));
    // Hardlinks: the first in sorted order is the file, the next is a link to it.
    let one = by("opt/app/data/one");
    assert_eq!(
        (one.kind, one.data.as_slice()),
        (b'0', &b"hardlinked content"[..])
    );
    let two = by("opt/app/data/two");
    assert_eq!(
        (two.kind, two.link.as_deref()),
        (b'1', Some("opt/app/data/one"))
    );
    let long = "d".repeat(120);
    assert_eq!(
        by(&format!("opt/app/deep/{long}/{long}.txt")).data,
        b"long names"
    );
    assert_eq!(by("opt/app/data/big.bin").data.len(), 3_000_000);
}

#[test]
fn default_options_zero_every_mtime() {
    let t = tempfile::tempdir().unwrap();
    write(&t.path().join("f"), b"x");
    let (_, bytes) = layer_bytes(
        &copy_of(t.path()),
        Compression::None,
        &TarOptions::default(),
    );
    assert!(read_tar(&bytes).iter().all(|e| e.mtime == 0));
}

#[test]
fn diff_id_is_sha256_of_the_uncompressed_stream() {
    let t = tempfile::tempdir().unwrap();
    sample_tree(t.path());
    let opts = TarOptions::default();
    let (plain_stats, plain) = layer_bytes(&copy_of(t.path()), Compression::None, &opts);
    assert_eq!(plain_stats.diff_id, sha256_hex(&plain));
    assert_eq!(plain_stats.uncompressed_size, plain.len() as u64);
    let (zs, z) = layer_bytes(&copy_of(t.path()), Compression::default(), &opts);
    assert_eq!(zstd_decode(&z), plain);
    assert_eq!(zs, plain_stats);
    let (gs, g) = layer_bytes(&copy_of(t.path()), Compression::Gzip { level: 1 }, &opts);
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(&g[..])
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, plain);
    assert_eq!(gs, plain_stats);
}

/// A stream that is bigger than several zstdmt jobs, partly compressible.
struct Synthetic(usize);

impl DiffSource for Synthetic {
    fn write_tar(&self, out: &mut dyn Write, _: &TarOptions) -> Result<u64, SnapshotError> {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut block = vec![0u8; 1 << 16];
        let mut left = self.0;
        while left > 0 {
            for (i, b) in block.iter_mut().enumerate() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = if i % 4 == 0 { x as u8 } else { b"layer"[i % 5] };
            }
            let n = left.min(block.len());
            out.write_all(&block[..n])
                .map_err(|source| SnapshotError::Stream {
                    op: "writing synthetic data",
                    source,
                })?;
            left -= n;
        }
        Ok(1)
    }
}

fn with_threads(diff: &dyn DiffSource, c: Compression, n: usize) -> Vec<u8> {
    let threads = NonZeroUsize::new(n).unwrap();
    write_layer_threads(diff, c, &TarOptions::default(), Vec::new(), threads)
        .unwrap()
        .1
}

#[test]
fn zstd_output_is_identical_for_any_worker_count() {
    // Bigger than one zstdmt job (8 MiB at level 3), so several jobs run at once.
    let src = Synthetic(12 << 20);
    let one = with_threads(&src, Compression::Zstd { level: 3 }, 1);
    // Several runs: zstdmt timing must never leak into the bytes (e.g. as extra frames).
    for n in [2, 4] {
        let other = with_threads(&src, Compression::Zstd { level: 3 }, n);
        assert!(
            one == other,
            "{n} workers: {} vs {} bytes",
            one.len(),
            other.len()
        );
    }
    assert_eq!(zstd_decode(&one).len(), 12 << 20);
    // Exactly one frame.
    let frame = zstd::zstd_safe::find_frame_compressed_size(&one).unwrap();
    assert_eq!(frame, one.len());
}

#[test]
fn gzip_output_is_identical_for_any_thread_count_and_gunzips() {
    let src = Synthetic(3 << 19);
    let c = Compression::Gzip { level: 6 };
    let one = with_threads(&src, c, 1);
    for n in [2, 5] {
        assert!(one == with_threads(&src, c, n), "{n} threads");
    }
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(&one[..])
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back.len(), 3 << 19);
    if !tool_exists("gzip") {
        eprintln!("skipping `gzip -d` check: gzip not installed");
        return;
    }
    let mut child = std::process::Command::new("gzip")
        .args(["-d", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feed = std::thread::spawn(move || stdin.write_all(&one).unwrap());
    let out = child.wait_with_output().unwrap();
    feed.join().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, back);
}

#[test]
fn a_failing_sink_reports_its_error() {
    #[derive(Debug)]
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let err = write_layer(
        &Synthetic(8 << 20),
        Compression::None,
        &TarOptions::default(),
        Broken,
    )
    .unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
}

#[test]
fn copy_to_root_and_bad_destinations() {
    let t = tempfile::tempdir().unwrap();
    write(&t.path().join("x/f"), b"1");
    let root = CopyDiff::new(vec![CopyEntry {
        host_path: t.path().join("x"),
        dest: "/".into(),
    }]);
    let (_, bytes) = layer_bytes(&root, Compression::None, &TarOptions::default());
    let paths: Vec<String> = read_tar(&bytes).into_iter().map(|e| e.path).collect();
    assert_eq!(paths, vec!["f"]);
    let escape = CopyDiff::new(vec![CopyEntry {
        host_path: t.path().join("x/f"),
        dest: "../f".into(),
    }]);
    assert!(
        write_layer(
            &escape,
            Compression::None,
            &TarOptions::default(),
            Vec::new()
        )
        .is_err()
    );
}
