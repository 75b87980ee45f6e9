//! Test images for the registry benchmark: one incompressible layer each, built with
//! `sealer build --cluster none --compression gzip` and pushed to the upstream registry.

use crate::util::{Measured, measure, write_noise};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};

/// Layer payload sizes (MiB) of the 20 images: 476 MiB ≈ 499 MB in all, with a 4 MiB and a
/// 64 MiB one for the serving benchmark.
pub const SIZES_MIB: [usize; 20] = [
    1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 28, 30, 32, 36, 40, 44, 48, 48, 64,
];

/// Repository path (no registry) of image `i`.
pub fn repo(i: usize) -> String {
    format!("bench/img{i:02}")
}

/// Run a sealer command, its stdout and stderr in `log`; a failure carries the log's tail.
pub fn run_logged(cmd: &mut Command, log: &Path) -> Result<Measured> {
    let out = std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
    cmd.stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out));
    measure(cmd).map_err(|e| {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        e.context(format!("log {}:\n{}", log.display(), tail.join("\n")))
    })
}

/// Build an image holding `mib` MiB of noise and push it to `upstream/<repo>:v1`.
pub fn publish(
    sealer: &Path,
    work: &Path,
    upstream: &str,
    repo: &str,
    mib: usize,
    seed: u64,
) -> Result<()> {
    let ctx = work.join("publish-ctx");
    let store = work.join("publish-store");
    let _ = std::fs::remove_dir_all(&ctx);
    std::fs::create_dir_all(&ctx)?;
    std::fs::write(ctx.join("Kubefile"), "FROM scratch\nCOPY blob.bin data/\n")?;
    write_noise(&ctx.join("blob.bin"), mib, seed)?;
    let name = format!("{upstream}/{repo}:v1");
    let log = work.join("logs").join("publish.log");
    run_logged(
        Command::new(sealer)
            .arg("--root")
            .arg(&store)
            .args(["build", "--progress", "plain", "--cluster", "none"])
            .args(["--compression", "gzip", "-t", &name])
            .arg(&ctx),
        &log,
    )?;
    run_logged(
        Command::new(sealer)
            .arg("--root")
            .arg(&store)
            .args(["push", &name]),
        &log,
    )?;
    // Keep the disk footprint to the upstream's copy.
    std::fs::remove_dir_all(&ctx)?;
    std::fs::remove_dir_all(&store)?;
    Ok(())
}

/// A cluster-image context whose `manifests/imageList` names `images`, plus a note file that a
/// "changed context" rebuild edits.
pub fn cluster_context(dir: &Path, images: &[String]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("Kubefile"),
        "FROM scratch\nCOPY imageList manifests/\nCOPY note.txt etc/\n",
    )?;
    let mut list = images.join("\n");
    list.push('\n');
    std::fs::write(dir.join("imageList"), list)?;
    std::fs::write(dir.join("note.txt"), "first\n")?;
    Ok(())
}

/// The `skopeo sync --src yaml` file listing `repos` (tag v1) on `upstream`.
pub fn skopeo_sync_yaml(path: &Path, upstream: &str, repos: &[String]) -> Result<()> {
    let mut y = format!("{upstream}:\n  tls-verify: false\n  images:\n");
    for r in repos {
        y.push_str(&format!("    {r}: [\"v1\"]\n"));
    }
    std::fs::write(path, y)?;
    Ok(())
}

/// Total size of the files under `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    walk(dir)
}

fn walk(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}
