//! Issue 5 benchmark: `sealer save` / `sealer load` of a ≈2 GiB bundle against
//! `tar -cf - | zstd -T0` and `zstd -d | tar -x` of the same blob files, with peak RSS.
//!
//!     cargo run --release -p sealer-bench -- bundle [--mib 2048] [--files 4] [--split 700M] [--runs 3]

use crate::util::{Measured, have, measure, sealer_bin, secs, write_noise};
use anyhow::{Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};

struct Options {
    mib: usize,
    files: usize,
    split: String,
    runs: usize,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        mib: 2048,
        files: 4,
        split: "700M".to_string(),
        runs: 3,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--mib" => o.mib = it.next().map(|v| v.parse()).transpose()?.unwrap_or(o.mib),
            "--files" => o.files = it.next().map(|v| v.parse()).transpose()?.unwrap_or(o.files),
            "--split" => o.split = it.next().cloned().unwrap_or(o.split),
            "--runs" => o.runs = it.next().map(|v| v.parse()).transpose()?.unwrap_or(o.runs),
            other => bail!("unknown option {other}"),
        }
    }
    if o.runs == 0 || o.files == 0 || o.mib < o.files {
        bail!("--files must be between 1 and --mib");
    }
    Ok(o)
}

fn sh(script: &str) -> Command {
    let mut c = Command::new("bash");
    c.args(["-c", &format!("set -o pipefail; {script}")])
        .stdout(Stdio::null());
    c
}

