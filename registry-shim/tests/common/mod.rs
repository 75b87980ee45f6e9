//! Shared test helpers: tool detection, daemons killed by PID on drop, test images built
//! by hand (tar + gzip + OCI JSON).
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sealer_registry_shim::client::{
    Client, ClientConfig, CredentialStore, MemoryStore, PushOptions, RetryPolicy,
};
use sealer_registry_shim::digest::Digest;
use sealer_registry_shim::manifest::{OCI_INDEX, OCI_MANIFEST};
use sealer_registry_shim::reference::ImageReference;

pub fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(bin))
            .find(|f| f.is_file())
    })
}

/// Print why a test is skipped and return true when a tool is missing.
pub fn missing(tools: &[&str]) -> bool {
    for t in tools {
        if which(t).is_none() {
            eprintln!(
                "SKIP: `{t}` not installed (apt-get install docker-registry skopeo containerd runc)"
            );
            return true;
        }
    }
    false
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed (by PID) and reaped on drop.
pub struct Daemon {
    pub child: Child,
    pub name: String,
    pub log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

pub fn wait_http(url: &str, d: &Daemon) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(out) = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", url])
            .output()
        {
            let code = String::from_utf8_lossy(&out.stdout).to_string();
            if code != "000" && !code.is_empty() {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{} did not come up at {url}; log:\n{}",
        d.name,
        d.log_text()
    );
}

/// Debian's docker-registry on 127.0.0.1:<free port> over `root`.
pub struct DockerRegistry {
    pub daemon: Daemon,
    pub port: u16,
    _cfg_dir: tempfile::TempDir,
}

impl DockerRegistry {
    pub fn start(root: &Path, read_only: bool) -> Self {
        let port = free_port();
        let cfg_dir = tempfile::Builder::new()
            .prefix("dreg-cfg")
            .tempdir()
            .unwrap();
        let dir = cfg_dir.path();
        let cfg = dir.join("cfg.yml");
        let ro = if read_only {
            "  maintenance:\n    readonly:\n      enabled: true\n    uploadpurging:\n      enabled: false\n"
        } else {
            ""
        };
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n{ro}http:\n  addr: 127.0.0.1:{port}\n",
                root.display()
            ),
        )
        .unwrap();
        let log = dir.join("log");
        let child = Command::new("docker-registry")
            .args(["serve", cfg.to_str().unwrap()])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::options().append(true).open(&log).unwrap())
            .spawn()
            .unwrap();
        let daemon = Daemon {
            child,
            name: "docker-registry".into(),
            log,
        };
        wait_http(&format!("http://127.0.0.1:{port}/v2/"), &daemon);
        Self {
            daemon,
            port,
            _cfg_dir: cfg_dir,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// A client that never reads the user's credential files.
pub fn test_client(endpoints: &[(&str, String)]) -> Client {
    client_with(endpoints, Duration::from_secs(2), 3)
}

/// Like [`test_client`] with a given stall timeout and attempt count.
pub fn client_with(endpoints: &[(&str, String)], stall: Duration, attempts: u32) -> Client {
    Client::new(ClientConfig {
        credentials: CredentialStore::none(),
        endpoints: endpoints
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        retry: RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(200),
        },
        stall_timeout: stall,
        ..ClientConfig::default()
    })
    .unwrap()
}

/// A hand-made image: content in a MemoryStore, OCI manifest `manifest`.
#[derive(Clone)]
pub struct TestImage {
    pub store: MemoryStore,
    pub manifest: Digest,
    pub config: Digest,
    pub layers: Vec<Digest>,
    pub arch: String,
}

/// tar (deterministic) of `files` (path, content, mode); symlinks as (path, "->target", 0).
pub fn tar_bytes(files: &[(&str, Vec<u8>, u32)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (p, _, _) in files {
        let mut cur = Path::new(p).parent();
        while let Some(d) = cur.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_path_buf());
            cur = d.parent();
        }
    }
    for d in dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(0);
        b.append_data(&mut h, format!("{}/", d.display()), std::io::empty())
            .unwrap();
    }
    for (p, content, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        if let Some(target) = content.strip_prefix(b"->") {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            h.set_mode(0o777);
            b.append_link(&mut h, p, std::str::from_utf8(target).unwrap())
                .unwrap();
        } else {
            h.set_size(content.len() as u64);
            h.set_mode(*mode);
            b.append_data(&mut h, p, content.as_slice()).unwrap();
        }
    }
    b.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// One gzip layer with `files`, an OCI config with correct diff_ids and an OCI manifest.
