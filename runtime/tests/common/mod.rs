//! Shared test fixtures: a test cluster image and host-tree snapshots.
#![allow(dead_code)]

#[allow(unused_imports)]
pub use sealer_e2e::{netns, tree::snapshot};

use sealer_image_cache::sealer_meta::{
    AppType, Application, ContainerImage, ImageExtension, ImageType, Launch, Platform,
};
use sealer_runtime::ImageInfo;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub fn write(path: &Path, content: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A kube-installer test image: stand-in kubeadm, init/clean scripts writing markers,
/// a rootfs plugin, a template, a registry tree, and two apps.
pub fn test_image(dir: &Path, name: &str) -> ImageInfo {
    let r = dir.join("rootfs");
    write(
        &r.join("bin/kubeadm"),
        r#"#!/bin/sh
here=$(cd "$(dirname "$0")/.." && pwd)
echo "kubeadm $*" >> "$here/../markers.log"
case "$*" in
  "token create --print-join-command") echo "kubeadm join 10.9.9.9:6443 --token abc.def --discovery-token-ca-cert-hash sha256:00ff" ;;
  "init phase upload-certs --upload-certs") echo "[upload-certs] key:"; echo "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" ;;
esac
"#,
        0o755,
    );
    write(
        &r.join("scripts/init.sh"),
        r#"#!/bin/sh
echo "init $SEALER_HOST_IP $GREETING" >> "$PWD/../markers.log"
"#,
        0o755,
    );
    write(
        &r.join("scripts/clean.sh"),
        "#!/bin/sh\necho \"clean $SEALER_HOST_IP\" >> \"$PWD/../markers.log\"\n",
        0o755,
    );
    write(
        &r.join("plugins/post.yaml"),
        "apiVersion: sealer.io/v1\nkind: Plugin\nmetadata:\n  name: rootfs-post\nspec:\n  type: SHELL\n  action: post-install\n  data: echo rootfs-post-install >> \"$PWD/../markers.log\"\n",
        0o644,
    );
    write(
        &r.join("etc/kubeadm.yml.tmpl"),
        "advertiseAddress: {{ .SEALER_HOST_IP }}\ngreeting: {{ .GREETING }}\n",
        0o644,
    );
    write(
        &r.join("registry/docker/registry/v2/repositories/library/busybox/_manifests/tags/1/current/link"),
        "sha256:0000\n",
        0o644,
    );
    write(
        &r.join("registry/hello.txt"),
        "served by the embedded registry\n",
        0o644,
    );
    write(
        &r.join("application/apps/app1/install.sh"),
        "echo app1 >> \"$PWD/../markers.log\"\n",
        0o755,
    );
    write(
        &r.join("application/apps/app2/run.sh"),
        "echo \"app2 $APP2_ENV\" >> \"$PWD/../../../../markers.log\"\n",
        0o755,
    );
    std::fs::create_dir_all(r.join("images")).unwrap();
    let _ = std::fs::remove_file(r.join("kubeadm-link"));
    std::os::unix::fs::symlink("bin/kubeadm", r.join("kubeadm-link")).unwrap();
    ImageInfo {
        name: name.to_string(),
        id: format!("sha256:{:0>64}", "1"),
        rootfs: r,
        extension: ImageExtension {
            image_type: ImageType::KubeInstaller,
            applications: vec![
                Application {
                    name: "app1".into(),
                    app_type: AppType::Shell,
                    files: vec!["install.sh".into()],
                    ..Default::default()
                },
                Application {
                    name: "app2".into(),
                    cmds: vec!["sh run.sh".into()],
                    env: BTreeMap::from([("APP2_ENV".into(), "from-image".into())]),
                    ..Default::default()
                },
            ],
            env: BTreeMap::from([("GREETING".into(), "image-default".into())]),
            launch: Launch {
                app_names: vec!["app1".into(), "app2".into()],
                ..Default::default()
            },
            ..Default::default()
        },
        container_images: vec![
            ContainerImage {
                image: "docker.io/library/busybox:1".into(),
                ..Default::default()
            },
            ContainerImage {
                image: "quay.io/test/other:2".into(),
                ..Default::default()
            },
        ],
        platform: Platform::host(),
    }
}