fn sealer(bin: &Path, root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.arg("--root")
        .arg(root)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn line(label: &str, m: &Measured) {
    println!(
        "{label:<44} {:>8.3} s   peak RSS {:>6.1} MiB",
        secs(m.wall),
        m.max_rss_kib as f64 / 1024.0
    );
}

/// The fastest of `n` runs (the machine is shared); peak RSS is the largest seen.
fn best(n: usize, mut f: impl FnMut() -> Result<Measured>) -> Result<Measured> {
    let mut out = f()?;
    for _ in 1..n {
        let m = f()?;
        out.max_rss_kib = out.max_rss_kib.max(m.max_rss_kib);
        out.wall = out.wall.min(m.wall);
    }
    Ok(out)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    if !have("zstd") || !have("tar") {
        bail!("needs tar and zstd on PATH");
    }
    let bin = sealer_bin()?;
    let work = tempfile::Builder::new()
        .prefix("sealer-bundle-bench-")
        .tempdir_in(std::env::var("SEALER_BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into()))?;
    let w = work.path();
    let ctx = w.join("ctx");
    std::fs::create_dir_all(&ctx)?;
    let per = o.mib / o.files;
    eprintln!("bench: making {} files of {per} MiB noise", o.files);
    let mut kubefile = String::from("FROM scratch\n");
    for i in 0..o.files {
        write_noise(&ctx.join(format!("big{i}.bin")), per, 11 + i as u64)?;
        kubefile.push_str(&format!("COPY big{i}.bin data/\n"));
    }
    std::fs::write(ctx.join("Kubefile"), kubefile)?;
    let src = w.join("src");
    eprintln!("bench: building the image");
    let built = measure(&mut sealer(
        &bin,
        &src,
        &[
            "build",
            "--progress",
            "plain",
            "-t",
            "bench/bundle:v1",
            ctx.to_str().unwrap_or("."),
        ],
    ))?;
    std::fs::remove_dir_all(&ctx)?;
    let blobs = src.join("blobs");
    let (b, wd) = (blobs.display(), w.display());
    // Warm the page cache once so every contender reads the blobs from memory.
    measure(&mut sh(&format!(
        "tar -cf - -C {b} sha256 | cat > /dev/null"
    )))?;

    let archive = w.join("bundle.tar.zst");
    let arch = archive.to_str().unwrap_or("x");
    let dst = w.join("dst");
    let peer_out = w.join("peer-out");
    let fresh = |dir: &Path| -> Result<()> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        Ok(())
    };
    let n = o.runs;
    let save = best(n, || {
        measure(&mut sealer(
            &bin,
            &src,
            &["save", "-o", arch, "bench/bundle:v1"],
        ))
    })?;
    let archive_bytes = std::fs::metadata(&archive)?.len();
    let peer_save = best(n, || {
        measure(&mut sh(&format!(
            "tar -cf - -C {b} sha256 | zstd -q -3 -T0 > {wd}/peer.tar.zst"
        )))
    })?;
    let peer_bytes = std::fs::metadata(w.join("peer.tar.zst"))?.len();
    let load = best(n, || {
        fresh(&dst)?;
        measure(&mut sealer(&bin, &dst, &["load", "-i", arch]))
    })?;
    let peer_load = best(n, || {
        fresh(&peer_out)?;
        std::fs::create_dir_all(&peer_out)?;
        measure(&mut sh(&format!(
            "zstd -q -d -c {wd}/peer.tar.zst | tar -xf - -C {wd}/peer-out"
        )))
    })?;
    // sealer fsyncs every blob; the fair peer syncs too.
    let peer_load_sync = best(n, || {
        fresh(&peer_out)?;
        std::fs::create_dir_all(&peer_out)?;
        measure(&mut sh(&format!(
            "zstd -q -d -c {wd}/peer.tar.zst | tar -xf - -C {wd}/peer-out && sync -f {wd}/peer-out"
        )))
    })?;
    fresh(&peer_out)?;
    std::fs::remove_file(w.join("peer.tar.zst"))?;
    std::fs::remove_file(&archive)?;

    let vol = w.join("vol");
    std::fs::create_dir_all(&vol)?;
    let base = vol.join("bundle.tar.zst");
    let base = base.to_str().unwrap_or("x");
    let split = ["save", "-o", base, "--split", &o.split, "bench/bundle:v1"];
    let split_save = best(n, || measure(&mut sealer(&bin, &src, &split)))?;
    let volumes = std::fs::read_dir(&vol)?.count() - 1;
    let split_load = best(n, || {
        fresh(&dst)?;
        measure(&mut sealer(&bin, &dst, &["load", "-i", base]))
    })?;

    let mib = |n: u64| n as f64 / (1 << 20) as f64;
    println!(
        "== sealer save/load benchmark: one image, {} layers of {per} MiB incompressible data \
         ({} MiB); best of {n} runs each; load average at the end {}",
        o.files,
        o.files * per,
        load_average()
    );
    line("sealer build (setup, not compared)", &built);
    line("peer  tar -cf - blobs | zstd -3 -T0", &peer_save);
    line("sealer save -o X.tar.zst", &save);
    println!(
        "      archive sizes: sealer {:.1} MiB, peer {:.1} MiB",
        mib(archive_bytes),
        mib(peer_bytes)
    );
    line("peer  zstd -d | tar -x", &peer_load);
    line("peer  zstd -d | tar -x ; sync", &peer_load_sync);
    line("sealer load -i X.tar.zst (fsync per blob)", &load);
    line(
        &format!("sealer save --split {} ({volumes} volumes)", o.split),
        &split_save,
    );
    line("sealer load -i X.tar.zst (volumes)", &split_load);
    let ratio = |a: &Measured, b: &Measured| secs(a.wall) / secs(b.wall);
    println!(
        "ratio save / (tar|zstd)                      {:>8.2}x   target <= 1.20x",
        ratio(&save, &peer_save)
    );
    println!(
        "ratio load / (zstd -d|tar -x)                {:>8.2}x   target <= 1.20x",
        ratio(&load, &peer_load)
    );
    println!(
        "ratio load / (zstd -d|tar -x; sync)          {:>8.2}x",
        ratio(&load, &peer_load_sync)
    );
    println!(
        "ratio split save / save, split load / load   {:>8.2}x {:>6.2}x",
        ratio(&split_save, &save),
        ratio(&split_load, &load)
    );
    let peak = [&save, &load, &split_save, &split_load]
        .iter()
        .map(|m| m.max_rss_kib)
        .max()
        .unwrap_or(0);
    println!(
        "peak RSS of save/load                        {:>8.1} MiB target <= 100 MiB",
        peak as f64 / 1024.0
    );
    Ok(())
}
