//! Issue 6 benchmark: distribute a 1 GiB rootfs (one 512 MiB incompressible file plus many small
//! files) to three SSH hosts with the runtime's distribute phase, against one `scp -r` of the
//! same tree to one host (target: at most 1.5× scp's time); then distribute again with nothing
//! changed (target: 0 bytes moved). Hosts are network namespaces running Debian's sshd; needs
//! root, sshd, ip and scp.
//!
//!     sealer-bench distribute [--total-mib 1024] [--big-mib 512] [--hosts 3] [--rounds 3] [--no-scp]

mod cpu;
mod netns;
mod tree;

use anyhow::{Context, Result, bail};
use netns::Net;
use sealer_runtime::rootfs::{DistributeStats, Manifest, Overlay, Target, distribute_all};
use sealer_runtime::ssh::{
    Credentials, ExecRequest, Host, HostConnector, HostSpec, SshConnector, SshOptions, run_checked,
};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Options {
    total_mib: usize,
    big_mib: usize,
    hosts: usize,
    rounds: usize,
    /// Skip the scp peer (for profiling the distribution alone).
    scp: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        total_mib: 1024,
        big_mib: 512,
        hosts: 3,
        rounds: 3,
        scp: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = || -> Result<usize> {
            it.next()
                .with_context(|| format!("{a} needs a number"))?
                .parse()
                .with_context(|| format!("{a} needs a number"))
        };
        match a.as_str() {
            "--total-mib" => o.total_mib = num()?,
            "--big-mib" => o.big_mib = num()?,
            "--hosts" => o.hosts = num()?.max(1),
            "--rounds" => o.rounds = num()?.max(1),
            "--no-scp" => o.scp = false,
            other => bail!("unknown option {other}"),
        }
    }
    if o.big_mib > o.total_mib {
        bail!("--big-mib must not exceed --total-mib");
    }
    Ok(o)
}

/// Where the runtime puts the rootfs on each host (the host's /var/lib/sealer is its own dir).
const DEST: &str = "/var/lib/sealer/rootfs";
const TIMEOUT: Duration = Duration::from_secs(1800);

/// One timed run: wall time, CPU seconds here (this process or the scp child) and on the hosts.
struct Timed {
    wall: Duration,
    local_cpu: f64,
    hosts_cpu: f64,
}

impl Timed {
    fn line(&self) -> String {
        format!(
            "{:.2} s wall, CPU {:.2} s local + {:.2} s on the hosts",
            self.wall.as_secs_f64(),
            self.local_cpu,
            self.hosts_cpu
        )
    }
}

fn sync() {
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
}

fn clear(net: &Net) -> Result<()> {
    for h in &net.hosts {
        for d in ["rootfs", "scp"] {
            let p = h.data.join(d);
            if p.exists() {
                std::fs::remove_dir_all(&p).with_context(|| format!("remove {}", p.display()))?;
            }
        }
    }
    sync();
    Ok(())
}

fn scp(net: &Net, src: &Path) -> Result<Timed> {
    let (cpu0, hosts0) = (cpu::children_cpu(), net.hosts_cpu());
    let start = Instant::now();
    let status = Command::new("scp")
        .args(["-q", "-r", "-o", "BatchMode=yes", "-i"])
        .arg(net.client_key())
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            net.known_hosts().display()
        ))
        .arg(src)
        .arg(format!("root@{}:/var/lib/sealer/scp", net.hosts[0].ip))
        .status()
        .context("run scp")?;
    let wall = start.elapsed();
    if !status.success() {
        bail!("scp failed: {status}");
    }
    Ok(Timed {
        wall,
        local_cpu: cpu::children_cpu() - cpu0,
        hosts_cpu: net.hosts_cpu() - hosts0,
    })
}

