//! Clusterfile `labels` and `taints` (sealer's format, brought unchanged) end up on the nodes:
//! after each host's kubeadm init/join, master0 runs the image's kubectl against the node with
//! that host's InternalIP. Fake hosts (local directories) and a stand-in kubectl.

mod common;

use common::*;
use sealer_runtime::ssh::{LocalConnector, LocalHostConfig};
use sealer_runtime::{
    ApplyOptions, Clusterfile, DirImageProvider, RecordingReporter, RegistryCommand, Runtime,
    RuntimeOptions, StateStore,
};
use std::net::IpAddr;
use std::sync::Arc;

/// Logs every call; `get nodes` answers `node-N<TAB>10.1.0.N` like the jsonpath asked for.
const KUBECTL: &str = r#"#!/bin/sh
here=$(cd "$(dirname "$0")/.." && pwd)
case "$1 $2" in
  "get nodes") for n in 1 2 3; do printf 'node-%s\t10.1.0.%s\n' "$n" "$n"; done ;;
  *) echo "kubectl $*" >> "$here/../markers.log" ;;
esac
"#;

fn ip(i: usize) -> IpAddr {
    format!("10.1.0.{i}").parse().unwrap()
}

struct Fixture {
    dir: tempfile::TempDir,
    rt: Runtime,
}

impl Fixture {
    fn new(with_kubectl: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let conn = Arc::new(LocalConnector::new());
        for i in 1..=3 {
            let root = dir.path().join(format!("h{i}"));
            write(&root.join("etc/hosts"), "127.0.0.1 localhost\n", 0o644);
            conn.add_host(
                ip(i),
                LocalHostConfig {
                    root,
                    ..Default::default()
                },
            );
        }
        let image = test_image(&dir.path().join("img"), "test:1");
        if with_kubectl {
            write(&image.rootfs.join("bin/kubectl"), KUBECTL, 0o755);
        }
        let images = Arc::new(DirImageProvider::new());
        images.insert(image);
        let opts = RuntimeOptions {
            registry: RegistryCommand {
                binary: Some(fake_registry(dir.path(), false)),
                ready_timeout: None,
                ..Default::default()
            },
            ..Default::default()
        };
        let rt = Runtime::new(
            conn,
            images,
            StateStore::new(dir.path().join("state")),
            opts,
            Arc::new(RecordingReporter::default()),
        );
        Fixture { dir, rt }
    }

    fn master0_markers(&self) -> Vec<String> {
        markers(&self.dir.path().join("h1/var/lib/sealer/data/test-cluster"))
    }
}

/// The test Clusterfile with labels and taints on the node group and a taint removal on the
/// master group, written the way sealer users write them.
fn labelled(master_taints: &str, node_taints: &str) -> String {
    let s = |v: &[usize]| v.iter().map(|i| ip(*i).to_string()).collect::<Vec<_>>();
    clusterfile("test:1", &s(&[1]), &s(&[2, 3]), "    user: root\n")
        .replace(
            "      roles: [master]\n",
            &format!("      roles: [master]\n      taints: [{master_taints}]\n"),
        )
        .replace(
            "      roles: [node]\n",
            &format!(
                "      roles: [node]\n      labels: {{disk: ssd, zone: a}}\n      taints: [{node_taints}]\n"
            ),
        )
}

#[tokio::test]
async fn labels_and_taints_are_set_on_each_node_from_master0() {
    let f = Fixture::new(true);
    let cf = Clusterfile::parse(&labelled(
        "\"node-role.kubernetes.io/control-plane:NoSchedule-\"",
        "\"dedicated=infra:NoSchedule\"",
    ))
    .unwrap();
    f.rt.apply(cf.clone(), &ApplyOptions::default())
        .await
        .unwrap();
    let calls: Vec<String> = f
        .master0_markers()
        .into_iter()
        .filter(|l| l.starts_with("kubectl "))
        .collect();
    let mut want = vec![
        "kubectl taint node node-1 --overwrite node-role.kubernetes.io/control-plane:NoSchedule-"
            .to_string(),
    ];
    for n in [2, 3] {
        want.push(format!(
            "kubectl label node node-{n} --overwrite disk=ssd zone=a"
        ));
        want.push(format!(
            "kubectl taint node node-{n} --overwrite dedicated=infra:NoSchedule"
        ));
    }
    let mut sorted = calls.clone();
    sorted.sort();
    want.sort();
    assert_eq!(sorted, want, "{calls:?}");
    // Nodes are labelled from master0 only.
    for i in [2, 3] {
        let m = markers(
            &f.dir
                .path()
                .join(format!("h{i}/var/lib/sealer/data/test-cluster")),
        );
        assert!(!m.iter().any(|l| l.starts_with("kubectl")), "h{i}: {m:?}");
    }
    // Applying the same Clusterfile again changes nothing, so labels are not set again.
    f.rt.apply(cf, &ApplyOptions::default()).await.unwrap();
    let again = f
        .master0_markers()
        .into_iter()
        .filter(|l| l.starts_with("kubectl "))
        .count();
    assert_eq!(again, calls.len());
    // Changing them for a running host is refused, naming the host, not silently ignored.
    let relabelled = Clusterfile::parse(&labelled(
        "\"node-role.kubernetes.io/control-plane:NoSchedule-\"",
        "\"dedicated=db:NoSchedule\"",
    ))
    .unwrap();
    let err =
        f.rt.apply(relabelled, &ApplyOptions::default())
            .await
            .unwrap_err()
            .to_string();
    assert!(err.contains("the labels or taints of 10.1.0.2"), "{err}");
    let after = f
        .master0_markers()
        .into_iter()
        .filter(|l| l.starts_with("kubectl "))
        .count();
    assert_eq!(after, calls.len(), "nothing was run");
}

#[tokio::test]
async fn an_image_without_kubectl_fails_naming_what_to_do() {
    let f = Fixture::new(false);
    let cf = Clusterfile::parse(&labelled("", "\"dedicated=infra:NoSchedule\"")).unwrap();
    let err =
        f.rt.apply(cf, &ApplyOptions::default())
            .await
            .unwrap_err()
            .to_string();
    assert!(err.contains("bin/kubectl"), "{err}");
    assert!(err.contains("10.1.0.2"), "{err}");
}

#[test]
fn a_malformed_taint_is_refused_when_the_clusterfile_is_read() {
    let err = Clusterfile::parse(&labelled("", "\"dedicated=infra:Sometimes\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("spec.hosts[1]: taints"), "{err}");
    assert!(
        err.contains("NoSchedule, PreferNoSchedule or NoExecute"),
        "{err}"
    );
    let err = Clusterfile::parse(&labelled("", "\"no-effect-here\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("key=value:Effect"), "{err}");
}
