//! The world of a runtime end-to-end test: network-namespace hosts, a store, and the flags
//! every cluster command gets; plus the expectations shared by the tests.
#![allow(dead_code)]

use super::common::netns::Net;
use super::common::{Run, sealer, sealer_bin};
use super::fixture::*;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const CLUSTER: &str = "e2e";
pub const IMAGE: &str = "e2e/cluster:v1";

/// Whether the built binary has the embedded registry (`sealer registry serve`).
pub fn has_registry_serve() -> bool {
    Command::new(sealer_bin())
        .args(["registry", "serve", "--help"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A test's world: hosts, a store, and the flags every cluster command gets.
pub struct World {
    pub net: Net,
    pub root: PathBuf,
    pub known_hosts: PathBuf,
    pub log: PathBuf,
    pub real_registry: bool,
}

impl World {
    pub fn new(x: u8, hosts: usize) -> World {
        let net = Net::new(x, hosts);
        let s = net.scratch.path().to_path_buf();
        let real_registry = has_registry_serve();
        if !real_registry {
            eprintln!(
                "NOTE: this sealer has no `registry serve`: the registry phase starts a busybox stand-in"
            );
        }
        World {
            root: s.join("store"),
            known_hosts: s.join("pinned_known_hosts"),
            log: s.join("events.log"),
            real_registry,
            net,
        }
    }

    pub fn ip(&self, i: usize) -> String {
        self.net.hosts[i].ip.clone()
    }

    pub fn cluster_dir(&self, i: usize) -> PathBuf {
        self.net.hosts[i].cluster_dir(CLUSTER)
    }

    /// `sealer --root R <args> --known-hosts K [--registry-binary FAKE]`.
    pub fn sealer(&self, args: &[&str]) -> Run {
        // Shared flags go right after the subcommand (exec takes everything after its
        // command verbatim).
        let mut all: Vec<String> = args[..1].iter().map(|s| s.to_string()).collect();
        all.extend([
            "--known-hosts".into(),
            self.known_hosts.display().to_string(),
            "--connect-timeout".into(),
            "3".into(),
        ]);
        if !self.real_registry {
            let fake = fake_registry(self.net.scratch.path());
            all.extend(["--registry-binary".into(), fake.display().to_string()]);
        }
        all.extend(args[1..].iter().map(|s| s.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        sealer(&self.root, &refs)
    }

    pub fn run_args(&self, masters: &str, nodes: &str) -> Vec<String> {
        let mut v: Vec<String> = ["run", IMAGE, "--masters", masters]
            .map(String::from)
            .to_vec();
        if !nodes.is_empty() {
            v.extend(["--nodes".into(), nodes.into()]);
        }
        v.extend([
            "--pk".into(),
            self.net.client_key().display().to_string(),
            "-e".into(),
            "GREETING=hello".into(),
            "-e".into(),
            format!("E2E_LOG={}", self.log.display()),
            "--cluster".into(),
            CLUSTER.into(),
        ]);
        v
    }

    pub fn states(&self, n: usize) -> Vec<Vec<std::collections::BTreeMap<String, String>>> {
        (0..n).map(|i| host_state(&self.net, i)).collect()
    }
}

pub fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

pub fn failed(run: &Run) -> String {
    assert!(
        !run.status.success(),
        "expected a failure:\nstdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    run.stderr.clone()
}

/// Marker lines expected on a host after the install, in phase order.
pub fn expected_markers(ip: &str, master0: bool) -> Vec<String> {
    let kube = if master0 {
        "kubeadm init --config etc/kubeadm.yml --upload-certs".to_string()
    } else {
        "kubeadm join 10.9.9.9:6443 --token abc.def --discovery-token-ca-cert-hash sha256:00ff"
            .to_string()
    };
    let mut m = vec![
        format!("init {ip} hello"),
        kube,
        "rootfs-post-install".into(),
    ];
    if master0 {
        m.extend(["app1".to_string(), "app2 from-image".to_string()]);
    }
    m
}

/// master0's markers without the join-token queries the other hosts' joins make there.
pub fn own_markers(dir: &Path) -> Vec<String> {
    markers(dir)
        .into_iter()
        .filter(|l| !l.starts_with("kubeadm token") && !l.starts_with("kubeadm init phase"))
        .collect()
}

pub fn registry_needle(w: &World) -> &'static str {
    if w.real_registry {
        "registry serve"
    } else {
        "busybox httpd"
    }
}

/// The embedded registry answers on master0 and serves the image's `registry/` tree.
pub fn check_registry(w: &World, manifest_digest: &str) {
    assert_eq!(
        w.net.ns_procs(0, registry_needle(w)).len(),
        1,
        "registry on master0"
    );
    assert!(
        w.net.ns_procs(1, registry_needle(w)).is_empty(),
        "not on nodes"
    );
    let addr = format!("{}:5000", w.ip(0));
    if w.real_registry {
        let resp = http_get(
            &addr,
            &format!("/v2/{EMBEDDED_REPO}/manifests/{EMBEDDED_TAG}"),
            "application/vnd.oci.image.manifest.v1+json",
        );
        assert!(
            resp.starts_with("HTTP/1.") && resp.contains(" 200 "),
            "{resp}"
        );
        assert!(resp.contains(manifest_digest), "{resp}");
    } else {
        let resp = http_get(
            &addr,
            &format!(
                "/docker/registry/v2/repositories/{EMBEDDED_REPO}/_manifests/tags/{EMBEDDED_TAG}/current/link"
            ),
            "*/*",
        );
        assert!(resp.contains(manifest_digest), "{resp}");
    }
}
