//! Issue 4 through the binary: the launch runs against the embedded build cluster and every
//! image the workloads need is found (with provenance) and embedded.

mod common;
use common::daemons::*;
use common::*;
use std::path::Path;

const DASHBOARD: &str = "apiVersion: v1
kind: Namespace
metadata: {name: kubernetes-dashboard}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: kubernetes-dashboard, namespace: kubernetes-dashboard}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kubernetes-dashboard}}
  template:
    metadata: {labels: {k8s-app: kubernetes-dashboard}}
    spec:
      containers:
        - name: kubernetes-dashboard
          image: kubernetesui/dashboard:v2.2.0
          args: [--auto-generate-certificates]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dashboard-metrics-scraper, namespace: kubernetes-dashboard}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: dashboard-metrics-scraper}}
  template:
    metadata: {labels: {k8s-app: dashboard-metrics-scraper}}
    spec:
      containers:
        - name: dashboard-metrics-scraper
          image: kubernetesui/metrics-scraper:v1.0.6
";

/// Serve files from `dir` over HTTP on 127.0.0.1 (python's http.server).
fn http_dir(dir: &Path, log: &Path) -> (Daemon, String) {
    let port = free_port();
    let mut cmd = std::process::Command::new("python3");
    cmd.args([
        "-m",
        "http.server",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--directory",
    ])
    .arg(dir);
    let d = Daemon::spawn(cmd, log);
    let addr = format!("127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while http_status(&addr, "/").is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "http server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (d, addr)
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn finding<'a>(report: &'a serde_json::Value, reference: &str) -> Option<&'a serde_json::Value> {
    report["images"]
        .as_array()?
        .iter()
        .find(|i| i["reference"] == reference)
}

