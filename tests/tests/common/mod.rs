//! Helpers shared by the end-to-end tests: locate the built `sealer`, run it, make contexts.
#![allow(dead_code)]

pub mod daemons;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `sealer` binary built by `cargo build` next to this test binary.
pub fn sealer_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SEALER_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/e2e-xxxx → target/<profile>/sealer
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    let bin = profile_dir.join("sealer");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p sealer-cli` first (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// Result of one sealer invocation.
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Run {
        assert!(
            self.status.success(),
            "sealer failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            status: o.status,
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Run `sealer --root ROOT args...`.
pub fn sealer(root: &Path, args: &[&str]) -> Run {
    sealer_env(root, args, &[])
}

/// A registry config that sends the public registries' domains to a closed loopback port,
/// so no test can reach the internet by accident. Tests that need a registry pass
/// `--registry-endpoint` explicitly.
pub fn offline_registry_config() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let path =
            std::env::temp_dir().join(format!("sealer-e2e-offline-{}.json", std::process::id()));
        let domains = [
            "docker.io",
            "quay.io",
            "registry.k8s.io",
            "k8s.gcr.io",
            "gcr.io",
            "ghcr.io",
            "registry-1.docker.io",
        ];
        let endpoints: serde_json::Map<String, serde_json::Value> = domains
            .iter()
            .map(|d| (d.to_string(), serde_json::Value::from("http://127.0.0.1:9")))
            .collect();
        let doc = serde_json::json!({"endpoints": endpoints});
        std::fs::write(&path, doc.to_string()).expect("write offline registry config");
        path
    })
    .clone()
}

pub fn sealer_env(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(sealer_bin());
    cmd.env("SEALER_REGISTRY_CONFIG", offline_registry_config());
    cmd.arg("--root").arg(root).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("spawn sealer").into()
}

/// Write files (path → content) under `dir`, creating parents.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
    }
}

/// Whether an external tool is on PATH; prints why a test is skipped when not.
pub fn have(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    if !found {
        eprintln!("SKIP: {tool} is not installed (scripts/setup.sh installs it)");
    }
    found
}

pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Run an external command, asserting success; returns stdout.
pub fn run_tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A snapshot of what a store holds on disk: index.json bytes and the set of blob files.
pub fn store_state(root: &Path) -> (Vec<u8>, Vec<String>) {
    let index = std::fs::read(root.join("index.json")).unwrap_or_default();
    let mut blobs: Vec<String> = std::fs::read_dir(root.join("blobs/sha256"))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    blobs.sort();
    (index, blobs)
}

/// `sealer inspect NAME` parsed.
pub fn inspect(root: &Path, name: &str) -> serde_json::Value {
    let run = sealer(root, &["inspect", name]).ok();
    serde_json::from_str(&run.stdout).expect("inspect prints JSON")
}

/// Plain progress: step number → status line (`CACHED`, `DONE …`, `ERROR …`).
pub fn step_statuses(stderr: &str) -> Vec<(String, String)> {
    let mut names = std::collections::HashMap::new();
    let mut out = Vec::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let Some((num, text)) = rest.split_once(' ') else {
            continue;
        };
        if text.starts_with('[') {
            names.insert(num.to_string(), text.to_string());
        } else if text == "CACHED" || text.starts_with("DONE") || text.starts_with("ERROR") {
            let name = names.get(num).cloned().unwrap_or_default();
            out.push((name, text.split(' ').next().unwrap_or("").to_string()));
        }
    }
    out
}
#[allow(unused_imports)]
pub use sealer_e2e::netns;

/// Build a tiny image holding `marker` (gzip layers, as most registries serve) and push it
/// to `target`; returns the pushed manifest digest.
pub fn publish(work: &Path, target: &str, marker: &str) -> String {
    let ctx = work.join(format!("img-{}", target.replace(['/', ':'], "_")));
    write_files(
        &ctx,
        &[
            ("Kubefile", "FROM scratch\nCOPY marker.txt etc/\n"),
            ("marker.txt", marker),
        ],
    );
    let root = work.join("publisher");
    let ctx = ctx.to_str().expect("utf-8 path");
    let args = ["build", "--cluster", "none", "--compression", "gzip"];
    sealer(&root, &[&args[..], &["-t", target, ctx]].concat()).ok();
    let digest = sealer(&root, &["push", target])
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(
        digest.starts_with("sha256:"),
        "push prints the digest: {digest}"
    );
    digest
}

/// The manifest digest `skopeo inspect` reports for `reference` (plain HTTP allowed).
pub fn skopeo_digest(reference: &str) -> String {
    let out = run_tool(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{reference}"),
        ],
    );
    let doc: serde_json::Value = serde_json::from_str(&out).expect("skopeo json");
    doc["Digest"].as_str().expect("Digest").to_string()
}

/// `sealer save` NAME and unpack the archive into a fresh OCI layout at `layout`.
pub fn saved_layout(root: &Path, name: &str, layout: &Path) -> PathBuf {
    let archive = layout.with_extension("tar");
    sealer(root, &["save", "-o", path_str(&archive), name]).ok();
    let _ = std::fs::remove_dir_all(layout);
    std::fs::create_dir_all(layout).expect("layout dir");
    run_tool("tar", &["-xf", path_str(&archive), "-C", path_str(layout)]);
    layout.to_path_buf()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 test path")
}

/// Whether commands can run in a fresh network namespace holding only `lo` (root + unshare).
pub fn can_cut_network() -> bool {
    if !is_root() || !have("unshare") || !have("ip") {
        eprintln!("SKIP (network cut): needs root, unshare and ip; loading with the network up");
        return false;
    }
    let probe = Command::new("unshare")
        .args(["-n", "cat", "/proc/net/dev"])
        .output()
        .expect("spawn unshare");
    if !probe.status.success() {
        eprintln!("SKIP (network cut): unshare -n failed");
        return false;
    }
    let text = String::from_utf8_lossy(&probe.stdout);
    let ifaces: Vec<&str> = text
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(ifaces, vec!["lo"], "a new netns must hold only lo");
    true
}
