//! The runtime stage through the `sealer` binary: `sealer build` a test cluster image, then
//! `run` / `apply` / `join` / `exec` / `delete` it against network-namespace hosts running
//! Debian's sshd. Needs root, sshd, ip and busybox; skipped with a printed reason otherwise.

mod common;
#[path = "common/runtime_fixture.rs"]
mod fixture;
#[path = "common/runtime_world.rs"]
mod world;

use common::netns::unavailable;
use fixture::*;
use world::*;

macro_rules! skip_unless_ready {
    () => {
        if let Some(why) = unavailable() {
            eprintln!("SKIP: runtime e2e tests need root, sshd, ip and busybox: {why}");
            return;
        }
    };
}

#[test]
fn run_apply_join_exec_delete_through_the_cli() {
    skip_unless_ready!();
    let w = World::new(51, 4);
    let embedded = build_cluster_image(&w.root, w.net.scratch.path(), IMAGE);
    build_app_image(&w.root, w.net.scratch.path(), "e2e/app:v1");
    let before = w.states(4);
    let (m, nodes) = (w.ip(0), format!("{},{}", w.ip(1), w.ip(2)));

    // --dry-run: the plan (hosts × phases) on stdout, nothing else happens.
    let mut dry = w.run_args(&m, &nodes);
    dry.extend(["--dry-run".into(), "--accept-new-host-keys".into()]);
    let plan = w.sealer(&refs(&dry)).ok().stdout;
    assert!(
        plan.contains(&format!("Plan for cluster {CLUSTER}")),
        "{plan}"
    );
    for i in 0..3 {
        assert!(plan.contains(&w.ip(i)), "{plan}");
    }
    assert!(
        plan.contains("distribute") && plan.contains("kube"),
        "{plan}"
    );
    assert_eq!(w.states(4), before, "a dry run changes no host");
    assert!(!w.root.join("clusters").join(CLUSTER).exists());

    // run: 1 master + 2 nodes, host keys pinned on first use because we asked for it.
    let mut args = w.run_args(&m, &nodes);
    args.push("--accept-new-host-keys".into());
    let run = w.sealer(&refs(&args)).ok();
    assert!(run.stdout.is_empty(), "stdout is for data: {}", run.stdout);
    let plan_at = run.stderr.find("Plan for cluster").expect("plan on stderr");
    let first_step = run.stderr.find(": started").expect("progress on stderr");
    assert!(
        plan_at < first_step,
        "the plan comes before acting:\n{}",
        run.stderr
    );
    let kubeadm =
        std::fs::read_to_string(w.net.scratch.path().join("cluster-ctx/bin/kubeadm")).unwrap();
    for i in 0..3 {
        let rootfs = w.cluster_dir(i).join("rootfs");
        assert_eq!(
            std::fs::read_to_string(rootfs.join("bin/kubeadm")).unwrap(),
            kubeadm,
            "rootfs on host {i}"
        );
        assert!(rootfs.join("registry/docker/registry/v2/blobs").is_dir());
        assert_eq!(
            std::fs::read_to_string(rootfs.join("etc/kubeadm.yml")).unwrap(),
            format!("advertiseAddress: {}\ngreeting: hello\n", w.ip(i)),
            "template rendered with the host's env"
        );
    }
    assert_eq!(own_markers(&w.cluster_dir(0)), expected_markers(&m, true));
    for i in 1..3 {
        assert_eq!(
            markers(&w.cluster_dir(i)),
            expected_markers(&w.ip(i), false)
        );
    }
    let pinned = std::fs::read_to_string(&w.known_hosts).unwrap();
    assert!((0..3).all(|i| pinned.contains(&w.ip(i))), "{pinned}");
    check_registry(&w, &embedded);
    let hosts_file = std::fs::read_to_string(w.net.hosts[2].etc_hosts()).unwrap();
    assert!(hosts_file.contains(&format!("{m} sea.hub")), "{hosts_file}");
    // The applied Clusterfile is kept locally and on master0, identically.
    let saved = w.root.join("clusters").join(CLUSTER).join("Clusterfile");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert_eq!(
        std::fs::read_to_string(w.cluster_dir(0).join("Clusterfile")).unwrap(),
        text
    );
    assert!(
        text.contains(IMAGE) && text.contains("GREETING=hello"),
        "{text}"
    );

    // apply of the saved Clusterfile changes nothing, and says so.
    let settled = w.states(3);
    let dry = w
        .sealer(&["apply", "-f", saved.to_str().unwrap(), "--dry-run"])
        .ok();
    assert!(dry.stdout.contains("nothing to do"), "{}", dry.stdout);
    let again = w.sealer(&["apply", "-f", saved.to_str().unwrap()]).ok();
    assert!(!again.stderr.contains(": started"), "{}", again.stderr);
    assert!(again.stderr.contains("nothing to do"), "{}", again.stderr);
    assert_eq!(w.states(3), settled, "a second apply touches no host");

    // join: a new host key is refused unless pinning is asked for; nothing changes then.
    let e = failed(&w.sealer(&["join", "--nodes", &w.ip(3)]));
    assert!(
        e.contains(&format!("host {} failed in phase check", w.ip(3))),
        "{e}"
    );
    assert!(
        e.contains("unknown host key") && e.contains("nothing was changed"),
        "{e}"
    );
    assert_eq!(host_state(&w.net, 3), before[3]);
    w.sealer(&["join", "--nodes", &w.ip(3), "--accept-new-host-keys"])
        .ok();
    // A joined host runs scale-up hooks, not the post-install plugin of the first install.
    let mut want = expected_markers(&w.ip(3), false);
    want.retain(|l| l != "rootfs-post-install");
    assert_eq!(markers(&w.cluster_dir(3)), want);

    // exec on a role: each node's output under its own header.
    let out = w
        .sealer(&["exec", "--roles", "node", "cat /etc/hosts"])
        .ok();
    for i in 1..4 {
        assert!(
            out.stdout.contains(&format!("==> {} <==", w.ip(i))),
            "{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains(&format!("==> {m} <==")));
    assert_eq!(out.stdout.matches(" sea.hub").count(), 3, "{}", out.stdout);
    let e = failed(&w.sealer(&["exec", "--roles", "master", "exit 3"]));
    assert!(e.contains(&m) && e.contains("exit code 3"), "{e}");

    // delete --nodes with --prune: clean script ran, host 4 is as before.
    w.sealer(&["delete", "--nodes", &w.ip(3), "--prune"]).ok();
    assert!(lines(&w.log).contains(&format!("clean {}", w.ip(3))));
    assert_eq!(
        host_state(&w.net, 3),
        before[3],
        "a pruned node is as before"
    );
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(!text.contains(&w.ip(3)), "{text}");

    // An app-installer image goes onto the running cluster: masters only, launched once.
    let app = w.sealer(&["run", "e2e/app:v1"]).ok();
    assert!(app.stderr.contains("install app image"), "{}", app.stderr);
    assert_eq!(
        lines(&w.log)
            .iter()
            .filter(|l| l.starts_with("web-deployed"))
            .count(),
        1
    );
    assert!(lines(&w.log).contains(&format!("web-deployed {m}")));
    let apps = w.cluster_dir(0).join("apps");
    assert!(apps.is_dir(), "app rootfs on master0");
    assert!(
        !w.cluster_dir(1).join("apps").exists(),
        "nodes get no app rootfs"
    );
    w.sealer(&["run", "e2e/app:v1"]).ok();
    assert_eq!(
        lines(&w.log)
            .iter()
            .filter(|l| l.starts_with("web-deployed"))
            .count(),
        1,
        "an installed app image is not launched again"
    );

    // delete --all: every host as before the run, the registry stopped, the state gone.
    w.sealer(&["delete", "--all"]).ok();
    assert_eq!(w.states(4), before, "hosts as before the run");
    assert!(
        w.net.ns_procs(0, registry_needle(&w)).is_empty(),
        "registry stopped"
    );
    assert!(!w.root.join("clusters").join(CLUSTER).exists());
    let e = failed(&w.sealer(&["exec", "true"]));
    assert!(e.contains("no cluster is installed"), "{e}");
}

#[test]
fn bad_input_gives_clear_errors_and_changes_nothing() {
    skip_unless_ready!();
    let w = World::new(52, 2);
    build_cluster_image(&w.root, w.net.scratch.path(), IMAGE);
    let before = w.states(2);
    std::fs::copy(w.net.known_hosts(), &w.known_hosts).unwrap();
    let unchanged = |what: &str| assert_eq!(w.states(2), before, "a host changed after {what}");

    // A malformed Clusterfile names the file and the field.
    let bad = w.net.scratch.path().join("Clusterfile");
    std::fs::write(
        &bad,
        format!(
            "apiVersion: sealer.io/v2\nkind: Cluster\nmetadata:\n  name: {CLUSTER}\nspec:\n  image: {IMAGE}\n  hostz:\n    - ips: [{}]\n      roles: [master]\n",
            w.ip(0)
        ),
    )
    .unwrap();
    let e = failed(&w.sealer(&["apply", "-f", bad.to_str().unwrap()]));
    assert!(
        e.contains(bad.to_str().unwrap()) && e.contains("hostz"),
        "{e}"
    );
    unchanged("a malformed Clusterfile");

    // An unreachable host fails the check phase by name; nothing happens anywhere.
    let missing = format!("10.213.{}.99", w.net.x);
    let e = failed(&w.sealer(&refs(
        &w.run_args(&w.ip(0), &format!("{},{missing}", w.ip(1))),
    )));
    assert!(
        e.contains(&format!("host {missing} failed in phase check")),
        "{e}"
    );
    assert!(e.contains("nothing was changed on any host"), "{e}");
    unchanged("an unreachable host");

    // A wrong password.
    let mut args = w.run_args(&w.ip(0), "");
    let pk = args.iter().position(|a| a == "--pk").unwrap();
    args.splice(pk..pk + 2, ["-p".to_string(), "wrong-password".to_string()]);
    let e = failed(&w.sealer(&refs(&args)));
    assert!(e.contains("authentication as root failed"), "{e}");
    unchanged("a wrong password");

    // An unknown host key without --accept-new-host-keys.
    std::fs::write(&w.known_hosts, "").unwrap();
    let e = failed(&w.sealer(&refs(&w.run_args(&w.ip(0), &w.ip(1)))));
    assert!(e.contains("unknown host key SHA256:"), "{e}");
    assert!(e.contains("accept-new-host-keys"), "{e}");
    unchanged("unknown host keys");

    // Bad flags and unknown images are refused before any host is contacted.
    let e = failed(&w.sealer(&["run", IMAGE, "--masters", "10.0.0.9-10.0.0.1"]));
    assert!(e.contains("start is after the end"), "{e}");
    let e = failed(&w.sealer(&["run", "e2e/nothere:v1", "--masters", &w.ip(0)]));
    assert!(
        e.contains("e2e/nothere:v1") && e.contains("not found"),
        "{e}"
    );
    let e = failed(&w.sealer(&["delete", "--nodes", &w.ip(1)]));
    assert!(e.contains("no cluster is installed"), "{e}");
    unchanged("refused commands");
}

#[test]
fn a_failing_step_names_host_phase_and_stderr_then_apply_resumes() {
    skip_unless_ready!();
    let w = World::new(53, 2);
    build_cluster_image(&w.root, w.net.scratch.path(), IMAGE);
    let before = w.states(2);
    std::fs::copy(w.net.known_hosts(), &w.known_hosts).unwrap();
    let flag = w.net.scratch.path().join("fail-once");
    std::fs::write(&flag, "").unwrap();
    let cf = w.net.scratch.path().join("Clusterfile");
    std::fs::write(
        &cf,
        format!(
            "apiVersion: sealer.io/v2\nkind: Cluster\nmetadata:\n  name: {CLUSTER}\nspec:\n  image: {IMAGE}\n  env: [GREETING=hello, E2E_LOG={log}]\n  ssh:\n    user: root\n    pk: {key}\n  hosts:\n    - ips: [{m}]\n      roles: [master]\n    - ips: [{n}]\n      roles: [node]\n---\napiVersion: sealer.io/v1\nkind: Plugin\nmetadata:\n  name: fail-once\nspec:\n  type: SHELL\n  action: post-init-host\n  scope: node\n  data: if [ -f {flag} ]; then echo \"boom on $SEALER_HOST_IP\" >&2; exit 7; fi\n",
            log = w.log.display(),
            key = w.net.client_key().display(),
            m = w.ip(0),
            n = w.ip(1),
            flag = flag.display(),
        ),
    )
    .unwrap();
    let e = failed(&w.sealer(&["apply", "-f", cf.to_str().unwrap()]));
    assert!(
        e.contains(&format!("host {} failed in phase init", w.ip(1))),
        "{e}"
    );
    assert!(
        e.contains(&format!("boom on {}", w.ip(1))),
        "stderr tail: {e}"
    );
    assert!(e.contains("rerun the same command"), "{e}");
    assert!(
        !e.contains(&format!("host {} failed", w.ip(0))),
        "only the failing host is named: {e}"
    );

    // Fixed: the same Clusterfile again finishes without redoing master0's finished phases.
    std::fs::remove_file(&flag).unwrap();
    let rerun = w.sealer(&["apply", "-f", cf.to_str().unwrap()]).ok();
    let m = w.ip(0);
    for phase in ["distribute", "registry", "init"] {
        assert!(
            !rerun.stderr.contains(&format!("[{m}] {phase}: started")),
            "master0 redid {phase}:\n{}",
            rerun.stderr
        );
    }
    assert_eq!(own_markers(&w.cluster_dir(0)), expected_markers(&m, true));
    assert!(markers(&w.cluster_dir(1)).contains(&"rootfs-post-install".to_string()));
    w.sealer(&["delete", "--all"]).ok();
    assert_eq!(w.states(2), before, "hosts as before");
}
