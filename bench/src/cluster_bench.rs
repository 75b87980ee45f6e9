//! Issue 4 benchmark:
//!
//! 1. the embedded API server's start time (`ApiServer::start` → `started_in()`), and the wall
//!    time from `start()` until `kubectl version` succeeds against its kubeconfig, with
//!    `kubectl version --client` (the client process alone) as the peer;
//! 2. a 10-app Kubefile (3–5 manifests per app, one app with a CRD and a CR) built with
//!    `sealer build --build-mode lite`, and the same launch observed through the library with
//!    instrumented server and runner: the share of pass time the API server was busy versus the
//!    time spent in kubectl.
//!
//! Usage:
//!
//! ```text
//! sealer-bench cluster [--starts 10] [--rounds 3] [--no-build]
//! ```

mod apps;
mod stats;

use crate::util::{have, measure, sealer_bin, secs};
use anyhow::{Context, Result, bail};
use sealer_build_cluster::apiserver::{ApiServer, ServerConfig};
use sealer_build_cluster::discover::discover;
use sealer_build_cluster::launch::{LaunchSpec, ObserveOptions, ProcessRunner, observe};
use stats::{StatsFactory, TimingRunner, cpu_times};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Options {
    starts: usize,
    rounds: usize,
    build: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        starts: 10,
        rounds: 3,
        build: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |d: usize| -> Result<usize> {
            Ok(it.next().map(|v| v.parse()).transpose()?.unwrap_or(d))
        };
        match a.as_str() {
            "--starts" => o.starts = num(o.starts)?.max(1),
            "--rounds" => o.rounds = num(o.rounds)?.max(1),
            "--no-build" => o.build = false,
            other => bail!("unknown option {other}"),
        }
    }
    Ok(o)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn min(v: &[Duration]) -> Duration {
    v.iter().min().copied().unwrap_or_default()
}

async fn kubectl_ok(args: &[&str], cache: &Path) -> Result<bool> {
    let out = tokio::process::Command::new("kubectl")
        .args(args)
        .env("KUBECACHEDIR", cache)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .await
        .context("run kubectl")?;
    Ok(out.status.success())
}

/// (started_in, start → kubectl version ok, kubectl --client alone) for each start.
async fn start_times(
    n: usize,
    work: &Path,
) -> Result<(Vec<Duration>, Vec<Duration>, Vec<Duration>)> {
    let cache = work.join("kube-cache");
    // Warm kubectl's binary into the page cache.
    kubectl_ok(&["version", "--client", "-o", "json"], &cache).await?;
    let (mut started, mut ready, mut client) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let kc = work.join(format!("kubeconfig-{i}"));
        let kcs = kc.display().to_string();
        let t0 = Instant::now();
        let server = ApiServer::start(ServerConfig {
            trace: false,
            ..ServerConfig::default()
        })
        .await
        .context("start the embedded API server")?;
        server.write_kubeconfig(&kc)?;
        while !kubectl_ok(&["--kubeconfig", &kcs, "version", "-o", "json"], &cache).await? {
            if t0.elapsed() > Duration::from_secs(10) {
                bail!("kubectl version did not succeed within 10 s");
            }
        }
        ready.push(t0.elapsed());
        started.push(server.started_in());
        server.stop().await;
        let t = Instant::now();
        kubectl_ok(&["version", "--client", "-o", "json"], &cache).await?;
        client.push(t.elapsed());
    }
    Ok((started, ready, client))
}

struct ObserveRun {
    wall: Duration,
    passes: usize,
    images: usize,
    objects: usize,
    kubectl_runs: u64,
    kubectl_wall: Duration,
    requests: u64,
    busy: Duration,
    self_cpu: Duration,
    child_cpu: Duration,
}

async fn observe_once(rootfs: &Path, work: &Path, spec: &LaunchSpec) -> Result<ObserveRun> {
    let factory = StatsFactory::default();
    let runner = TimingRunner::new(ProcessRunner);
    let opts = ObserveOptions::default();
    let (self0, child0) = cpu_times();
    let t = Instant::now();
    let recs = observe(rootfs, work, spec, &factory, &runner, &opts, &|_| {})
        .await
        .context("observe the 10-app launch")?;
    let wall = t.elapsed();
    let (self1, child1) = cpu_times();
    let report = discover(&recs, None).context("discover images")?;
    let s = factory.total();
    let (kubectl_runs, kubectl_wall) = runner.spent();
    Ok(ObserveRun {
        wall,
        passes: recs.len(),
        images: report.images.len(),
        objects: recs.iter().map(|r| r.objects.len()).sum(),
        kubectl_runs,
        kubectl_wall,
        requests: s.requests,
        busy: s.busy,
        self_cpu: self1.saturating_sub(self0),
        child_cpu: child1.saturating_sub(child0),
    })
}

