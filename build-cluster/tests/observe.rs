//! The launch of an image run against embedded clusters, and the images discovered from it.

mod common;

use common::*;
use sealer_build_cluster::cluster::EmbeddedFactory;
use sealer_build_cluster::discover::{Confidence, Report, StaticInput, discover};
use sealer_build_cluster::error::LaunchError;
use sealer_build_cluster::launch::{LaunchSpec, ObserveOptions, ProcessRunner, Progress, observe};
use serde_json::json;
use std::path::Path;
use std::sync::Mutex;

const WEB: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.25"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: worker-templates}
data:
  worker.yaml: |
    apiVersion: batch/v1
    kind: Job
    metadata: {name: worker}
    spec:
      template:
        spec:
          containers:
          - name: w
            image: ghcr.io/acme/worker:1.4
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: quay.io-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: default, namespace: default}]
"#;

const OPERATOR: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: operator, namespace: default}
spec:
  selector: {matchLabels: {app: operator}}
  template:
    metadata: {labels: {app: operator}}
    spec:
      containers:
      - name: manager
        image: quay.io/prometheus-operator/prometheus-operator:v0.70.0
        args:
        - --kubelet-service=kube-system/kubelet
        - --prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:v0.70.0
        - --alertmanager-default-base-image=quay.io/prometheus/alertmanager
"#;

const GEN: &str = r#"#!/bin/bash
set -euo pipefail
test "$(marker)" = "from-rootfs-bin"
cat <<YAML | kubectl apply -f -
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "${REGISTRY}/gen/agent:${TAG}"}]
YAML
"#;

fn rootfs(root: &Path, with_helm: bool) -> LaunchSpec {
    write(
        &root.join("bin/marker"),
        "#!/bin/sh\necho from-rootfs-bin\n",
    );
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(root.join("bin/marker"))
        .status()
        .unwrap();
    write(&root.join("application/apps/web/web.yaml"), WEB);
    write(&root.join("application/apps/web/operator.yaml"), OPERATOR);
    write(&root.join("application/apps/gen/gen.sh"), GEN);
    write(
        &root.join("manifests/imageList"),
        "# preloaded\nregistry.k8s.io/pause:3.9\n",
    );
    let mut apps = vec![
        json!({"name": "web", "type": "kube", "files": ["web.yaml", "operator.yaml"]}),
        json!({"name": "gen", "type": "shell", "files": ["gen.sh"], "env": {"TAG": "v7"}}),
    ];
    let mut launch = vec!["web"];
    if with_helm {
        let chart = root.join("application/apps/cache");
        write(
            &chart.join("Chart.yaml"),
            "apiVersion: v2\nname: cache\nversion: 0.1.0\n",
        );
        write(
            &chart.join("values.yaml"),
            "image: redis:7.2\nexporter: {enabled: false, image: {repository: oliver006/redis_exporter, tag: v1.58.0}}\n",
        );
        write(
            &chart.join("templates/sts.yaml"),
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: cache}\nspec:\n  serviceName: cache\n  selector: {matchLabels: {app: cache}}\n  template:\n    metadata: {labels: {app: cache}}\n    spec:\n      containers:\n      - {name: redis, image: {{ .Values.image | quote }}}\n      {{- if .Values.exporter.enabled }}\n      - {name: exporter, image: \"{{ .Values.exporter.image.repository }}:{{ .Values.exporter.image.tag }}\"}\n      {{- end }}\n",
        );
        apps.push(json!({"name": "cache", "type": "helm", "files": ["cache"]}));
        launch.push("cache");
    }
    LaunchSpec::from_extension_json(&json!({
        "schemaVersion": "v1alpha1", "type": "kube-installer",
        "env": {"REGISTRY": "registry.example.com"},
        "applications": apps, "launch": {"app_names": launch}}))
    .unwrap()
}

/// (via, app, object, field) of each sighting.
type Sighting = (Confidence, Option<String>, Option<String>, Option<String>);

