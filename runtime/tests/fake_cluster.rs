//! The whole runtime against fake hosts (local directories): install, rerun, join, delete,
//! failures and resume, app images. Fast and needs no root.

mod common;

use common::*;
use sealer_runtime::ssh::{LocalConnector, LocalHostConfig};
use sealer_runtime::{
    AppOptions, ApplyOptions, Clusterfile, DirImageProvider, Phase, RecordingReporter,
    RegistryCommand, RunArgs, Runtime, RuntimeOptions, StateStore,
};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Fixture {
    dir: tempfile::TempDir,
    conn: Arc<LocalConnector>,
    reporter: Arc<RecordingReporter>,
    rt: Runtime,
}

fn ip(i: usize) -> IpAddr {
    format!("10.1.0.{i}").parse().unwrap()
}

impl Fixture {
    fn new(hosts: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let conn = Arc::new(LocalConnector::new());
        for i in 1..=hosts {
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
        let images = Arc::new(DirImageProvider::new());
        images.insert(test_image(&dir.path().join("img"), "test:1"));
        images.insert(app_image(&dir.path().join("img"), "app:1"));
        let reporter = Arc::new(RecordingReporter::default());
        let opts = RuntimeOptions {
            registry: RegistryCommand {
                binary: Some(fake_registry(dir.path(), false)),
                ready_timeout: None,
                ..Default::default()
            },
            ..Default::default()
        };
        let rt = Runtime::new(
            conn.clone(),
            images,
            StateStore::new(dir.path().join("state")),
            opts,
            reporter.clone(),
        );
        Fixture {
            dir,
            conn,
            reporter,
            rt,
        }
    }
    fn root(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("h{i}"))
    }
    fn cdir(&self, i: usize) -> PathBuf {
        self.root(i).join("var/lib/sealer/data/test-cluster")
    }
    fn snapshots(&self, n: usize) -> Vec<BTreeMap<String, String>> {
        (1..=n).map(|i| snapshot(&self.root(i))).collect()
    }
    fn cf(&self, masters: &[usize], nodes: &[usize], ssh: &str) -> Clusterfile {
        let s = |v: &[usize]| v.iter().map(|i| ip(*i).to_string()).collect::<Vec<_>>();
        Clusterfile::parse(&clusterfile("test:1", &s(masters), &s(nodes), ssh)).unwrap()
    }
}

fn without_token_calls(m: Vec<String>) -> Vec<String> {
    m.into_iter()
        .filter(|l| !l.starts_with("kubeadm token") && !l.starts_with("kubeadm init phase"))
        .collect()
}

fn assert_installed(f: &Fixture, i: usize, master0: bool) {
    let cd = f.cdir(i);
    let ipt = ip(i).to_string();
    assert!(cd.join("rootfs/bin/kubeadm").is_file(), "rootfs on h{i}");
    assert!(cd.join("rootfs/kubeadm-link").is_symlink());
    let kubeadm_yml = std::fs::read_to_string(cd.join("rootfs/etc/kubeadm.yml")).unwrap();
    assert_eq!(
        kubeadm_yml,
        format!("advertiseAddress: {ipt}\ngreeting: hello\n")
    );
    assert_eq!(
        std::fs::read_to_string(cd.join("rootfs/etc/extra.yaml")).unwrap(),
        "x: 1"
    );
    let certs = f.root(i).join("etc/containerd/certs.d");
    for d in ["docker.io", "quay.io", "sea.hub:5000"] {
        let t = std::fs::read_to_string(certs.join(d).join("hosts.toml")).unwrap();
        assert!(
            t.contains("[host.\"http://10.1.0.1:5000\"]"),
            "{d} on h{i}: {t}"
        );
    }
    let hosts = std::fs::read_to_string(f.root(i).join("etc/hosts")).unwrap();
    assert_eq!(
        hosts,
        "127.0.0.1 localhost\n10.1.0.1 sea.hub # sealer:test-cluster\n"
    );
    assert_eq!(
        cd.join("run/registry.pid").exists(),
        master0,
        "registry only on master0"
    );
}

