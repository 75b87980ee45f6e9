//! Serving benchmark: `sealer registry serve --read-only` against `docker-registry` (read-only)
//! over the same distribution-layout directory, 32 concurrent clients doing manifest GETs and
//! blob GETs (a 4 MiB and a 64 MiB layer).

use super::daemons::{Daemon, docker_registry, sealer_registry};
use super::images::{SIZES_MIB, repo};
use super::load::{MANIFEST_ACCEPT, Phase, Throughput, client, first_layer, run_phase};
use anyhow::{Context, Result};
use std::path::Path;
use std::time::Duration;

pub struct ServeOptions {
    pub clients: usize,
    pub manifest_requests: usize,
    pub small_requests: usize,
    pub large_requests: usize,
    pub rounds: usize,
}

const PHASES: [&str; 3] = ["manifest GET", "blob GET 4 MiB", "blob GET 64 MiB"];

fn index_of(mib: usize) -> Result<usize> {
    SIZES_MIB
        .iter()
        .position(|s| *s == mib)
        .with_context(|| format!("no {mib} MiB image in the set"))
}

async fn phases(http: &reqwest::Client, base: &str, o: &ServeOptions) -> Result<[Phase; 3]> {
    let mut m_paths = Vec::new();
    let mut m_sizes = Vec::new();
    for i in 0..SIZES_MIB.len() {
        let (_, _, len) = first_layer(http, base, &repo(i)).await?;
        m_paths.push(format!("/v2/{}/manifests/v1", repo(i)));
        m_sizes.push(len);
    }
    let blob = |i: usize| async move {
        let (digest, size, _) = first_layer(http, base, &repo(i)).await?;
        anyhow::Ok((format!("/v2/{}/blobs/{digest}", repo(i)), size))
    };
    let (small, small_size) = blob(index_of(4)?).await?;
    let (large, large_size) = blob(index_of(64)?).await?;
    let limit = Duration::from_secs(300);
    Ok([
        Phase {
            clients: o.clients,
            per_client: o.manifest_requests,
            paths: m_paths,
            sizes: m_sizes,
            accept: Some(MANIFEST_ACCEPT),
            limit,
        },
        Phase {
            clients: o.clients,
            per_client: o.small_requests,
            paths: vec![small],
            sizes: vec![small_size],
            accept: None,
            limit,
        },
        Phase {
            clients: o.clients,
            per_client: o.large_requests,
            paths: vec![large],
            sizes: vec![large_size],
            accept: None,
            limit,
        },
    ])
}

fn better(best: &mut Option<Throughput>, t: Throughput) {
    if best.is_none_or(|b| t.wall < b.wall) {
        *best = Some(t);
    }
}

fn line(name: &str, t: &Throughput) -> String {
    format!(
        "{name:<15} {:>9.1} MB/s {:>9.1} req/s  p50 {:>7.1} ms  p99 {:>7.1} ms  ({} req, {:.1} s)",
        t.mb_per_s(),
        t.req_per_s(),
        t.p50.as_secs_f64() * 1e3,
        t.p99.as_secs_f64() * 1e3,
        t.requests,
        t.wall.as_secs_f64()
    )
}

pub fn run(sealer: &Path, root: &Path, logs: &Path, o: &ServeOptions) -> Result<()> {
    let ours = sealer_registry(sealer, root, logs)?;
    let theirs = docker_registry(root, true, false, logs)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let servers: [(&str, &Daemon); 2] = [("sealer", &ours), ("docker-registry", &theirs)];
    let mut best: [[Option<Throughput>; 3]; 2] = Default::default();
    rt.block_on(async {
        let http = client()?;
        let plan = phases(&http, &format!("http://{}", theirs.addr), o).await?;
        for round in 0..o.rounds.max(1) {
            // Alternate who goes first so neither always meets a cold or a warm cache.
            let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for s in order {
                let (name, d) = servers[s];
                let base = format!("http://{}", d.addr);
                for (p, phase) in plan.iter().enumerate() {
                    // Fresh connections per phase and server.
                    let http = client()?;
                    let t = run_phase(&http, &base, phase)
                        .await
                        .with_context(|| format!("{name}: {}", PHASES[p]))?;
                    eprintln!("bench: round {round} {name:<15} {}", line(PHASES[p], &t));
                    better(&mut best[s][p], t);
                }
            }
        }
        anyhow::Ok(())
    })?;
    println!(
        "== registry serving: sealer registry serve --read-only vs docker-registry (read-only), same directory, {} clients, best of {} rounds",
        o.clients,
        o.rounds.max(1)
    );
    for (p, name) in PHASES.iter().enumerate() {
        let (Some(a), Some(b)) = (best[0][p], best[1][p]) else {
            continue;
        };
        println!("sealer          {}", line(name, &a));
        println!("docker-registry {}", line(name, &b));
        let ratio = if p == 0 {
            a.req_per_s() / b.req_per_s()
        } else {
            a.mb_per_s() / b.mb_per_s()
        };
        println!(
            "ratio sealer / docker-registry ({name}) {:>6.2}x   target >= 1.00x",
            ratio
        );
    }
    let rss = |d: &Daemon| d.peak_rss_kib().map_or(f64::NAN, |k| k as f64 / 1024.0);
    println!(
        "server peak RSS: sealer {:.1} MiB, docker-registry {:.1} MiB",
        rss(&ours),
        rss(&theirs)
    );
    Ok(())
}