fn via(r: &Report, reference: &str) -> Vec<Sighting> {
    let f = r
        .find(reference)
        .unwrap_or_else(|| panic!("{reference} not found in {}", r.to_json_pretty()));
    f.provenance
        .iter()
        .map(|p| (p.via, p.app.clone(), p.object.clone(), p.field.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_and_unlaunched_apps_yield_images_with_provenance() {
    if kubectl().is_none() {
        return;
    }
    let helm = helm();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    let spec = rootfs(&root, helm.is_some());
    if let Some(h) = &helm {
        // Cluster images carry their helm in rootfs/bin, which is first on PATH for the steps.
        std::os::unix::fs::symlink(h, root.join("bin/helm")).unwrap();
    }
    let lines = Mutex::new(Vec::new());
    let progress = |p: Progress<'_>| {
        if let Progress::StepStarted { pass, step } = p {
            lines
                .lock()
                .unwrap()
                .push(format!("{pass}: {}", step.display));
        }
    };
    let recs = observe(
        &root,
        &dir.path().join("work"),
        &spec,
        &EmbeddedFactory::default(),
        &ProcessRunner,
        &ObserveOptions::default(),
        &progress,
    )
    .await
    .unwrap();
    let lines = lines.into_inner().unwrap();
    assert_eq!(
        lines[0],
        "launch: kubectl apply -f application/apps/web/web.yaml"
    );
    assert!(
        lines.contains(&"app:gen: bash application/apps/gen/gen.sh".to_string()),
        "{lines:?}"
    );
    assert_eq!(
        recs.iter().map(|r| r.pass.as_str()).collect::<Vec<_>>(),
        ["launch", "app:gen"]
    );

    let statics = StaticInput {
        rootfs: root.clone(),
        apps: spec.applications.clone(),
        image_lists: vec![],
        helm: helm.clone(),
        work_dir: dir.path().join("static"),
    };
    let report = discover(&recs, Some(&statics)).unwrap();
    eprintln!("{}", report.to_json_pretty());

    let nginx = via(&report, "docker.io/library/nginx:1.25");
    assert!(nginx.contains(&(
        Confidence::Declared,
        Some("web".into()),
        Some("Deployment/default/web".into()),
        Some("spec.template.spec.containers[0].image".into())
    )));
    assert!(nginx.iter().any(|(v, _, _, _)| *v == Confidence::List));
    assert_eq!(
        report
            .find("docker.io/library/nginx:1.25")
            .unwrap()
            .confidence,
        Confidence::Declared
    );

    let worker = report.find("ghcr.io/acme/worker:1.4").unwrap();
    assert_eq!(worker.confidence, Confidence::Indirect);
    assert!(via(&report, "ghcr.io/acme/worker:1.4").contains(&(
        Confidence::Indirect,
        Some("web".into()),
        Some("ConfigMap/default/worker-templates".into()),
        Some("data.worker.yaml>spec.template.spec.containers[0].image".into())
    )));
    let reloader = "quay.io/prometheus-operator/prometheus-config-reloader:v0.70.0";
    assert_eq!(
        report.find(reloader).unwrap().confidence,
        Confidence::Indirect
    );
    assert!(
        via(&report, reloader)
            .iter()
            .any(|(_, app, obj, field)| app.as_deref() == Some("web")
                && obj.as_deref() == Some("Deployment/default/operator")
                && field.as_deref() == Some("spec.template.spec.containers[0].args[1]"))
    );
    // A base image the operator completes with a version is not guessed as `:latest`.
    assert!(
        report
            .find("quay.io/prometheus/alertmanager:latest")
            .is_none()
    );
    assert!(
        report
            .unresolved
            .iter()
            .any(|u| u.text == "quay.io/prometheus/alertmanager"
                && u.provenance.field.as_deref()
                    == Some("spec.template.spec.containers[0].args[2]"))
    );

    let agent = via(&report, "registry.example.com/gen/agent:v7");
    assert_eq!(
        agent,
        vec![(
            Confidence::Declared,
            Some("gen".into()),
            Some("DaemonSet/default/agent".into()),
            Some("spec.template.spec.containers[0].image".into())
        )]
    );
    assert_eq!(
        report.find("registry.k8s.io/pause:3.9").unwrap().confidence,
        Confidence::List
    );
    assert!(
        !report
            .images
            .iter()
            .any(|i| i.reference.contains("quay.io-reader") || i.reference.contains("kubelet")),
        "{}",
        report.to_json_pretty()
    );

    if helm.is_some() {
        assert!(via(&report, "docker.io/library/redis:7.2").contains(&(
            Confidence::Declared,
            Some("cache".into()),
            Some("StatefulSet/default/cache".into()),
            Some("spec.template.spec.containers[0].image".into())
        )));
        // Switched off in the values: not deployed, still reported from the values file.
        assert_eq!(
            report
                .find("docker.io/oliver006/redis_exporter:v1.58.0")
                .unwrap()
                .confidence,
            Confidence::Indirect
        );
    }
    let json: serde_json::Value = serde_json::from_str(&report.to_json_pretty()).unwrap();
    assert!(
        json["images"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["reference"].is_string() && i["provenance"].is_array())
    );
    assert!(json["unresolved"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_step_names_the_app_command_and_stderr() {
    if kubectl().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    write(
        &root.join("application/apps/broken/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nope}\n",
    );
    let spec = LaunchSpec::from_extension_json(&json!({
        "applications": [{"name": "broken", "type": "kube", "files": ["cm.yaml"]}],
        "launch": {"app_names": ["broken"]}}))
    .unwrap();
    let err = observe(
        &root,
        &dir.path().join("work"),
        &spec,
        &EmbeddedFactory::default(),
        &ProcessRunner,
        &ObserveOptions::default(),
        &|_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, LaunchError::StepFailed { app: Some(a), .. } if a == "broken"));
    let msg = err.to_string();
    assert!(msg.starts_with("app \"broken\": command `kubectl apply -f application/apps/broken/cm.yaml` failed (exit code 1)"), "{msg}");
    assert!(msg.contains(r#"namespaces "nope" not found"#), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmds_run_from_the_rootfs_with_env_exported() {
    if kubectl().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    write(
        &root.join("recommended.yaml"),
        &WEB.replace("nginx:1.25", "${IMG}"),
    );
    let spec = LaunchSpec::from_extension_json(&json!({
        "env": {"IMG": "kubernetesui/dashboard:v2.7.0"},
        "launch": {"cmds": ["envsubst < recommended.yaml > rendered.yaml 2>/dev/null || sed \"s|\\${IMG}|$IMG|\" recommended.yaml > rendered.yaml", "kubectl apply -f rendered.yaml"]}})).unwrap();
    let recs = observe(
        &root,
        &dir.path().join("work"),
        &spec,
        &EmbeddedFactory::default(),
        &ProcessRunner,
        &ObserveOptions::default(),
        &|_| {},
    )
    .await
    .unwrap();
    let report = discover(&recs, None).unwrap();
    let f = report
        .find("docker.io/kubernetesui/dashboard:v2.7.0")
        .unwrap();
    assert_eq!(f.confidence, Confidence::Declared);
    assert_eq!(f.provenance[0].app, None);
    assert!(
        recs[0]
            .objects
            .iter()
            .all(|o| o.step.as_deref() == Some("kubectl apply -f rendered.yaml"))
    );
}