#[tokio::test]
async fn install_rerun_join_delete() {
    let f = Fixture::new(4);
    let before = f.snapshots(4);
    let cf = f.cf(&[1], &[2, 3], "    user: root\n");

    let dry =
        f.rt.apply(
            cf.clone(),
            &ApplyOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!dry.executed && !dry.plan.is_empty());
    assert!(
        dry.plan.to_string().contains("launch `app app1"),
        "{}",
        dry.plan
    );
    assert_eq!(f.snapshots(4), before, "dry-run changes nothing");

    let out =
        f.rt.apply(cf.clone(), &ApplyOptions::default())
            .await
            .unwrap();
    assert!(out.executed);
    assert!(out.bytes_sent > 0);
    for i in 1..=3 {
        assert_installed(&f, i, i == 1);
    }
    assert_eq!(
        markers(&f.cdir(2)),
        expected_markers("10.1.0.2", false, false)
    );
    assert_eq!(
        markers(&f.cdir(3)),
        expected_markers("10.1.0.3", false, false)
    );
    let mut m0 = expected_markers("10.1.0.1", true, true);
    m0.extend(["app1".to_string(), "app2 from-image".to_string()]);
    assert_eq!(without_token_calls(markers(&f.cdir(1))), m0);
    assert_eq!(
        f.rt.state().load_applied("test-cluster").unwrap(),
        Some(cf.clone())
    );
    let on_m0 = std::fs::read_to_string(f.cdir(1).join("Clusterfile")).unwrap();
    assert_eq!(
        Clusterfile::parse(&on_m0).unwrap(),
        cf,
        "applied Clusterfile kept on master0"
    );

    // The same Clusterfile again changes nothing.
    let settled = f.snapshots(4);
    let again =
        f.rt.apply(cf.clone(), &ApplyOptions::default())
            .await
            .unwrap();
    assert!(!again.executed && again.plan.is_empty(), "{}", again.plan);
    assert_eq!(f.snapshots(4), settled);

    // Join a node: it installs with scale-up hooks; apps are not launched again.
    let joined =
        f.rt.join(None, &[], &[ip(4)], &ApplyOptions::default())
            .await
            .unwrap();
    assert!(joined.executed);
    assert_installed(&f, 4, false);
    assert_eq!(
        markers(&f.cdir(4)),
        [
            "pre-init-host",
            "init 10.1.0.4 hello",
            "post-init-host",
            "kubeadm join 10.9.9.9:6443 --token abc.def --discovery-token-ca-cert-hash sha256:00ff",
        ]
    );
    assert_eq!(
        markers(&f.cdir(1)).iter().filter(|l| *l == "app1").count(),
        1
    );

    // Remove node 4 with pruning: back to exactly what it was. Node 3 without: data stays.
    f.rt.delete_nodes(
        None,
        &[ip(4)],
        &ApplyOptions {
            prune: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(snapshot(&f.root(4)), before[3], "h4 is as before");
    f.rt.delete_nodes(None, &[ip(3)], &ApplyOptions::default())
        .await
        .unwrap();
    let m3 = markers(&f.cdir(3));
    assert_eq!(m3[m3.len() - 2..], ["clean 10.1.0.3", "kubeadm reset -f"]);
    assert!(
        !f.root(3).join("etc/containerd").exists(),
        "mirror config removed"
    );
    assert_eq!(
        std::fs::read_to_string(f.root(3).join("etc/hosts")).unwrap(),
        "127.0.0.1 localhost\n"
    );
    let applied = f.rt.state().load_applied("test-cluster").unwrap().unwrap();
    assert_eq!(
        sealer_runtime::clusterfile::resolve_hosts(&applied.cluster)
            .unwrap()
            .len(),
        2
    );
    assert!(
        f.rt.delete_nodes(None, &[ip(1)], &ApplyOptions::default())
            .await
            .unwrap_err()
            .to_string()
            .contains("master0")
    );

    // Delete everything: every host as before, state forgotten.
    f.rt.delete_all(None, &ApplyOptions::default())
        .await
        .unwrap();
    for (i, b) in before.iter().enumerate().take(2) {
        assert_eq!(&snapshot(&f.root(i + 1)), b, "h{} is as before", i + 1);
    }
    assert!(f.rt.state().load_applied("test-cluster").unwrap().is_none());
}

#[tokio::test]
async fn failure_names_host_and_phase_and_rerun_resumes() {
    let f = Fixture::new(3);
    let cf = f.cf(&[1], &[2, 3], "    user: root\n");
    f.conn
        .update(ip(2), |c| c.fail_on = vec!["scripts/init.sh".into()]);
    let err =
        f.rt.apply(cf.clone(), &ApplyOptions::default())
            .await
            .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("host 10.1.0.2 failed in phase init"),
        "{text}"
    );
    assert!(text.contains("injected failure"), "{text}");
    assert_eq!(err.host_failures().len(), 1);
    assert_eq!(err.host_failures()[0].phase, Phase::Init);
    assert!(markers(&f.cdir(1)).contains(&"init 10.1.0.1 hello".to_string()));
    assert!(
        !markers(&f.cdir(1)).iter().any(|l| l.starts_with("kubeadm")),
        "no later phase ran"
    );
    assert!(f.rt.state().load_applied("test-cluster").unwrap().is_none());

    f.conn.update(ip(2), |c| c.fail_on.clear());
    let first_events = f.reporter.started().len();
    f.rt.apply(cf.clone(), &ApplyOptions::default())
        .await
        .unwrap();
    let rerun: Vec<(String, Phase)> = f.reporter.started()[first_events..].to_vec();
    assert!(
        !rerun.iter().any(|(_, p)| *p == Phase::Distribute),
        "{rerun:?}"
    );
    assert!(rerun.contains(&("10.1.0.2".to_string(), Phase::Init)));
    assert!(
        !rerun.contains(&("10.1.0.1".to_string(), Phase::Init)),
        "{rerun:?}"
    );
    for i in 1..=3 {
        let n = markers(&f.cdir(i))
            .iter()
            .filter(|l| l.starts_with("init "))
            .count();
        assert_eq!(n, 1, "init ran once on h{i}");
    }
    // The failed phase runs again as a whole on the failed host (its pre-init-host hook too).
    let mut want = vec!["pre-init-host".to_string()];
    want.extend(expected_markers("10.1.0.2", false, false));
    assert_eq!(markers(&f.cdir(2)), want);
    assert_eq!(
        markers(&f.cdir(3)),
        expected_markers("10.1.0.3", false, false)
    );
}

#[tokio::test]
async fn refused_before_any_change() {
    let f = Fixture::new(3);
    let before = f.snapshots(3);
    let cf = f.cf(&[1], &[2, 3], "    user: root\n");

    f.conn.update(ip(3), |c| c.unreachable = true);
    let e =
        f.rt.apply(cf.clone(), &ApplyOptions::default())
            .await
            .unwrap_err();
    assert!(
        e.to_string()
            .contains("host 10.1.0.3 failed in phase check"),
        "{e}"
    );
    assert!(e.host_failures()[0].connect);
    assert_eq!(f.snapshots(3), before);
    f.conn.update(ip(3), |c| c.unreachable = false);

    f.conn.update(ip(2), |c| c.password = Some("right".into()));
    let e =
        f.rt.apply(
            f.cf(&[1], &[2, 3], "    user: root\n    passwd: wrong\n"),
            &ApplyOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("authentication as root failed"),
        "{e}"
    );
    assert_eq!(f.snapshots(3), before);
    f.conn.update(ip(2), |c| c.password = None);

    f.conn.update(ip(2), |c| c.arch = Some("aarch64".into()));
    let e =
        f.rt.apply(cf.clone(), &ApplyOptions::default())
            .await
            .unwrap_err();
    assert!(
        e.to_string()
            .contains("aarch64 (arm64) but the image is for"),
        "{e}"
    );
    let mut after = f.snapshots(3);
    after[1].retain(|k, _| !k.starts_with(".fake-bin"));
    assert_eq!(after, before, "nothing but the fake's own uname shim");
}

#[tokio::test]
async fn running_cluster_refuses_other_changes() {
    let f = Fixture::new(2);
    let cf = f.cf(&[1], &[2], "    user: root\n");
    f.rt.apply(cf.clone(), &ApplyOptions::default())
        .await
        .unwrap();
    let mut changed = cf.clone();
    changed.cluster.spec.env.push("NEW=1".into());
    let e =
        f.rt.apply(changed, &ApplyOptions::default())
            .await
            .unwrap_err();
    assert!(e.to_string().contains("changing spec.env"), "{e}");
    f.rt.delete_all(None, &ApplyOptions::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn app_image_goes_to_masters_and_launches_once() {
    let f = Fixture::new(2);
    // `sealer run IMAGE --masters --nodes` of the cluster image, then of the app image.
    let run = |image: &str, masters: &str, nodes: &str| RunArgs {
        image: image.into(),
        cluster_name: Some("test-cluster".into()),
        masters: masters.into(),
        nodes: nodes.into(),
        ..Default::default()
    };
    f.rt.run(
        &run("test:1", "10.1.0.1", "10.1.0.2"),
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    assert!(markers(&f.cdir(2)).contains(&"init 10.1.0.2 image-default".to_string()));
    let e =
        f.rt.run(&run("app:1", "10.1.0.1", ""), &ApplyOptions::default())
            .await
            .unwrap_err();
    assert!(e.to_string().contains("without --masters"), "{e}");
    let e =
        f.rt.run_app(None, "test:1", &AppOptions::default())
            .await
            .unwrap_err();
    assert!(e.to_string().contains("kube-installer"), "{e}");

    let out =
        f.rt.run(&run("app:1", "", ""), &ApplyOptions::default())
            .await
            .unwrap();
    assert!(out.executed);
    let app_dir = |i: usize| f.cdir(i).join("apps").join("000000000000");
    assert!(app_dir(1).join("application/apps/web/deploy.sh").is_file());
    assert!(!app_dir(2).exists(), "nodes do not get app images");
    assert_eq!(
        std::fs::read_to_string(f.cdir(1).join("rootfs/registry/web.txt")).unwrap(),
        "web image data\n",
        "the app's images joined the running registry"
    );
    assert!(f.cdir(1).join("rootfs/registry/hello.txt").is_file());
    for i in 1..=2 {
        assert!(
            f.root(i)
                .join("etc/containerd/certs.d/ghcr.io/hosts.toml")
                .is_file()
        );
        assert!(
            f.root(i)
                .join("etc/containerd/certs.d/docker.io/hosts.toml")
                .is_file()
        );
    }
    let again =
        f.rt.run_app(None, "app:1", &AppOptions::default())
            .await
            .unwrap();
    assert!(!again.executed);
    assert_eq!(
        markers(&f.cdir(1))
            .iter()
            .filter(|l| *l == "web-deployed")
            .count(),
        1
    );
    f.rt.delete_all(None, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(!Path::new(&f.root(1).join("var")).exists());
}
