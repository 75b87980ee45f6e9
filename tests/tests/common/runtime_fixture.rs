//! Fixtures of the runtime end-to-end tests: build contexts of a test cluster image and an app
//! image (built with the real `sealer build`), host-state snapshots and a tiny HTTP client.
#![allow(dead_code)]

use super::common::netns::Net;
use super::common::{sealer, write_files};
pub use sealer_e2e::tree::snapshot;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Repository and tag of the container image embedded in the test image's `registry/` tree.
pub const EMBEDDED_REPO: &str = "library/e2e-hello";
pub const EMBEDDED_TAG: &str = "v1";

/// The stand-in kubeadm: records its arguments next to the rootfs and answers the two
/// queries the runtime makes on master0.
pub const KUBEADM: &str = r#"#!/bin/sh
here=$(cd "$(dirname "$0")/.." && pwd)
echo "kubeadm $*" >> "$here/../markers.log"
case "$*" in
  "token create --print-join-command") echo "kubeadm join 10.9.9.9:6443 --token abc.def --discovery-token-ca-cert-hash sha256:00ff" ;;
  "init phase upload-certs --upload-certs") echo "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" ;;
esac
"#;

fn chmod_x(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A one-image distribution layout (what `sealer build` embeds under `registry/`).
pub fn write_registry_tree(root: &Path) -> String {
    let v2 = root.join("docker/registry/v2");
    let put_blob = |bytes: &[u8]| -> String {
        let hex = sha256_hex(bytes);
        let p = v2.join(format!("blobs/sha256/{}/{hex}/data", &hex[..2]));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        hex
    };
    let layer = b"not really a tar: the registry only serves it".to_vec();
    let layer_hex = put_blob(&layer);
    let config = format!(
        "{{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"sha256:{layer_hex}\"]}}}}"
    );
    let config_hex = put_blob(config.as_bytes());
    let manifest = format!(
        "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:{config_hex}\",\"size\":{}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:{layer_hex}\",\"size\":{}}}]}}",
        config.len(),
        layer.len()
    );
    let m_hex = put_blob(manifest.as_bytes());
    let repo = v2.join("repositories").join(EMBEDDED_REPO);
    let link = |rel: String, hex: &str| {
        let p = repo.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("sha256:{hex}")).unwrap();
    };
    for h in [&layer_hex, &config_hex] {
        link(format!("_layers/sha256/{h}/link"), h);
    }
    link(format!("_manifests/revisions/sha256/{m_hex}/link"), &m_hex);
    link(
        format!("_manifests/tags/{EMBEDDED_TAG}/current/link"),
        &m_hex,
    );
    link(
        format!("_manifests/tags/{EMBEDDED_TAG}/index/sha256/{m_hex}/link"),
        &m_hex,
    );
    format!("sha256:{m_hex}")
}

/// Build the kube-installer test image `tag` into the store at `root`: stand-in kubeadm,
/// init/clean scripts writing markers, a rootfs plugin, a kubeadm config template, an embedded
/// registry tree and two apps launched by LAUNCH (one shell app, one with APPCMDS/APPENV).
/// Returns the manifest digest of the embedded container image.
pub fn build_cluster_image(root: &Path, scratch: &Path, tag: &str) -> String {
    let ctx = scratch.join("cluster-ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY bin bin/\nCOPY scripts scripts/\nCOPY etc etc/\nCOPY plugins plugins/\nCOPY registry registry/\nAPP app1 local://app1\nAPP app2 local://app2\nAPPCMDS app2 [\"sh run.sh\"]\nAPPENV app2 APP2_ENV=from-image\nLAUNCH [\"app1\", \"app2\"]\n",
            ),
            ("bin/kubeadm", KUBEADM),
            (
                "scripts/init.sh",
                "#!/bin/sh\necho \"init $SEALER_HOST_IP $GREETING\" >> \"$PWD/../markers.log\"\n",
            ),
            (
                "scripts/clean.sh",
                "#!/bin/sh\necho \"clean $SEALER_HOST_IP\" >> \"${E2E_LOG:-/dev/null}\"\n",
            ),
            (
                "plugins/post.yaml",
                "apiVersion: sealer.io/v1\nkind: Plugin\nmetadata:\n  name: rootfs-post\nspec:\n  type: SHELL\n  action: post-install\n  data: echo rootfs-post-install >> \"$PWD/../markers.log\"\n",
            ),
            (
                "etc/kubeadm.yml.tmpl",
                "advertiseAddress: {{ .SEALER_HOST_IP }}\ngreeting: {{ .GREETING }}\n",
            ),
            ("app1/install.sh", "echo app1 >> \"$PWD/../markers.log\"\n"),
            (
                "app2/run.sh",
                "echo \"app2 $APP2_ENV\" >> \"$PWD/../../../../markers.log\"\n",
            ),
        ],
    );
    for f in ["bin/kubeadm", "scripts/init.sh", "scripts/clean.sh"] {
        chmod_x(&ctx.join(f));
    }
    let digest = write_registry_tree(&ctx.join("registry"));
    sealer(
        root,
        &[
            "build",
            "--progress",
            "plain",
            "-t",
            tag,
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    digest
}

/// Build an app-installer image: one shell app (its launch writes to `$E2E_LOG`) and a
/// registry file of its own.
pub fn build_app_image(root: &Path, scratch: &Path, tag: &str) {
    let ctx = scratch.join("app-ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY registry registry/\nAPP web local://web\nLAUNCH [\"web\"]\n",
            ),
            (
                "web/deploy.sh",
                "echo \"web-deployed $SEALER_HOST_IP\" >> \"${E2E_LOG:-/dev/null}\"\n",
            ),
            ("registry/app-marker.txt", "from the app image\n"),
        ],
    );
    sealer(
        root,
        &[
            "build",
            "--progress",
            "plain",
            "--type",
            "app-installer",
            "-t",
            tag,
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
}

/// A registry stand-in for binaries without `registry serve`: busybox httpd serving `--dir`.
pub fn fake_registry(dir: &Path) -> PathBuf {
    let p = dir.join("fake-registry");
    std::fs::write(
        &p,
        "#!/bin/sh\n# args: registry serve --dir DIR --addr HOST:PORT\nexec busybox httpd -f -h \"$4\" -p \"$6\"\n",
    )
    .unwrap();
    chmod_x(&p);
    p
}

/// What a host has under the directories sealer may touch.
pub fn host_state(net: &Net, i: usize) -> Vec<BTreeMap<String, String>> {
    let h = &net.hosts[i];
    vec![
        snapshot(&h.var_lib_sealer()),
        snapshot(&h.etc_containerd()),
        [(
            "hosts".to_string(),
            std::fs::read_to_string(h.etc_hosts()).unwrap(),
        )]
        .into(),
    ]
}

/// Lines of a host's marker log (empty when absent).
pub fn markers(cluster_dir: &Path) -> Vec<String> {
    lines(&cluster_dir.join("markers.log"))
}

pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `GET path` over HTTP/1.0; the whole response (status line, headers, body).
pub fn http_get(addr: &str, path: &str, accept: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: {accept}\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}
