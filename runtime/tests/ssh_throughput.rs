//! Manual measurement (ignored by default; `sealer-bench distribute` is the full benchmark): distribute a rootfs to three SSH hosts in parallel
//! versus one `scp -r` of the same tree to one host. Run with
//! `SEALER_TP_MIB=1024 cargo test --release -p sealer-runtime --test ssh_throughput -- --ignored --nocapture`.

mod common;

use common::netns::{Net, unavailable};
use sealer_runtime::rootfs::{Manifest, Overlay, Target, distribute_all};
use sealer_runtime::ssh::{Credentials, HostConnector, HostSpec, SshConnector, SshOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn distribute_to_three_hosts_vs_scp_to_one() {
    if let Some(why) = unavailable() {
        eprintln!("SKIP: {why}");
        return;
    }
    let mib: usize = std::env::var("SEALER_TP_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let net = Net::new(44, 3);
    let src = net.scratch.path().join("tree");
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    for f in 0..mib / 4 {
        let dir = src.join(format!("d{}", f % 8));
        std::fs::create_dir_all(&dir).unwrap();
        let mut data = vec![0u8; 4 << 20];
        for chunk in data.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(dir.join(format!("f{f}")), data).unwrap();
    }
    let t0 = Instant::now();
    let manifest = Arc::new(Manifest::scan(&src).unwrap());
    let scan = t0.elapsed();

    let conn = SshConnector::new(SshOptions {
        known_hosts: net.known_hosts(),
        connect_timeout: Duration::from_secs(5),
        ..Default::default()
    });
    let n: usize = std::env::var("SEALER_TP_HOSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mut hosts = Vec::new();
    for ip in net.ips().into_iter().take(n) {
        let spec = HostSpec {
            ip: ip.parse().unwrap(),
            port: 22,
            credentials: Credentials {
                user: "root".into(),
                key: Some(net.client_key()),
                ..Default::default()
            },
        };
        hosts.push(conn.connect(&spec).await.unwrap());
    }
    let targets: Vec<Target> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| Target {
            host: h.clone(),
            dest: format!("/var/lib/sealer/tp{i}"),
            overlay: Overlay::default(),
        })
        .collect();
    let run = || async {
        distribute_all(&targets, &manifest, Duration::from_secs(600))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    let t1 = Instant::now();
    let stats = run().await;
    let ours = t1.elapsed();
    let t2 = Instant::now();
    let again = run().await;
    let rerun = t2.elapsed();

    let t3 = Instant::now();
    let status = std::process::Command::new("scp")
        .args(["-q", "-r", "-i"])
        .arg(net.client_key())
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            net.known_hosts().display()
        ))
        .args(["-o", "BatchMode=yes"])
        .arg(&src)
        .arg(format!("root@{}:/var/lib/sealer/scp", net.ips()[0]))
        .status()
        .unwrap();
    let scp = t3.elapsed();
    assert!(status.success());
    eprintln!(
        "{mib} MiB: scan {scan:?}; distribute to {n} host(s) {ours:?} ({} bytes each); rerun {rerun:?} ({} bytes); scp -r to 1 host {scp:?}; ratio {:.2}",
        stats[0].bytes_sent,
        again.iter().map(|s| s.bytes_sent).sum::<u64>(),
        ours.as_secs_f64() / scp.as_secs_f64()
    );
    assert!(again.iter().all(|s| s.bytes_sent == 0));
}
