//! Issue 5 benchmark: a cold builder whose every step hits a registry build cache, against a
//! plain `sealer pull` of the same image from the same registry (both into empty stores).

use crate::util::{Measured, measure, sealer_bin, secs, write_noise};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Registry {
    child: Child,
    addr: String,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn docker_registry(dir: &Path) -> Result<Registry> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let cfg = dir.join("registry.yml");
    std::fs::write(
        &cfg,
        format!(
            "version: 0.1\nlog: {{level: warn}}\nstorage: {{filesystem: {{rootdirectory: {}}}}}\nhttp: {{addr: {addr}}}\n",
            dir.join("data").display()
        ),
    )?;
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("docker-registry (Debian package docker-registry) is needed")?;
    let reg = Registry { child, addr };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&reg.addr).is_err() {
        if Instant::now() > deadline {
            bail!("docker-registry did not start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(reg)
}

pub fn run(args: &[String]) -> Result<()> {
    let mib: usize = args
        .iter()
        .position(|a| a == "--mib")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let sealer = sealer_bin()?;
    let work = tempfile::Builder::new()
        .prefix("sealer-cache-bench-")
        .tempdir_in(std::env::var("SEALER_BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into()))?;
    let w = work.path();
    let reg = docker_registry(w)?;
    let ctx = w.join("ctx");
    std::fs::create_dir_all(ctx.join("data"))?;
    for i in 0..4 {
        write_noise(
            &ctx.join(format!("data/part{i}.bin")),
            mib / 4,
            100 + i as u64,
        )?;
    }
    std::fs::write(
        ctx.join("Kubefile"),
        "FROM scratch\nCOPY data/part0.bin data/\nCOPY data/part1.bin data/\nRUN cp data/part0.bin data/copy.bin\nCOPY data/part2.bin data/\nCOPY data/part3.bin data/\n",
    )?;
    let image = format!("{}/bench/cached:v1", reg.addr);
    let cache = format!("type=registry,ref={}/bench/cache:main", reg.addr);
    let sealer_cmd = |root: &Path, args: &[&str]| {
        let mut c = Command::new(&sealer);
        c.arg("--root")
            .arg(root)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    let a = w.join("a");
    measure(&mut sealer_cmd(
        &a,
        &[
            "build",
            "--cache-to",
            &cache,
            "-t",
            &image,
            ctx.to_str().unwrap_or("."),
        ],
    ))?;
    measure(&mut sealer_cmd(&a, &["push", &image]))?;
    // Rounds alternate which command goes first; each starts from an empty store with no
    // dirty page cache left by the previous one (sync), and the medians are compared.
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let ctx_arg = ctx.to_str().unwrap_or(".").to_string();
    let build_args = ["build", "--cache-from", &cache, "-t", &image, &ctx_arg];
    let (mut builds, mut pulls) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for build_first in [round % 2 == 0, round % 2 != 0] {
            let root = w.join(if build_first { "b" } else { "c" });
            let _ = std::fs::remove_dir_all(&root);
            Command::new("sync").status()?;
            if build_first {
                builds.push(measure(&mut sealer_cmd(&root, &build_args))?);
            } else {
                pulls.push(measure(&mut sealer_cmd(&root, &["pull", &image]))?);
            }
        }
    }
    // Each round's build and pull ran back to back, so their ratio cancels slow drifts of
    // this (shared, virtual) machine; the headline is the median of those paired ratios.
    let mut paired: Vec<f64> = builds
        .iter()
        .zip(&pulls)
        .map(|(b, p)| secs(b.wall) / secs(p.wall))
        .collect();
    paired.sort_by(f64::total_cmp);
    let paired_median = paired[paired.len() / 2];
    let b = median(&mut builds);
    let pull = median(&mut pulls);
    println!(
        "== shared cache benchmark: {mib} MiB image (5 steps incl. one RUN) from a local docker-registry, median of {rounds} alternating rounds"
    );
    println!(
        "sealer build, cold store, every step from --cache-from  {:>8.3} s  peak RSS {:>6.1} MiB  (runs: {})",
        secs(b.wall),
        b.max_rss_kib as f64 / 1024.0,
        runs(&builds)
    );
    println!(
        "peer  sealer pull of the same image, cold store        {:>8.3} s  peak RSS {:>6.1} MiB  (runs: {})",
        secs(pull.wall),
        pull.max_rss_kib as f64 / 1024.0,
        runs(&pulls)
    );
    println!(
        "ratio of the medians, cached build / pull             {:>8.2}x",
        secs(b.wall) / secs(pull.wall)
    );
    println!(
        "ratio cached build / pull, median of paired rounds     {:>8.2}x  target <= 1.20x  (rounds: {})",
        paired_median,
        paired
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

fn median(runs: &mut [Measured]) -> Measured {
    runs.sort_by_key(|m| m.wall);
    let m = &runs[runs.len() / 2];
    Measured {
        wall: m.wall,
        max_rss_kib: m.max_rss_kib,
    }
}

fn runs(runs: &[Measured]) -> String {
    let mut walls: Vec<String> = runs
        .iter()
        .map(|m| format!("{:.2}", secs(m.wall)))
        .collect();
    walls.sort();
    walls.join(" ")
}
