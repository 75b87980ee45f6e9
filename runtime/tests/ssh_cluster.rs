//! The runtime over real SSH: network-namespace hosts running Debian's sshd (root only; skipped
//! with a message when root, sshd, ip or busybox is missing).

mod common;

use common::netns::{Net, unavailable};
use common::*;
use sealer_runtime::ssh::{SshConnector, SshOptions};
use sealer_runtime::{
    AppOptions, ApplyOptions, Clusterfile, DirImageProvider, Phase, RecordingReporter,
    RegistryCommand, Runtime, RuntimeOptions, StateStore,
};
use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

macro_rules! skip_unless_ready {
    () => {
        if let Some(why) = unavailable() {
            eprintln!("SKIP: network-namespace SSH tests need root, sshd, ip and busybox: {why}");
            return;
        }
    };
}

fn runtime(
    net: &Net,
    known_hosts: &Path,
    accept_new: bool,
) -> (Arc<Runtime>, Arc<RecordingReporter>) {
    let s = net.scratch.path();
    let images = Arc::new(DirImageProvider::new());
    images.insert(test_image(&s.join("img"), "test:1"));
    images.insert(app_image(&s.join("img"), "app:1"));
    let reporter = Arc::new(RecordingReporter::default());
    let opts = RuntimeOptions {
        registry: RegistryCommand {
            binary: Some(fake_registry(s, true)),
            args: ["--root", "{root}", "--addr", "0.0.0.0:{port}"]
                .map(String::from)
                .to_vec(),
            ready_timeout: Some(Duration::from_secs(10)),
        },
        command_timeout: Duration::from_secs(60),
        ..Default::default()
    };
    let conn = SshConnector::new(SshOptions {
        known_hosts: known_hosts.to_path_buf(),
        accept_new_host_keys: accept_new,
        connect_timeout: Duration::from_secs(5),
        keepalive: Duration::from_secs(5),
        default_keys: Vec::new(),
    });
    let rt = Runtime::new(
        Arc::new(conn),
        images,
        StateStore::new(s.join("state")),
        opts,
        reporter.clone(),
    );
    (Arc::new(rt), reporter)
}

fn key_ssh(net: &Net) -> String {
    format!("    user: root\n    pk: {}\n", net.client_key().display())
}

fn cf(masters: &[String], nodes: &[String], ssh: &str) -> Clusterfile {
    Clusterfile::parse(&clusterfile("test:1", masters, nodes, ssh)).unwrap()
}

