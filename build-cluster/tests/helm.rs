//! helm v4 against the embedded API server.

mod common;

use common::*;
use sealer_build_cluster::cluster::Cluster;
use sealer_build_cluster::discover::{Confidence, scan_object};
use std::path::Path;
use std::time::Instant;

/// A chart with a subchart; `metrics.enabled` switches a second container on.
pub fn write_chart(dir: &Path) {
    write(
        &dir.join("Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 0.1.0\ndependencies:\n- name: cache\n  version: 0.1.0\n",
    );
    write(
        &dir.join("values.yaml"),
        "image: {repository: nginx, tag: \"1.25\"}\nmetrics: {enabled: false, image: \"quay.io/prometheus/node-exporter:v1.8.0\"}\ncache: {image: \"redis:7.2\"}\n",
    );
    write(
        &dir.join("templates/deploy.yaml"),
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}-web}
spec:
  selector: {matchLabels: {app: {{ .Release.Name }}-web}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}-web}}
    spec:
      containers:
      - name: web
        image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
      {{- if .Values.metrics.enabled }}
      - name: metrics
        image: {{ .Values.metrics.image }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata: {name: {{ .Release.Name }}-web}
spec:
  selector: {app: {{ .Release.Name }}-web}
  ports: [{port: 80}]
"#,
    );
    write(
        &dir.join("charts/cache/Chart.yaml"),
        "apiVersion: v2\nname: cache\nversion: 0.1.0\n",
    );
    write(
        &dir.join("charts/cache/values.yaml"),
        "image: \"redis:6\"\n",
    );
    write(
        &dir.join("charts/cache/templates/sts.yaml"),
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {name: {{ .Release.Name }}-cache}
spec:
  serviceName: cache
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      containers: [{name: redis, image: {{ .Values.image | quote }}}]
"#,
    );
}

fn images(objs: &[serde_json::Value]) -> Vec<String> {
    let mut v: Vec<String> = objs
        .iter()
        .flat_map(|o| scan_object(o, Confidence::Declared))
        .filter(|h| h.via == Confidence::Declared)
        .map(|h| h.text)
        .collect();
    v.sort();
    v.dedup();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_wait_upgrade_uninstall() {
    let Some(h) = helm() else { return };
    let (dir, c) = cluster().await;
    let d = dir.path();
    write_chart(&d.join("demo"));

    let t = Instant::now();
    let out = ok(
        &c,
        d,
        &h,
        &[
            "install",
            "demo",
            "./demo",
            "--wait",
            "--timeout",
            "60s",
            "--set",
            "metrics.enabled=true",
        ],
        None,
    );
    assert!(out.contains("STATUS: deployed"), "{out}");
    // `--wait --timeout 60s` fails the install if workloads never report ready; how fast
    // they do is measured by `sealer-bench cluster`, not asserted here.
    eprintln!("helm install --wait took {:?}", t.elapsed());
    let objs = c.objects().await.unwrap();
    assert_eq!(
        images(&objs),
        [
            "nginx:1.25",
            "quay.io/prometheus/node-exporter:v1.8.0",
            "redis:7.2"
        ]
    );
    let release = object(&objs, "Secret", "sh.helm.release.v1.demo.v1").unwrap();
    assert_eq!(release["metadata"]["labels"]["owner"], "helm");
    assert!(ok(&c, d, &h, &["list"], None).contains("deployed"));

    // Upgrading with the values switched back off removes the metrics container again.
    ok(
        &c,
        d,
        &h,
        &[
            "upgrade",
            "demo",
            "./demo",
            "--wait",
            "--timeout",
            "60s",
            "--set",
            "metrics.enabled=false",
        ],
        None,
    );
    let objs = c.objects().await.unwrap();
    assert_eq!(images(&objs), ["nginx:1.25", "redis:7.2"]);
    assert!(object(&objs, "Secret", "sh.helm.release.v1.demo.v2").is_some());
    let hist = ok(&c, d, &h, &["history", "demo"], None);
    assert!(
        hist.contains("superseded") && hist.contains("deployed"),
        "{hist}"
    );

    ok(
        &c,
        d,
        &h,
        &["uninstall", "demo", "--wait", "--timeout", "60s"],
        None,
    );
    let objs = c.objects().await.unwrap();
    assert!(
        !objs
            .iter()
            .any(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet"),
        "{objs:?}"
    );
    let tpl = ok(
        &c,
        d,
        &h,
        &["template", "x", "./demo", "--set", "metrics.enabled=true"],
        None,
    );
    assert!(tpl.contains("quay.io/prometheus/node-exporter:v1.8.0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_into_a_new_namespace_with_hooks() {
    let Some(h) = helm() else { return };
    let (dir, c) = cluster().await;
    let d = dir.path();
    write_chart(&d.join("demo"));
    write(
        &d.join("demo/templates/hook.yaml"),
        r#"apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations: {"helm.sh/hook": pre-install, "helm.sh/hook-delete-policy": before-hook-creation}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: "ghcr.io/acme/migrate:3"}]
"#,
    );
    ok(
        &c,
        d,
        &h,
        &[
            "install",
            "demo",
            "./demo",
            "-n",
            "apps",
            "--create-namespace",
            "--wait",
            "--timeout",
            "60s",
        ],
        None,
    );
    let objs = c.objects().await.unwrap();
    assert!(object(&objs, "Namespace", "apps").is_some());
    assert_eq!(
        object(&objs, "Job", "demo-migrate").unwrap()["metadata"]["namespace"],
        "apps"
    );
}