#[test]
fn dashboard_example_offline_embeds_exactly_the_observed_images() {
    if !(have("kubectl") && have("docker-registry") && have("wget") && have("python3")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path();
    let served = w.join("served");
    write_files(&served, &[("recommended.yaml", DASHBOARD)]);
    let (_http, http) = http_dir(&served, &w.join("http.log"));
    let (_reg, reg) = docker_registry(&w.join("reg"), false, &w.join("logs"));
    for repo in [
        "kubernetesui/dashboard:v2.2.0",
        "kubernetesui/metrics-scraper:v1.0.6",
        "kubernetesui/unused:v1",
    ] {
        let target = format!("{reg}/{repo}");
        publish(w, &target, &target);
    }

    let root = w.join("store");
    let base = w.join("base");
    write_files(
        &base,
        &[
            ("Kubefile", "FROM scratch\nCOPY kubeadm.yml etc/\n"),
            ("kubeadm.yml", "kind: ClusterConfiguration\n"),
        ],
    );
    sealer(
        &root,
        &["build", "-t", "base/kubernetes:v1", base.to_str().unwrap()],
    )
    .ok();

    let ctx = w.join("dashboard");
    let kubefile = format!(
        "FROM base/kubernetes:v1\nRUN wget -q http://{http}/recommended.yaml\nCMD kubectl apply -f recommended.yaml\n"
    );
    write_files(&ctx, &[("Kubefile", &kubefile)]);
    let endpoint = format!("docker.io=http://{reg}");
    let report_path = w.join("report.json");
    let build = || {
        sealer(
            &root,
            &[
                "build",
                "--progress",
                "plain",
                "--registry-endpoint",
                &endpoint,
                "--report",
                report_path.to_str().unwrap(),
                "-t",
                "dashboard:v2.2.0",
                ctx.to_str().unwrap(),
            ],
        )
        .ok()
    };
    let first = build();
    let doc = inspect(&root, "dashboard:v2.2.0");
    let mut embedded: Vec<&str> = doc["containerImageList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["image"].as_str().unwrap())
        .collect();
    embedded.sort();
    assert_eq!(
        embedded,
        vec![
            "docker.io/kubernetesui/dashboard:v2.2.0",
            "docker.io/kubernetesui/metrics-scraper:v1.0.6"
        ],
        "{}",
        first.stderr
    );
    let r1 = report(&report_path);
    let dash = finding(&r1, "docker.io/kubernetesui/dashboard:v2.2.0").expect("dashboard found");
    assert_eq!(dash["confidence"], "declared");
    assert!(
        dash["provenance"]
            .to_string()
            .contains("Deployment/kubernetes-dashboard/kubernetes-dashboard"),
        "{dash}"
    );
    assert_eq!(
        doc["manifest"]["layers"].as_array().unwrap().len(),
        4,
        "base COPY, RUN, two images"
    );

    // Unchanged rebuild: identical report, the observe step CACHED.
    let second = build();
    let statuses = step_statuses(&second.stderr);
    assert!(
        statuses
            .iter()
            .any(|(n, s)| n.contains("observe") && s == "CACHED"),
        "{statuses:?}"
    );
    assert!(statuses.iter().all(|(_, s)| s == "CACHED"), "{statuses:?}");
    assert_eq!(report(&report_path), r1);
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn indirect_images_shell_pipes_waits_and_failures() {
    if !have("kubectl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path();
    let ctx = w.join("ctx");
    let operator = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: op-config, namespace: default}\ndata:\n  values.yaml: |\n    sidecar:\n      image: quay.io/acme/sidecar:2.1\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: operator, namespace: default}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: op}}\n  template:\n    metadata: {labels: {app: op}}\n    spec:\n      containers:\n        - name: op\n          image: docker.io/acme/operator:1.0\n          args: [\"--some-image=registry.example.com/acme/worker:3.2\"]\n";
    let generator = "#!/bin/bash\nset -e\ncat <<EOF | kubectl apply -f -\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: generated, namespace: default}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: gen}}\n  template:\n    metadata: {labels: {app: gen}}\n    spec:\n      containers:\n        - {name: gen, image: \"docker.io/library/redis:${REDIS_TAG}\"}\nEOF\nkubectl wait --for=condition=Available deployment/generated --timeout=20s\n";
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nAPP operator local://operator.yaml\nAPP gen local://gen.sh\nAPPENV gen REDIS_TAG=7.2\nLAUNCH [\"operator\"]\n",
            ),
            ("operator.yaml", operator),
            ("gen.sh", generator),
        ],
    );
    let root = w.join("store");
    let report_path = w.join("report.json");
    let run = sealer(
        &root,
        &[
            "build",
            "--build-mode",
            "lite",
            "--progress",
            "plain",
            "--report",
            report_path.to_str().unwrap(),
            "-t",
            "ind:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    let r = report(&report_path);
    assert_eq!(
        finding(&r, "docker.io/acme/operator:1.0").unwrap()["confidence"],
        "declared",
        "{}",
        run.stderr
    );
    assert_eq!(
        finding(&r, "quay.io/acme/sidecar:2.1").expect("ConfigMap-embedded image")["confidence"],
        "indirect"
    );
    assert_eq!(
        finding(&r, "registry.example.com/acme/worker:3.2").expect("operator argument image")["confidence"],
        "indirect"
    );
    // The unlaunched shell app ran in its own pass: APPENV reached it, the pipe and the wait worked.
    let redis = finding(&r, "docker.io/library/redis:7.2").expect("shell-generated image");
    assert!(
        redis["provenance"].to_string().contains("\"app\":\"gen\""),
        "{redis}"
    );
    let listed = inspect(&root, "ind:v1")["containerImageList"].to_string();
    assert!(
        listed.contains("registry.example.com/acme/worker:3.2"),
        "indirect images are embedded by default: {listed}"
    );

    // --no-indirect-images leaves them out.
    let run2 = sealer(
        &root,
        &[
            "build",
            "--build-mode",
            "lite",
            "--no-indirect-images",
            "-t",
            "ind:v2",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    let listed2 = inspect(&root, "ind:v2")["containerImageList"].to_string();
    assert!(
        !listed2.contains("worker:3.2") && listed2.contains("operator:1.0"),
        "{listed2}\n{}",
        run2.stderr
    );

    // An image seen in the cluster that no registry has fails the build, naming it.
    let fail = sealer(
        &root,
        &[
            "build",
            "--progress",
            "plain",
            "-t",
            "ind:v3",
            ctx.to_str().unwrap(),
        ],
    );
    assert!(!fail.status.success());
    assert!(
        fail.stderr.contains("docker.io/acme/operator:1.0")
            || fail.stderr.contains("quay.io/acme/sidecar:2.1"),
        "{}",
        fail.stderr
    );

    // Invalid objects: kubectl's own message, and the app is named.
    let bad = w.join("bad");
    write_files(
        &bad,
        &[
            (
                "Kubefile",
                "FROM scratch\nAPP broken local://w.yaml\nLAUNCH [\"broken\"]\n",
            ),
            (
                "w.yaml",
                "apiVersion: acme.io/v1\nkind: Widget\nmetadata: {name: w}\n",
            ),
        ],
    );
    let failed = sealer(
        &root,
        &[
            "build",
            "--build-mode",
            "lite",
            "-t",
            "bad:v1",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!failed.status.success());
    assert!(failed.stderr.contains("broken"), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("Widget")
            && failed.stderr.contains("ensure CRDs are installed first"),
        "{}",
        failed.stderr
    );
    let missing_ns = w.join("ns");
    write_files(
        &missing_ns,
        &[
            (
                "Kubefile",
                "FROM scratch\nAPP cm local://cm.yaml\nLAUNCH [\"cm\"]\n",
            ),
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: nowhere}\n",
            ),
        ],
    );
    let failed = sealer(
        &root,
        &[
            "build",
            "--build-mode",
            "lite",
            "-t",
            "ns:v1",
            missing_ns.to_str().unwrap(),
        ],
    );
    assert!(
        failed.stderr.contains("namespaces \"nowhere\" not found"),
        "{}",
        failed.stderr
    );
}

#[test]
fn helm_chart_with_subchart_and_values_switch() {
    if !(have("kubectl") && have("helm")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nAPP web local://web\nLAUNCH [\"web\"]\n",
            ),
            (
                "web/Chart.yaml",
                "apiVersion: v2\nname: web\nversion: 0.1.0\n",
            ),
            ("web/values.yaml", "metrics:\n  enabled: true\n"),
            (
                "web/templates/deploy.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n        - {name: web, image: docker.io/library/nginx:1.25}\n{{- if .Values.metrics.enabled }}\n        - {name: metrics, image: quay.io/prometheus/nginx-exporter:0.11}\n{{- end }}\n",
            ),
            (
                "web/charts/cache/Chart.yaml",
                "apiVersion: v2\nname: cache\nversion: 0.1.0\n",
            ),
            ("web/charts/cache/values.yaml", "{}\n"),
            (
                "web/charts/cache/templates/sts.yaml",
                "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: cache}\nspec:\n  serviceName: cache\n  selector: {matchLabels: {app: cache}}\n  template:\n    metadata: {labels: {app: cache}}\n    spec:\n      containers:\n        - {name: cache, image: docker.io/library/memcached:1.6}\n",
            ),
        ],
    );
    let root = tmp.path().join("store");
    let report_path = tmp.path().join("r.json");
    let run = sealer(
        &root,
        &[
            "build",
            "--build-mode",
            "lite",
            "--report",
            report_path.to_str().unwrap(),
            "-t",
            "helm:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    let r = report(&report_path);
    for image in [
        "docker.io/library/nginx:1.25",
        "quay.io/prometheus/nginx-exporter:0.11",
        "docker.io/library/memcached:1.6",
    ] {
        assert_eq!(
            finding(&r, image).unwrap_or_else(|| panic!("{image}: {}", run.stderr))["confidence"],
            "declared"
        );
    }
}
