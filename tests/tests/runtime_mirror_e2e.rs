//! Issue 6, containerd as the real consumer of the mirror configuration: a cluster image that
//! embeds `docker.io/...` and `quay.io/...` images is `sealer run` onto a master and a node
//! (network-namespace hosts with sshd); with every upstream registry stopped, a containerd on
//! the node pulls both through the `certs.d/<domain>/hosts.toml` files the runtime wrote, served
//! by the embedded registry on master0, and the registry domain resolves through the node's
//! `/etc/hosts`. Needs root, sshd, ip, busybox, nsenter, containerd, ctr and docker-registry;
//! skipped with a printed reason otherwise.

mod common;
#[path = "common/runtime_fixture.rs"]
mod fixture;
#[path = "common/runtime_world.rs"]
mod world;

use common::daemons::{Daemon, docker_registry, http_status};
use common::netns::unavailable;
use common::{have, publish, sealer, write_files};
use fixture::KUBEADM;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use world::*;

/// The cluster image: stand-in kubeadm, an init script, and `manifests/imageList` naming one
/// image per registry domain, embedded from the upstream at `upstream`.
fn build_cluster_image(root: &Path, scratch: &Path, upstream: &str) {
    let ctx = scratch.join("mirror-ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY bin bin/\nCOPY scripts scripts/\nCOPY imageList manifests/\n",
            ),
            ("bin/kubeadm", KUBEADM),
            (
                "scripts/init.sh",
                "#!/bin/sh\necho \"init $SEALER_HOST_IP\" >> \"$PWD/../markers.log\"\n",
            ),
            (
                "imageList",
                "docker.io/library/hello:v1\nquay.io/acme/tool:v1\n",
            ),
        ],
    );
    for f in ["bin/kubeadm", "scripts/init.sh"] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(ctx.join(f), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let docker = format!("docker.io=http://{upstream}");
    let quay = format!("quay.io=http://{upstream}");
    sealer(
        root,
        &[
            "build",
            "--progress",
            "plain",
            "--cluster",
            "none",
            "--registry-endpoint",
            &docker,
            "--registry-endpoint",
            &quay,
            "-t",
            IMAGE,
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
}

/// PID of host `i`'s listening sshd: its network and mount namespaces are the host's.
fn sshd_pid(w: &World, i: usize) -> u32 {
    let pids = w.net.ns_procs(i, "sshd_config");
    *pids.iter().min().expect("the host's sshd runs")
}

/// `nsenter` into the network and mount namespaces of `pid` (no fork: the PID is the program's).
fn on_host(pid: u32, program: &str) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.args(["-t", &pid.to_string(), "-n", "-m", program]);
    cmd
}

fn output(mut cmd: Command) -> (bool, String) {
    let out = cmd.output().expect("spawn");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A private containerd (CRI disabled) inside the host's namespaces, state under `dir`.
fn containerd_on_host(pid: u32, dir: &Path) -> (Daemon, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let sock = dir.join("containerd.sock");
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{s}\"\n[ttrpc]\n  address = \"{s}.ttrpc\"\n[debug]\n  address = \"{d}/debug.sock\"\n[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{d}/opt\"\n",
            d = dir.display(),
            s = sock.display()
        ),
    )
    .unwrap();
    let mut cmd = on_host(pid, "containerd");
    cmd.arg("--config").arg(&cfg);
    let d = Daemon::spawn(cmd, &dir.join("containerd.log"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut v = Command::new("ctr");
        v.arg("--address").arg(&sock).arg("version");
        if output(v).0 {
            return (d, sock);
        }
        assert!(
            Instant::now() < deadline,
            "containerd did not start:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn containerd_on_a_node_pulls_both_domains_from_master0_with_no_upstream() {
    if let Some(why) = unavailable() {
        eprintln!("SKIP: runtime mirror e2e needs root, sshd, ip and busybox: {why}");
        return;
    }
    if !["containerd", "ctr", "docker-registry", "nsenter"]
        .iter()
        .all(|t| have(t))
    {
        return;
    }
    let w = World::new(54, 2);
    if !w.real_registry {
        eprintln!("SKIP: this sealer has no `registry serve`");
        return;
    }
    let s = w.net.scratch.path().to_path_buf();

    // Upstream on loopback: publish one image per repository, build, then stop it.
    let (mut upstream, addr) = docker_registry(&s.join("upstream"), false, &s.join("logs"));
    let hello = publish(
        &s,
        &format!("{addr}/library/hello:v1"),
        "hello from docker.io",
    );
    let tool = publish(&s, &format!("{addr}/acme/tool:v1"), "tool from quay.io");
    assert_ne!(hello, tool);
    build_cluster_image(&w.root, &s, &addr);
    upstream.stop();
    assert_eq!(http_status(&addr, "/v2/"), None, "the upstream is gone");

    let (m, n) = (w.ip(0), w.ip(1));
    let mut args = w.run_args(&m, &n);
    args.push("--accept-new-host-keys".into());
    w.sealer(&refs(&args)).ok();

    // What the runtime wrote on the node, as the node sees it.
    let certs = w.net.hosts[1].etc_containerd().join("certs.d");
    for domain in ["docker.io", "quay.io", "sea.hub:5000"] {
        let toml = std::fs::read_to_string(certs.join(domain).join("hosts.toml"))
            .unwrap_or_else(|e| panic!("hosts.toml for {domain}: {e}"));
        assert!(
            toml.contains(&format!("[host.\"http://{m}:5000\"]")),
            "{domain}:\n{toml}"
        );
    }
    let etc_hosts = std::fs::read_to_string(w.net.hosts[1].etc_hosts()).unwrap();
    assert!(etc_hosts.contains(&format!("{m} sea.hub")), "{etc_hosts}");

    // containerd in the node's network and mount namespaces; ctr runs there too, so it reads
    // the node's /etc/containerd/certs.d and /etc/hosts and reaches master0 over the bridge.
    let pid = sshd_pid(&w, 1);
    let ctrd_dir = w.net.hosts[1].dir.join("ctrd");
    let (mut ctrd, sock) = containerd_on_host(pid, &ctrd_dir);
    let ctr = |args: &[&str]| {
        let mut cmd = on_host(pid, "ctr");
        cmd.arg("--address").arg(&sock).args(args);
        output(cmd)
    };
    for image in ["docker.io/library/hello:v1", "quay.io/acme/tool:v1"] {
        let (ok, text) = ctr(&[
            "images",
            "pull",
            "--hosts-dir",
            "/etc/containerd/certs.d",
            image,
        ]);
        assert!(ok, "pull {image} through the mirror failed:\n{text}");
    }
    // The local registry domain by name: resolved through the node's /etc/hosts.
    let (ok, text) = ctr(&[
        "images",
        "pull",
        "--plain-http",
        "sea.hub:5000/acme/tool:v1",
    ]);
    assert!(ok, "pull through sea.hub failed:\n{text}");

    let (ok, ls) = ctr(&["images", "ls"]);
    assert!(ok, "{ls}");
    for (image, digest) in [
        ("docker.io/library/hello:v1", &hello),
        ("quay.io/acme/tool:v1", &tool),
        ("sea.hub:5000/acme/tool:v1", &tool),
    ] {
        assert!(
            ls.lines()
                .any(|l| l.starts_with(&format!("{image} ")) && l.contains(digest.as_str())),
            "{image} has the digest pushed before the build ({digest}):\n{ls}"
        );
    }
    let (ok, content) = ctr(&["content", "ls"]);
    assert!(ok && content.contains(hello.as_str()), "{content}");

    // master0's embedded registry served them, resolving containerd's ?ns= per domain.
    let access = std::fs::read_to_string(w.cluster_dir(0).join("run/registry-access.jsonl"))
        .expect("the embedded registry's access log on master0");
    let served = |repo: &str, ns: Option<&str>| {
        access.lines().any(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            r["repo"] == repo
                && r["status"] == 200
                && r["path"].as_str().unwrap_or("").contains("/manifests/")
                && ns.is_none_or(|ns| r["ns"] == ns)
        })
    };
    assert!(
        served("docker.io/library/hello", Some("docker.io")),
        "{access}"
    );
    assert!(served("quay.io/acme/tool", Some("quay.io")), "{access}");
    assert!(
        !w.cluster_dir(1).join("run/registry-access.jsonl").exists(),
        "no registry on the node"
    );

    // Nothing left behind: containerd killed by PID, then the world tears down its hosts.
    ctrd.stop();
    assert!(
        w.net.ns_procs(1, "containerd").is_empty(),
        "containerd is gone"
    );
}