fn cli_build(work: &Path) -> Result<()> {
    let sealer = sealer_bin()?;
    let ctx = work.join("ctx");
    apps::write_context(&ctx)?;
    let report = work.join("report.json");
    let log = work.join("build.log");
    let out = std::fs::File::create(&log)?;
    let m = measure(
        Command::new(&sealer)
            .arg("--root")
            .arg(work.join("store"))
            .args([
                "build",
                "--build-mode",
                "lite",
                "--progress",
                "plain",
                "--report",
            ])
            .arg(&report)
            .args(["-t", "bench/apps:v1"])
            .arg(&ctx)
            .stdout(Stdio::null())
            .stderr(Stdio::from(out)),
    )
    .map_err(|e| e.context(std::fs::read_to_string(&log).unwrap_or_default()))?;
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report)?)?;
    let images = doc["images"].as_array().map_or(0, Vec::len);
    println!(
        "sealer build --build-mode lite (embedded cluster, cold) {:>7.3} s   peak RSS {:>6.1} MiB   {images} images reported",
        secs(m.wall),
        m.max_rss_kib as f64 / 1024.0
    );
    Ok(())
}

pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    if !have("kubectl") {
        bail!("kubectl is not on PATH; the cluster benchmark drives the real client");
    }
    let work = tempfile::Builder::new()
        .prefix("sealer-bench-cluster-")
        .tempdir_in(std::env::var("SEALER_BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into()))?;
    let w = work.path();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    eprintln!("bench: {} embedded API server starts", o.starts);
    let (started, ready, client) = rt.block_on(start_times(o.starts, w))?;
    println!("== embedded API server start ({} starts)", o.starts);
    println!(
        "ApiServer::start -> started_in()            min {:>7.2} ms  median {:>7.2} ms   target <= 200 ms",
        ms(min(&started)),
        ms(median(started.clone()))
    );
    println!(
        "start() -> first `kubectl version` ok      min {:>7.2} ms  median {:>7.2} ms   target <= 200 ms",
        ms(min(&ready)),
        ms(median(ready.clone()))
    );
    println!(
        "peer  `kubectl version --client` (alone)    min {:>7.2} ms  median {:>7.2} ms",
        ms(min(&client)),
        ms(median(client.clone()))
    );
    println!(
        "ratio kubectl-ready / kubectl --client       {:>6.2}x (median)",
        secs(median(ready)) / secs(median(client))
    );

    println!(
        "== 10-app Kubefile ({} manifests, one `kubectl apply -f` each) on the embedded cluster",
        apps::file_count()
    );
    if o.build {
        eprintln!("bench: sealer build --build-mode lite");
        cli_build(w)?;
    }
    let rootfs = w.join("rootfs");
    let spec = LaunchSpec::from_extension_json(&apps::write_rootfs(&rootfs)?)?;
    let mut runs = Vec::new();
    for r in 0..o.rounds {
        eprintln!("bench: observe round {r}");
        let run = rt.block_on(observe_once(
            &rootfs,
            &w.join(format!("observe-{r}")),
            &spec,
        ))?;
        println!(
            "observe round {r}: {:>7.1} ms wall, {} pass(es), {} objects, {} images; kubectl {} runs {:>7.1} ms; server {} requests busy {:>6.1} ms ({:.1}%)",
            ms(run.wall),
            run.passes,
            run.objects,
            run.images,
            run.kubectl_runs,
            ms(run.kubectl_wall),
            run.requests,
            ms(run.busy),
            100.0 * secs(run.busy) / secs(run.wall)
        );
        runs.push(run);
    }
    let sum = |f: fn(&ObserveRun) -> Duration| runs.iter().map(f).sum::<Duration>();
    let (wall, kwall, busy) = (sum(|r| r.wall), sum(|r| r.kubectl_wall), sum(|r| r.busy));
    let (scpu, ccpu) = (sum(|r| r.self_cpu), sum(|r| r.child_cpu));
    let n = runs.len() as u32;
    println!(
        "pass wall (mean)                        {:>8.1} ms",
        ms(wall / n)
    );
    println!(
        "time in kubectl processes (mean)        {:>8.1} ms   {:.1}% of pass",
        ms(kwall / n),
        100.0 * secs(kwall) / secs(wall)
    );
    println!(
        "API server busy (mean, summed requests) {:>8.1} ms   {:.1}% of kubectl time",
        ms(busy / n),
        100.0 * secs(busy) / secs(kwall)
    );
    println!(
        "CPU: this process (server + driver) {:>7.1} ms vs kubectl {:>7.1} ms  -> server side {:.1}% of CPU",
        ms(scpu / n),
        ms(ccpu / n),
        100.0 * secs(scpu) / secs(scpu + ccpu)
    );
    println!(
        "server busy share of pass time          {:>8.1} %    target <= 20%",
        100.0 * secs(busy) / secs(wall)
    );
    Ok(())
}
