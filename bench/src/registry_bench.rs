//! Issue 3 benchmark. Against a local `docker-registry` upstream holding 20 images (≈500 MB of
//! incompressible gzip layers):
//!
//! 1. embedding them into a cluster image (`sealer build`, cold store) vs `skopeo sync` of the
//!    same images to a `dir:` tree, with the bytes each pulled from the upstream (its log);
//! 2. bytes fetched by an unchanged rebuild (and by one whose context changed);
//! 3. peak RSS of `sealer build` embedding one image with a 1 GiB layer (skopeo copy as peer);
//! 4. `sealer registry serve` vs `docker-registry` serving the upstream's directory read-only.
//!
//! Usage:
//!
//! ```text
//! sealer-bench registry [--runs 2] [--big-mib 1024] [--clients 32] [--rounds 2]
//!         [--manifest-requests 200] [--small-requests 8] [--large-requests 1] [--no-serve]
//! ```
//!
//! `SEALER_BENCH_DIR` picks the work dir's parent (default /var/tmp); `SEALER_BENCH_KEEP=1`
//! keeps the work dir (logs, upstream registry) afterwards.

mod daemons;
mod images;
mod load;
mod serve;

use crate::util::{Measured, have, measure, sealer_bin, secs};
use anyhow::{Result, bail};
use daemons::{Daemon, Fetched, docker_registry, upstream_bytes_since};
use images::{SIZES_MIB, cluster_context, dir_bytes, publish, repo, run_logged, skopeo_sync_yaml};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Options {
    runs: usize,
    big_mib: usize,
    serve: bool,
    serving: serve::ServeOptions,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        runs: 2,
        big_mib: 1024,
        serve: true,
        serving: serve::ServeOptions {
            clients: 32,
            manifest_requests: 200,
            small_requests: 8,
            large_requests: 1,
            rounds: 2,
        },
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |d: usize| -> Result<usize> {
            Ok(it.next().map(|v| v.parse()).transpose()?.unwrap_or(d))
        };
        match a.as_str() {
            "--runs" => o.runs = num(o.runs)?.max(1),
            "--big-mib" => o.big_mib = num(o.big_mib)?,
            "--clients" => o.serving.clients = num(o.serving.clients)?.max(1),
            "--rounds" => o.serving.rounds = num(o.serving.rounds)?,
            "--manifest-requests" => {
                o.serving.manifest_requests = num(o.serving.manifest_requests)?.max(1)
            }
            "--small-requests" => o.serving.small_requests = num(o.serving.small_requests)?.max(1),
            "--large-requests" => o.serving.large_requests = num(o.serving.large_requests)?.max(1),
            "--no-serve" => o.serve = false,
            other => bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

/// One timed contender run with what it pulled from the upstream.
struct Run {
    m: Measured,
    fetched: Fetched,
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn mib(kib: i64) -> f64 {
    kib as f64 / 1024.0
}

struct Embedder<'a> {
    sealer: &'a Path,
    up: &'a Daemon,
    logs: PathBuf,
}

impl Embedder<'_> {
    fn build(&self, root: &Path, ctx: &Path, tag: &str, label: &str) -> Result<Run> {
        let mark = self.up.log_len();
        let m = run_logged(
            Command::new(self.sealer)
                .arg("--root")
                .arg(root)
                .args([
                    "--registry-endpoint",
                    &format!("docker.io=http://{}", self.up.addr),
                ])
                .args(["build", "--progress", "plain", "-t", tag])
                .arg(ctx),
            &self.logs.join(format!("sealer-build-{label}.log")),
        )?;
        Ok(Run {
            m,
            fetched: upstream_bytes_since(self.up, mark)?,
        })
    }

    fn skopeo(&self, args: &[&str]) -> Result<Run> {
        let mark = self.up.log_len();
        let m = run_logged(
            Command::new("skopeo").args(args),
            &self.logs.join("skopeo.log"),
        )?;
        Ok(Run {
            m,
            fetched: upstream_bytes_since(self.up, mark)?,
        })
    }
}

fn report_run(label: &str, r: &Run) {
    println!(
        "{label:<38} {:>8.3} s   peak RSS {:>7.1} MiB   fetched {:>8.1} MB in {} blob GETs",
        secs(r.m.wall),
        mib(r.m.max_rss_kib),
        mb(r.fetched.blob_bytes),
        r.fetched.blob_gets
    );
}

fn best(runs: &[Run]) -> Option<&Run> {
    runs.iter().min_by_key(|r| r.m.wall)
}

fn embedded_count(sealer: &Path, root: &Path, tag: &str) -> Result<usize> {
    let out = Command::new(sealer)
        .arg("--root")
        .arg(root)
        .args(["inspect", tag])
        .stderr(Stdio::null())
        .output()?;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok(doc["containerImageList"].as_array().map_or(0, Vec::len))
}

fn embed_vs_sync(e: &Embedder, work: &Path, runs: usize) -> Result<()> {
    let refs: Vec<String> = (0..SIZES_MIB.len()).map(repo).collect();
    let ctx = work.join("cluster-ctx");
    let list: Vec<String> = refs.iter().map(|r| format!("docker.io/{r}:v1")).collect();
    cluster_context(&ctx, &list)?;
    let sync_yaml = work.join("sync.yml");
    skopeo_sync_yaml(&sync_yaml, &e.up.addr, &refs)?;
    let tag = "bench/cluster:v1";
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let store = |r: usize| work.join(format!("store-{r}"));
    for r in 0..runs {
        eprintln!("bench: embed run {r}: sealer build (cold store)");
        ours.push(e.build(&store(r), &ctx, tag, &format!("cold-{r}"))?);
        if r + 1 < runs {
            std::fs::remove_dir_all(store(r))?;
        }
        eprintln!("bench: embed run {r}: skopeo sync");
        let dest = work.join("skopeo-dir");
        let _ = std::fs::remove_dir_all(&dest);
        let d = dest.display().to_string();
        theirs.push(e.skopeo(&[
            "sync",
            "--src",
            "yaml",
            "--dest",
            "dir",
            &sync_yaml.display().to_string(),
            &d,
        ])?);
        if r + 1 == runs {
            eprintln!("bench: skopeo dir holds {:.1} MB", mb(dir_bytes(&dest)));
        }
        std::fs::remove_dir_all(&dest)?;
    }
    let root = store(runs - 1);
    let count = embedded_count(e.sealer, &root, tag)?;
    eprintln!("bench: unchanged rebuild");
    let unchanged = e.build(&root, &ctx, tag, "unchanged")?;
    eprintln!("bench: rebuild with a changed context file");
    std::fs::write(ctx.join("note.txt"), "second\n")?;
    let changed = e.build(&root, &ctx, tag, "edited")?;
    let store_mb = mb(dir_bytes(&root));
    std::fs::remove_dir_all(&root)?;

    let total_mib: usize = SIZES_MIB.iter().sum();
    println!(
        "== embedding {} images ({} MiB incompressible, gzip layers) from a local docker-registry, best of {runs}",
        SIZES_MIB.len(),
        total_mib
    );
    for (i, r) in ours.iter().enumerate() {
        report_run(&format!("sealer build (cold store) run {i}"), r);
    }
    for (i, r) in theirs.iter().enumerate() {
        report_run(&format!("peer  skopeo sync --dest dir run {i}"), r);
    }
    let (Some(a), Some(b)) = (best(&ours), best(&theirs)) else {
        bail!("no runs");
    };
    println!(
        "sealer build embedded {count} images; store {store_mb:.1} MB; upstream served {:.1} MB to sealer, {:.1} MB to skopeo",
        mb(a.fetched.total_bytes),
        mb(b.fetched.total_bytes)
    );
    println!(
        "ratio skopeo sync / sealer build       {:>8.2}x   target >= 1.50x",
        secs(b.m.wall) / secs(a.m.wall)
    );
    report_run("sealer rebuild, unchanged", &unchanged);
    println!(
        "bytes fetched by the unchanged rebuild {:>8} B   ({} requests)  target 0 B",
        unchanged.fetched.total_bytes, unchanged.fetched.requests
    );
    report_run("sealer rebuild, other context file edited", &changed);
    println!(
        "bytes fetched, context edited, same images {:>4} B   ({} requests)",
        changed.fetched.total_bytes, changed.fetched.requests
    );
    Ok(())
}

fn big_layer_rss(e: &Embedder, work: &Path, big_mib: usize) -> Result<()> {
    eprintln!("bench: publishing one image with a {big_mib} MiB layer");
    publish(e.sealer, work, &e.up.addr, "bench/big", big_mib, 4242)?;
    let ctx = work.join("big-ctx");
    cluster_context(&ctx, &["docker.io/bench/big:v1".to_string()])?;
    let root = work.join("big-store");
    eprintln!("bench: sealer build embedding it (cold store)");
    let ours = e.build(&root, &ctx, "bench/big-cluster:v1", "big")?;
    std::fs::remove_dir_all(&root)?;
    let dest = work.join("big-skopeo");
    std::fs::create_dir_all(&dest)?;
    let src = format!("docker://{}/bench/big:v1", e.up.addr);
    let dst = format!("dir:{}", dest.display());
    eprintln!("bench: skopeo copy of it");
    let theirs = e.skopeo(&["copy", "--src-tls-verify=false", &src, &dst])?;
    std::fs::remove_dir_all(&dest)?;
    println!("== one image with a {big_mib} MiB incompressible layer");
    report_run("sealer build (cold store)", &ours);
    report_run("peer  skopeo copy --dest dir", &theirs);
    println!(
        "peak RSS sealer build, {big_mib} MiB layer   {:>8.1} MiB target <= 150 MiB",
        mib(ours.m.max_rss_kib)
    );
    Ok(())
}

pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    for tool in ["docker-registry", "skopeo"] {
        if !have(tool) {
            bail!("{tool} is not installed (apt-get install -y docker-registry skopeo)");
        }
    }
    let sealer = sealer_bin()?;
    let mut work = tempfile::Builder::new()
        .prefix("sealer-bench-registry-")
        .tempdir_in(std::env::var("SEALER_BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into()))?;
    // SEALER_BENCH_KEEP=1 keeps the work dir (logs, upstream registry) for a look afterwards.
    if std::env::var_os("SEALER_BENCH_KEEP").is_some() {
        work.disable_cleanup(true);
        eprintln!("bench: keeping {}", work.path().display());
    }
    let w = work.path();
    let logs = w.join("logs");
    std::fs::create_dir_all(&logs)?;
    let up_root = w.join("upstream");
    let up = docker_registry(&up_root, false, true, &logs)?;
    eprintln!(
        "bench: upstream docker-registry on {}; publishing {} images",
        up.addr,
        SIZES_MIB.len()
    );
    for (i, size) in SIZES_MIB.iter().enumerate() {
        publish(&sealer, w, &up.addr, &repo(i), *size, 1000 + i as u64)?;
    }
    // Warm the page cache over the upstream's blobs so no contender pays for the disk.
    measure(
        Command::new("bash")
            .args([
                "-c",
                &format!("tar -cf - -C {} . | cat >/dev/null", up_root.display()),
            ])
            .stdout(Stdio::null()),
    )?;
    let e = Embedder {
        sealer: &sealer,
        up: &up,
        logs: logs.clone(),
    };
    embed_vs_sync(&e, w, o.runs)?;
    if o.big_mib > 0 {
        big_layer_rss(&e, w, o.big_mib)?;
    }
    drop(up);
    if o.serve {
        serve::run(&sealer, &up_root, &logs, &o.serving)?;
    }
    Ok(())
}