/// An app-installer image with one shell app and its own registry content.
pub fn app_image(dir: &Path, name: &str) -> ImageInfo {
    let r = dir.join("app-rootfs");
    write(
        &r.join("application/apps/web/deploy.sh"),
        "echo web-deployed >> \"$PWD/../../../../../markers.log\"\n",
        0o755,
    );
    write(&r.join("registry/web.txt"), "web image data\n", 0o644);
    ImageInfo {
        name: name.to_string(),
        id: format!("sha256:{:0>64}", "2"),
        rootfs: r,
        extension: ImageExtension {
            image_type: ImageType::AppInstaller,
            applications: vec![Application {
                name: "web".into(),
                cmds: vec!["sh deploy.sh".into()],
                ..Default::default()
            }],
            launch: Launch {
                app_names: vec!["web".into()],
                ..Default::default()
            },
            ..Default::default()
        },
        container_images: vec![ContainerImage {
            image: "ghcr.io/test/web:1".into(),
            ..Default::default()
        }],
        platform: Platform::host(),
    }
}

/// A registry stand-in: a script that serves `{root}` over HTTP with busybox httpd.
pub fn fake_registry(dir: &Path, serve: bool) -> PathBuf {
    let p = dir.join("fake-registry");
    let body = if serve {
        "#!/bin/sh\n# args: --root DIR --addr HOST:PORT\nexec busybox httpd -f -h \"$2\" -p \"$4\"\n"
    } else {
        "#!/bin/sh\nexec sleep 20\n"
    };
    write(&p, body, 0o755);
    p
}

/// Lines of a host's marker log (empty when absent).
pub fn markers(cluster_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(cluster_dir.join("markers.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Clusterfile text for the test image with hooks at every install phase.
pub fn clusterfile(image: &str, masters: &[String], nodes: &[String], ssh: &str) -> String {
    let mut hosts = format!(
        "    - ips: [{}]\n      roles: [master]\n",
        masters.join(", ")
    );
    if !nodes.is_empty() {
        hosts.push_str(&format!(
            "    - ips: [{}]\n      roles: [node]\n",
            nodes.join(", ")
        ));
    }
    let mut text = format!(
        "apiVersion: sealer.io/v2\nkind: Cluster\nmetadata:\n  name: test-cluster\nspec:\n  image: {image}\n  env: [GREETING=hello]\n  ssh:\n{ssh}  hosts:\n{hosts}  registry:\n    localRegistry:\n      domain: sea.hub\n      port: 5000\n"
    );
    for action in [
        "pre-init-host",
        "post-init-host",
        "pre-install",
        "post-install",
    ] {
        text.push_str(&format!(
            "---\napiVersion: sealer.io/v1\nkind: Plugin\nmetadata:\n  name: {action}\nspec:\n  type: SHELL\n  action: {action}\n  data: echo {action} >> \"$PWD/../markers.log\"\n"
        ));
    }
    text.push_str("---\napiVersion: sealer.io/v1\nkind: Config\nmetadata:\n  name: extra\nspec:\n  path: etc/extra.yaml\n  data: \"x: 1\"\n");
    text
}

/// Expected marker lines on a host after a full install, in phase order.
pub fn expected_markers(ip: &str, master0: bool, master: bool) -> Vec<String> {
    let mut m: Vec<String> = vec![
        "pre-init-host".into(),
        format!("init {ip} hello"),
        "post-init-host".into(),
        "pre-install".into(),
    ];
    if master0 {
        m.push("kubeadm init --config etc/kubeadm.yml --upload-certs".into());
    } else if master {
        m.push("kubeadm join 10.9.9.9:6443 --token abc.def --discovery-token-ca-cert-hash sha256:00ff --control-plane --certificate-key 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef --apiserver-advertise-address ".to_string() + ip);
    } else {
        m.push(
            "kubeadm join 10.9.9.9:6443 --token abc.def --discovery-token-ca-cert-hash sha256:00ff"
                .into(),
        );
    }
    m.push("rootfs-post-install".into());
    m.push("post-install".into());
    m
}
