//! Issue 2 benchmark: build a context of many small files + one big binary file, cold and
//! fully cached, against `tar | zstd -T0` (+ `sha256sum`) and `buildah bud --isolation chroot`.

use crate::util::{Noise, have, measure, sealer_bin, secs, write_noise};
use anyhow::{Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};

struct Options {
    big_mib: usize,
    small: usize,
    buildah: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        big_mib: 1024,
        small: 5000,
        buildah: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--big-mib" => o.big_mib = it.next().map(|v| v.parse()).transpose()?.unwrap_or(1024),
            "--small" => o.small = it.next().map(|v| v.parse()).transpose()?.unwrap_or(5000),
            "--no-buildah" => o.buildah = false,
            other => bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

fn make_context(dir: &Path, o: &Options) -> Result<()> {
    let small = dir.join("small");
    let mut noise = Noise::new(42);
    for i in 0..o.small {
        let sub = small.join(format!("d{:02}", i % 50));
        std::fs::create_dir_all(&sub)?;
        let size = 100 + (i * 397) % 4000;
        let mut buf = vec![0u8; size];
        noise.fill(&mut buf);
        // Text-like: small files in real contexts are manifests and scripts.
        for b in buf.iter_mut() {
            *b = b'a' + (*b % 26);
        }
        std::fs::write(sub.join(format!("f{i}.yaml")), &buf)?;
    }
    write_noise(&dir.join("big.bin"), o.big_mib, 7)?;
    std::fs::write(
        dir.join("Kubefile"),
        "FROM scratch\nCOPY small small/\nCOPY big.bin data/\n",
    )?;
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM scratch\nCOPY small /small/\nCOPY big.bin /data/\n",
    )?;
    // Let the files age past the checksum cache's racy window.
    std::thread::sleep(std::time::Duration::from_millis(300));
    Ok(())
}

fn sh(script: &str) -> Command {
    let mut c = Command::new("bash");
    c.args(["-c", script]).stdout(Stdio::null());
    c
}

pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    let sealer = sealer_bin()?;
    let work = tempfile::Builder::new()
        .prefix("sealer-bench-")
        .tempdir_in(std::env::var("SEALER_BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into()))?;
    let ctx = work.path().join("ctx");
    std::fs::create_dir_all(&ctx)?;
    eprintln!(
        "bench: making context ({} small files + {} MiB binary)",
        o.small, o.big_mib
    );
    make_context(&ctx, &o)?;
    let c = ctx.display();
    let w = work.path().display();
    // Warm the page cache once so every contender reads from memory.
    measure(&mut sh(&format!("tar -cf - -C {c} . | cat > /dev/null")))?;

    let tar_zstd = measure(&mut sh(&format!(
        "tar -cf - -C {c} small big.bin | zstd -q -3 -T0 > {w}/peer.tar.zst"
    )))?;
    let sha = measure(&mut sh(&format!("sha256sum {w}/peer.tar.zst")))?;
    let peer = tar_zstd.wall + sha.wall;
    std::fs::remove_file(work.path().join("peer.tar.zst"))?;

    let root = work.path().join("store");
    let build = |extra: &[&str]| -> Result<crate::util::Measured> {
        let mut cmd = Command::new(&sealer);
        cmd.arg("--root")
            .arg(&root)
            .args(["build", "--progress", "plain", "-t", "bench/ctx:v1"]);
        cmd.args(extra)
            .arg(&ctx)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        measure(&mut cmd)
    };
    let cold = build(&[])?;
    let cached = build(&[])?;
    let mut cached_best = cached.wall;
    for _ in 0..4 {
        cached_best = cached_best.min(build(&[])?.wall);
    }

    let buildah = if o.buildah && have("buildah") {
        let s = format!("--root {w}/bstore --runroot {w}/brun --storage-driver vfs");
        Some(measure(&mut sh(&format!(
            "buildah {s} bud --isolation chroot -q -f {c}/Dockerfile -t localhost/bench:v1 {c} >/dev/null 2>&1"
        )))?)
    } else {
        None
    };

    println!(
        "== sealer build benchmark: {} small files + {} MiB incompressible binary",
        o.small, o.big_mib
    );
    println!(
        "peer  tar | zstd -T0                 {:>8.3} s",
        secs(tar_zstd.wall)
    );
    println!("peer  tar | zstd -T0 + sha256sum     {:>8.3} s", secs(peer));
    println!(
        "sealer build (cold)                  {:>8.3} s   peak RSS {:>6.1} MiB",
        secs(cold.wall),
        cold.max_rss_kib as f64 / 1024.0
    );
    println!(
        "sealer build (fully cached, best/5)  {:>8.3} s   ({:.0} ms)",
        secs(cached_best),
        cached_best.as_secs_f64() * 1000.0
    );
    println!(
        "ratio cold / (tar|zstd + sha256sum)  {:>8.2}x   target <= 1.30x",
        secs(cold.wall) / secs(peer)
    );
    println!(
        "ratio cold / (tar|zstd)              {:>8.2}x",
        secs(cold.wall) / secs(tar_zstd.wall)
    );
    if let Some(b) = buildah {
        println!(
            "peer  buildah bud --isolation chroot {:>8.3} s",
            secs(b.wall)
        );
        println!(
            "ratio buildah / sealer cold          {:>8.2}x   target >= 2.00x",
            secs(b.wall) / secs(cold.wall)
        );
    } else {
        println!("peer  buildah: not installed or --no-buildah; skipped");
    }
    println!(
        "cached rebuild                       {:>8.0} ms  target <= 150 ms",
        cached_best.as_secs_f64() * 1000.0
    );
    println!(
        "peak RSS (cold build)                {:>8.1} MiB target <= 200 MiB",
        cold.max_rss_kib as f64 / 1024.0
    );
    if work.path().join("bstore").is_dir() {
        let _ = Command::new("buildah")
            .args([
                "--root",
                &format!("{w}/bstore"),
                "--runroot",
                &format!("{w}/brun"),
                "--storage-driver",
                "vfs",
                "rmi",
                "-a",
                "-f",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    Ok(())
}