pub fn make_image(files: &[(&str, Vec<u8>, u32)], arch: &str) -> TestImage {
    let store = MemoryStore::new();
    let tar = tar_bytes(files);
    let diff_id = Digest::of(&tar);
    let layer = gzip(&tar);
    let layer_size = layer.len();
    let layer_d = store.insert(layer);
    let config = serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
    })
    .to_string()
    .into_bytes();
    let config_size = config.len();
    let config_d = store.insert(config);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_d.to_string(), "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_d.to_string(), "size": layer_size}],
    })
    .to_string()
    .into_bytes();
    let manifest_d = store.insert(manifest);
    TestImage {
        store,
        manifest: manifest_d,
        config: config_d,
        layers: vec![layer_d],
        arch: arch.to_string(),
    }
}

/// A small image with a unique marker file (cheap; not runnable).
pub fn small_image(marker: &str) -> TestImage {
    make_image(
        &[("etc/marker", marker.as_bytes().to_vec(), 0o644)],
        "amd64",
    )
}

/// busybox-static as `/bin/busybox` with `/bin/sh` → busybox (runnable by containerd).
pub fn busybox_image(marker: &str) -> Option<TestImage> {
    let bb = std::fs::read("/bin/busybox").ok()?;
    Some(make_image(
        &[
            ("bin/busybox", bb, 0o755),
            ("bin/sh", b"->busybox".to_vec(), 0),
            ("etc/marker", marker.as_bytes().to_vec(), 0o644),
        ],
        "amd64",
    ))
}

/// An OCI index over `children` (their content merged into one store).
pub fn make_index(children: &[&TestImage]) -> (MemoryStore, Digest) {
    let store = MemoryStore::new();
    let mut entries = Vec::new();
    for c in children {
        for d in std::iter::once(&c.manifest)
            .chain(std::iter::once(&c.config))
            .chain(c.layers.iter())
        {
            store.insert(c.store.get(d).unwrap());
        }
        let m = c.store.get(&c.manifest).unwrap();
        entries.push(serde_json::json!({
            "mediaType": OCI_MANIFEST, "digest": c.manifest.to_string(), "size": m.len(),
            "platform": {"architecture": c.arch, "os": "linux"}
        }));
    }
    let idx = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        .to_string()
        .into_bytes();
    let d = store.insert(idx);
    (store, d)
}

/// Write an OCI image layout (for `skopeo copy oci:DIR:TAG`).
pub fn write_oci_layout(dir: &Path, img: &TestImage, tag: &str) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    for d in std::iter::once(&img.manifest)
        .chain(std::iter::once(&img.config))
        .chain(img.layers.iter())
    {
        std::fs::write(blobs.join(d.hex()), img.store.get(d).unwrap()).unwrap();
    }
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let m = img.store.get(&img.manifest).unwrap();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": OCI_MANIFEST, "digest": img.manifest.to_string(), "size": m.len(),
        "annotations": {"org.opencontainers.image.ref.name": tag}
    }]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

/// Push with our client (plain http on loopback).
pub async fn push_image(client: &Client, store: &MemoryStore, root: &Digest, target: &str) {
    let r = ImageReference::parse(target).unwrap();
    client
        .push(
            &r,
            std::sync::Arc::new(store.clone()),
            root,
            &PushOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("push {target}: {e}"));
}

/// `skopeo inspect --raw` digest of a docker:// reference.
pub fn skopeo_digest(reference: &str) -> String {
    let out = Command::new("skopeo")
        .args([
            "inspect",
            "--tls-verify=false",
            "--raw",
            &format!("docker://{reference}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Digest::of(&out.stdout).to_string()
}

pub fn skopeo(args: &[&str]) -> std::process::Output {
    let out = Command::new("skopeo")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A plain reqwest client (ring provider installed).
pub fn http() -> reqwest::Client {
    sealer_registry_shim::install_crypto_provider();
    reqwest::Client::new()
}

/// Incompressible pseudo-random bytes (so gzip layers stay large).
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}