/// What a host has under the directories sealer may touch.
fn host_state(net: &Net, i: usize) -> Vec<std::collections::BTreeMap<String, String>> {
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

fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_rerun_join_delete_over_ssh() {
    skip_unless_ready!();
    let net = Net::new(41, 4);
    let ips = net.ips();
    let before: Vec<_> = (0..4).map(|i| host_state(&net, i)).collect();
    let (rt, _) = runtime(&net, &net.known_hosts(), false);
    let desired = cf(&ips[..1], &ips[1..3], &key_ssh(&net));

    rt.apply(desired.clone(), &ApplyOptions::default())
        .await
        .unwrap();
    let cd = |i: usize| net.hosts[i].cluster_dir("test-cluster");
    for i in 0..3 {
        assert!(
            cd(i).join("rootfs/bin/kubeadm").is_file(),
            "rootfs on host {i}"
        );
        assert!(cd(i).join("rootfs/registry/hello.txt").is_file());
        let toml = std::fs::read_to_string(
            net.hosts[i]
                .etc_containerd()
                .join("certs.d/docker.io/hosts.toml"),
        )
        .unwrap();
        assert!(
            toml.contains(&format!("[host.\"http://{}:5000\"]", ips[0])),
            "{toml}"
        );
        let hosts = std::fs::read_to_string(net.hosts[i].etc_hosts()).unwrap();
        assert!(
            hosts.contains(&format!("{} sea.hub # sealer:test-cluster", ips[0])),
            "{hosts}"
        );
    }
    assert_eq!(markers(&cd(1)), expected_markers(&ips[1], false, false));
    assert_eq!(markers(&cd(2)), expected_markers(&ips[2], false, false));
    let m0: Vec<String> = markers(&cd(0))
        .into_iter()
        .filter(|l| !l.starts_with("kubeadm token"))
        .collect();
    let mut want = expected_markers(&ips[0], true, true);
    want.extend(["app1".to_string(), "app2 from-image".to_string()]);
    assert_eq!(m0, want, "phase order and apps launched once on master0");
    // The embedded registry runs on master0 only and serves the rootfs registry/ tree.
    assert_eq!(net.ns_procs(0, "busybox httpd").len(), 1);
    assert!(net.ns_procs(1, "busybox httpd").is_empty());
    let page = http_get(&format!("{}:5000", ips[0]), "/hello.txt");
    assert!(page.contains("served by the embedded registry"), "{page}");
    // State: locally and on master0.
    assert_eq!(
        rt.state().load_applied("test-cluster").unwrap(),
        Some(desired.clone())
    );
    let on_m0 = std::fs::read_to_string(cd(0).join("Clusterfile")).unwrap();
    assert_eq!(Clusterfile::parse(&on_m0).unwrap(), desired);

    // Applying the saved Clusterfile again changes nothing.
    let settled: Vec<_> = (0..3).map(|i| host_state(&net, i)).collect();
    let again = rt
        .apply(desired.clone(), &ApplyOptions::default())
        .await
        .unwrap();
    assert!(!again.executed && again.plan.is_empty());
    assert_eq!(
        (0..3).map(|i| host_state(&net, i)).collect::<Vec<_>>(),
        settled
    );

    // Join a fourth host, then remove it with pruning: it is as before.
    rt.join(None, &[], &[ip(&ips[3])], &ApplyOptions::default())
        .await
        .unwrap();
    assert!(cd(3).join("rootfs/bin/kubeadm").is_file());
    assert_eq!(markers(&cd(3))[1], format!("init {} hello", ips[3]));
    rt.delete_nodes(
        None,
        &[ip(&ips[3])],
        &ApplyOptions {
            prune: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(host_state(&net, 3), before[3]);

    // exec on a role.
    let outs = rt
        .exec(None, &["node".into()], "cat /etc/hosts")
        .await
        .unwrap();
    assert_eq!(outs.len(), 2);
    assert!(
        outs.iter()
            .all(|(_, o)| o.success() && o.stdout_text().contains("sea.hub"))
    );

    // An app image: to masters only, its images served by the running registry, launched once.
    rt.run_app(None, "app:1", &AppOptions::default())
        .await
        .unwrap();
    assert!(
        cd(0)
            .join("apps/000000000000/application/apps/web/deploy.sh")
            .is_file()
    );
    assert!(!cd(1).join("apps").exists(), "nodes do not get app images");
    let page = http_get(&format!("{}:5000", ips[0]), "/web.txt");
    assert!(page.contains("web image data"), "{page}");
    assert!(markers(&cd(0)).contains(&"web-deployed".to_string()));
    assert!(
        net.hosts[1]
            .etc_containerd()
            .join("certs.d/ghcr.io/hosts.toml")
            .is_file()
    );

    // Delete everything: hosts as before, registry stopped.
    rt.delete_all(None, &ApplyOptions::default()).await.unwrap();
    for (i, b) in before.iter().enumerate().take(3) {
        assert_eq!(&host_state(&net, i), b, "host {i} as before");
    }
    assert!(
        net.ns_procs(0, "busybox httpd").is_empty(),
        "registry stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sshd_killed_mid_run_then_rerun_resumes() {
    skip_unless_ready!();
    let mut net = Net::new(42, 3);
    let ips = net.ips();
    let (rt, reporter) = runtime(&net, &net.known_hosts(), false);
    let trigger = net.scratch.path().join("trigger");
    let reached = net.scratch.path().join("reached");
    std::fs::write(&trigger, "").unwrap();
    let mut text = clusterfile("test:1", &ips[..1], &ips[1..], &key_ssh(&net));
    text.push_str(&format!(
        "---\napiVersion: sealer.io/v1\nkind: Plugin\nmetadata:\n  name: stall\nspec:\n  type: SHELL\n  action: pre-install\n  data: if [ \"$SEALER_HOST_IP\" = {victim} ] && [ -f {t} ]; then rm {t}; touch {r}; sleep 60; fi\n",
        victim = ips[2],
        t = trigger.display(),
        r = reached.display()
    ));
    let desired = Clusterfile::parse(&text).unwrap();
    let task = {
        let (rt, d) = (rt.clone(), desired.clone());
        tokio::spawn(async move { rt.apply(d, &ApplyOptions::default()).await })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !reached.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never reached the kube phase"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    net.kill_sshd(2);
    let err = task.await.unwrap().unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("host {} failed in phase kube", ips[2])),
        "{text}"
    );
    assert!(text.contains("connection lost"), "{text}");
    assert_eq!(err.host_failures().len(), 1, "{text}");

    net.start_sshd(2);
    let seen = reporter.started().len();
    rt.apply(desired.clone(), &ApplyOptions::default())
        .await
        .unwrap();
    let rerun = reporter.started()[seen..].to_vec();
    for (host, phase) in &rerun {
        assert!(
            !matches!(phase, Phase::Distribute | Phase::Registry | Phase::Init),
            "{host} redid {phase}: {rerun:?}"
        );
        if *phase == Phase::Kube {
            assert_eq!(host, &ips[2], "only the killed host redoes kube");
        }
    }
    let cd = |i: usize| net.hosts[i].cluster_dir("test-cluster");
    assert_eq!(markers(&cd(1)), expected_markers(&ips[1], false, false));
    let m2 = markers(&cd(2));
    assert_eq!(
        m2.iter().filter(|l| l.starts_with("init ")).count(),
        1,
        "{m2:?}"
    );
    assert_eq!(m2.last().unwrap(), "post-install");
    assert!(m2.iter().any(|l| l.starts_with("kubeadm join")));
    rt.delete_all(None, &ApplyOptions::default()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_keys_and_hosts_change_nothing() {
    skip_unless_ready!();
    let net = Net::new(43, 2);
    let ips = net.ips();
    let before: Vec<_> = (0..2).map(|i| host_state(&net, i)).collect();
    let unchanged = |what: &str| {
        for (i, b) in before.iter().enumerate() {
            assert_eq!(&host_state(&net, i), b, "host {i} changed after {what}");
        }
    };

    let (rt, _) = runtime(&net, &net.known_hosts(), false);
    let e = rt
        .apply(
            cf(
                &ips[..1],
                &ips[1..],
                "    user: root\n    passwd: wrong-password\n",
            ),
            &ApplyOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("authentication as root failed (tried password)"),
        "{e}"
    );
    assert!(
        e.host_failures()
            .iter()
            .all(|f| f.phase == Phase::Check && f.connect)
    );
    unchanged("a wrong password");

    let empty = net.scratch.path().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let (strict, _) = runtime(&net, &empty, false);
    let e = strict
        .apply(
            cf(&ips[..1], &ips[1..], &key_ssh(&net)),
            &ApplyOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("unknown host key SHA256:"), "{e}");
    assert!(e.to_string().contains("accept-new-host-keys"), "{e}");
    unchanged("unknown host keys");

    let other_key = net.scratch.path().join("client.pub");
    let parts: Vec<String> = std::fs::read_to_string(&other_key)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let wrong = net.scratch.path().join("wrong_known_hosts");
    std::fs::write(&wrong, format!("{} {} {}\n", ips[0], parts[0], parts[1])).unwrap();
    let (changed, _) = runtime(&net, &wrong, true);
    let e = changed
        .apply(
            cf(&ips[..1], &[], &key_ssh(&net)),
            &ApplyOptions {
                dry_run: false,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("host key changed"), "{e}");
    unchanged("a changed host key (even with first-use pinning on)");

    let (rt, _) = runtime(&net, &net.known_hosts(), false);
    let missing = format!("10.213.{}.99", net.x);
    let e = rt
        .apply(
            cf(
                &ips[..1],
                &[ips[1].clone(), missing.clone()],
                &key_ssh(&net),
            ),
            &ApplyOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("host {missing} failed in phase check")),
        "{e}"
    );
    assert_eq!(e.host_failures().len(), 1, "{e}");
    unchanged("an unreachable host");

    let malformed =
        clusterfile("test:1", &ips[..1], &[], &key_ssh(&net)).replace("hosts:", "hostz:");
    let e = Clusterfile::parse(&malformed).unwrap_err();
    assert!(e.to_string().contains("hostz"), "{e}");

    // First-use pinning, when asked for, records the keys and works.
    let pinned = net.scratch.path().join("pinned_known_hosts");
    let (tofu, _) = runtime(&net, &pinned, true);
    tofu.apply(cf(&ips[..1], &[], &key_ssh(&net)), &ApplyOptions::default())
        .await
        .unwrap();
    assert!(std::fs::read_to_string(&pinned).unwrap().contains(&ips[0]));
    tofu.delete_all(None, &ApplyOptions::default())
        .await
        .unwrap();
    unchanged("install + delete --all");
}
