//! containerd (private root/state/socket, CRI disabled) pulls `docker.io/...` and
//! `quay.io/...` images with the same path through `hosts.toml` mirrors pointing at our
//! server over an embedded registry, with every upstream stopped; then runs one of them.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use sealer_registry_shim::embed::embed_images;
use sealer_registry_shim::platform::Platform;
use sealer_registry_shim::server::{ServeConfig, serve};

fn start_containerd(dir: &Path) -> Daemon {
    let sock = dir.join("containerd.sock");
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{s}\"\n[ttrpc]\n  address = \"{s}.ttrpc\"\n[debug]\n  address = \"{d}/debug.sock\"\n",
            d = dir.display(),
            s = sock.display()
        ),
    )
    .unwrap();
    let log = dir.join("containerd.log");
    let child = Command::new("containerd")
        .args(["--config", cfg.to_str().unwrap()])
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::options().append(true).open(&log).unwrap())
        .spawn()
        .unwrap();
    let d = Daemon {
        child,
        name: "containerd".into(),
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ok = Command::new("ctr")
            .args(["--address", sock.to_str().unwrap(), "version"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "containerd did not start:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ctr(sock: &Path, args: &[&str]) -> String {
    let out = Command::new("ctr")
        .arg("--address")
        .arg(sock)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ctr {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn hosts_toml(hosts: &Path, registry: &str, mirror: &str, fallback_port: u16) {
    let d = hosts.join(registry);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("hosts.toml"),
        format!(
            "server = \"http://127.0.0.1:{fallback_port}\"\n\n[host.\"{mirror}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containerd_pulls_through_hosts_toml_mirror() {
    if missing(&["docker-registry", "containerd", "ctr", "runc"]) {
        return;
    }
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP: containerd needs root");
        return;
    }
    let (Some(hub_img), Some(quay_img)) = (
        busybox_image("served for docker.io"),
        busybox_image("served for quay.io"),
    ) else {
        eprintln!("SKIP: /bin/busybox missing (apt-get install busybox-static)");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let embedded = t.path().join("registry");
    {
        let hub = DockerRegistry::start(&t.path().join("hub"), false);
        let quay = DockerRegistry::start(&t.path().join("quay"), false);
        let c = test_client(&[]);
        push_image(
            &c,
            &hub_img.store,
            &hub_img.manifest,
            &format!("{}/library/bbtest:v1", hub.addr()),
        )
        .await;
        push_image(
            &c,
            &quay_img.store,
            &quay_img.manifest,
            &format!("{}/library/bbtest:v1", quay.addr()),
        )
        .await;
        let client = test_client(&[
            ("docker.io", format!("http://{}", hub.addr())),
            ("quay.io", format!("http://{}", quay.addr())),
        ]);
        let images = vec![
            "bbtest:v1".to_string(),
            "quay.io/library/bbtest:v1".to_string(),
        ];
        let got = embed_images(
            &images,
            &Platform::parse("linux/amd64").unwrap(),
            &client,
            &embedded,
        )
        .await
        .unwrap();
        assert_eq!(got[0].repo, "docker.io/library/bbtest");
        assert_eq!(got[1].repo, "quay.io/library/bbtest");
    } // both upstreams stopped
    let log = t.path().join("access.log");
    let srv = serve(ServeConfig {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        read_only: true,
        access_log: Some(log.clone()),
        ..ServeConfig::new(&embedded)
    })
    .await
    .unwrap();
    let hosts = t.path().join("hosts");
    let unused = free_port();
    hosts_toml(&hosts, "docker.io", &srv.url(), unused);
    hosts_toml(&hosts, "quay.io", &srv.url(), unused);
    let cdir = t.path().join("ctrd");
    std::fs::create_dir_all(&cdir).unwrap();
    let sock = cdir.join("containerd.sock");
    let hosts2 = hosts.clone();
    let (hub_m, quay_m) = (hub_img.manifest.to_string(), quay_img.manifest.to_string());
    tokio::task::spawn_blocking(move || {
        let _containerd = start_containerd(&cdir);
        let hd = hosts2.to_str().unwrap();
        ctr(
            &sock,
            &[
                "images",
                "pull",
                "--hosts-dir",
                hd,
                "docker.io/library/bbtest:v1",
            ],
        );
        ctr(
            &sock,
            &[
                "images",
                "pull",
                "--hosts-dir",
                hd,
                "quay.io/library/bbtest:v1",
            ],
        );
        let ls = ctr(&sock, &["images", "ls"]);
        let line = |name: &str| {
            ls.lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("{name} not in {ls}"))
                .to_string()
        };
        assert!(line("docker.io/library/bbtest:v1").contains(&hub_m), "{ls}");
        assert!(line("quay.io/library/bbtest:v1").contains(&quay_m), "{ls}");
        let out = ctr(
            &sock,
            &[
                "run",
                "--rm",
                "docker.io/library/bbtest:v1",
                "t-hub",
                "/bin/busybox",
                "cat",
                "/etc/marker",
            ],
        );
        assert_eq!(out.trim(), "served for docker.io");
        let out = ctr(
            &sock,
            &[
                "run",
                "--rm",
                "quay.io/library/bbtest:v1",
                "t-quay",
                "/bin/sh",
                "-c",
                "cat /etc/marker",
            ],
        );
        assert_eq!(out.trim(), "served for quay.io");
    })
    .await
    .unwrap();
    srv.shutdown().await;
    let recs = sealer_registry_shim::access_log::read_records(&log).unwrap();
    assert!(
        recs.iter().any(|r| r["ns"] == "docker.io"
            && r["repo"] == "docker.io/library/bbtest"
            && r["status"] == 200),
        "{recs:?}"
    );
    assert!(recs.iter().any(|r| r["ns"] == "quay.io"
        && r["repo"] == "quay.io/library/bbtest"
        && r["status"] == 200));
}