/// The runtime's distribute phase on every host: create the directory, then distribute.
async fn ours(
    net: &Net,
    hosts: &[Arc<dyn Host>],
    manifest: &Arc<Manifest>,
) -> Result<(Timed, Vec<DistributeStats>)> {
    let (cpu0, hosts0) = (cpu::self_cpu(), net.hosts_cpu());
    let start = Instant::now();
    let mk = hosts.iter().map(|h| async move {
        run_checked(&**h, ExecRequest::new(format!("mkdir -p {DEST}")), "mkdir").await
    });
    for r in futures::future::join_all(mk).await {
        r?;
    }
    let targets: Vec<Target> = hosts
        .iter()
        .map(|h| Target {
            host: h.clone(),
            dest: DEST.to_string(),
            overlay: Overlay::default(),
        })
        .collect();
    let results = distribute_all(&targets, manifest, TIMEOUT).await;
    let wall = start.elapsed();
    let stats = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok((
        Timed {
            wall,
            local_cpu: cpu::self_cpu() - cpu0,
            hosts_cpu: net.hosts_cpu() - hosts0,
        },
        stats,
    ))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    if let Some(why) = netns::unavailable() {
        bail!("the distribute benchmark cannot run here: {why}");
    }
    let net = Net::new(o.hosts)?;
    let src = net.scratch.path().join("tree");
    let t = Instant::now();
    let (files, bytes) = tree::make(&src, o.total_mib, o.big_mib)?;
    sync();
    println!(
        "tree: {files} files, {:.0} MiB (one {} MiB incompressible file), made in {:.1} s",
        bytes as f64 / 1048576.0,
        o.big_mib,
        t.elapsed().as_secs_f64()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(bench(&net, &src, &o))
}

async fn bench(net: &Net, src: &Path, o: &Options) -> Result<()> {
    let t = Instant::now();
    let root = src.to_path_buf();
    let manifest = Arc::new(tokio::task::spawn_blocking(move || Manifest::scan(&root)).await??);
    println!(
        "manifest scan (hash every file, once per command): {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let conn = SshConnector::new(SshOptions {
        known_hosts: net.known_hosts(),
        connect_timeout: Duration::from_secs(5),
        ..Default::default()
    });
    let t = Instant::now();
    let mut hosts = Vec::new();
    for h in &net.hosts {
        let spec = HostSpec {
            ip: h.ip.parse()?,
            port: 22,
            credentials: Credentials {
                user: "root".into(),
                key: Some(net.client_key()),
                ..Default::default()
            },
        };
        hosts.push(conn.connect(&spec).await?);
    }
    println!(
        "ssh connect to {} hosts (check phase, not timed below): {:.2} s",
        hosts.len(),
        t.elapsed().as_secs_f64()
    );

    let mut ratios = Vec::new();
    for round in 1..=o.rounds {
        clear(net)?;
        let theirs = if o.scp {
            let t = scp(net, src)?;
            clear(net)?;
            t
        } else {
            Timed {
                wall: Duration::from_secs(1),
                local_cpu: 0.0,
                hosts_cpu: 0.0,
            }
        };
        let (mine, stats) = ours(net, &hosts, &manifest).await?;
        let sent: u64 = stats.iter().map(|s| s.bytes_sent).sum();
        if round == 1 {
            verify(net, &manifest)?;
        }
        let ratio = mine.wall.as_secs_f64() / theirs.wall.as_secs_f64();
        ratios.push(ratio);
        println!("round {round}:");
        println!("  scp -r to 1 host:         {}", theirs.line());
        println!(
            "  distribute to {} hosts:    {} ({:.0} MiB sent)",
            hosts.len(),
            mine.line(),
            sent as f64 / 1048576.0
        );
        println!("  ratio distribute/scp:     {ratio:.2}");
    }
    println!(
        "median ratio over {} rounds: {:.2} (target <= 1.50)",
        o.rounds,
        median(ratios)
    );

    let before: u64 = hosts.iter().map(|h| h.bytes_sent()).sum();
    let t = Instant::now();
    let targets: Vec<Target> = hosts
        .iter()
        .map(|h| Target {
            host: h.clone(),
            dest: DEST.to_string(),
            overlay: Overlay::default(),
        })
        .collect();
    let again = distribute_all(&targets, &manifest, TIMEOUT).await;
    let again = again.into_iter().collect::<Result<Vec<_>, _>>()?;
    let moved: u64 = again.iter().map(|s| s.bytes_sent).sum();
    let files_sent: usize = again.iter().map(|s| s.files_sent).sum();
    let wire: u64 = hosts.iter().map(|h| h.bytes_sent()).sum::<u64>() - before;
    println!(
        "rerun with nothing changed: {moved} bytes moved ({files_sent} files) in {:.2} s; {wire} bytes of digest list sent to check",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Every host holds exactly the source tree (paths, modes, link targets, digests).
fn verify(net: &Net, manifest: &Manifest) -> Result<()> {
    for h in &net.hosts {
        let got = Manifest::scan(&h.data.join("rootfs"))?;
        if got.entries != manifest.entries {
            bail!("host {} does not hold the source tree", h.ip);
        }
    }
    Ok(())
}
