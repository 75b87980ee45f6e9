//! The 10-app Kubefile of the cluster benchmark: each app a directory of 3–5 manifests
//! (Deployments, Services, ConfigMaps, StatefulSets, a Job, a Namespace; app 0 a CRD and a CR),
//! written both as a build context and as a rootfs with its launch spec.

use anyhow::Result;
use std::path::Path;

pub const APPS: usize = 10;

type Maker = fn(usize, &str) -> String;

fn deployment(app: usize, ns: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: app{app}-web, namespace: {ns}, labels: {{app: app{app}}}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: app{app}}}}}
  template:
    metadata: {{labels: {{app: app{app}}}}}
    spec:
      initContainers:
      - {{name: init, image: "docker.io/bench/app{app}-init:v1", command: [sh, -c, "true"]}}
      containers:
      - name: web
        image: docker.io/bench/app{app}-web:v1
        args: ["--sidecar-image=quay.io/bench/app{app}-sidecar:v2"]
        ports: [{{containerPort: 8080, name: http}}]
        env: [{{name: MODE, value: bench}}]
        resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}
        readinessProbe: {{httpGet: {{path: /healthz, port: http}}}}
      - {{name: metrics, image: "quay.io/bench/app{app}-metrics:v1"}}
"#
    )
}

fn service(app: usize, ns: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Service
metadata: {{name: app{app}, namespace: {ns}}}
spec:
  selector: {{app: app{app}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"#
    )
}

fn configmap(app: usize, ns: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata: {{name: app{app}-config, namespace: {ns}}}
data:
  settings.ini: |
    [server]
    port = 8080
  job.yaml: |
    apiVersion: batch/v1
    kind: Job
    metadata: {{name: app{app}-migrate}}
    spec:
      template:
        spec:
          containers: [{{name: migrate, image: "ghcr.io/bench/app{app}-migrate:v3"}}]
"#
    )
}

fn statefulset(app: usize, ns: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: app{app}-db, namespace: {ns}}}
spec:
  serviceName: app{app}-db
  replicas: 1
  selector: {{matchLabels: {{app: app{app}-db}}}}
  template:
    metadata: {{labels: {{app: app{app}-db}}}}
    spec:
      containers: [{{name: db, image: "docker.io/library/postgres:16.{app}"}}]
"#
    )
}

fn job(app: usize, ns: &str) -> String {
    format!(
        r#"apiVersion: batch/v1
kind: Job
metadata: {{name: app{app}-setup, namespace: {ns}}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: setup, image: "registry.k8s.io/bench/app{app}-setup:v1"}}]
"#
    )
}

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.bench.example.com}
spec:
  group: bench.example.com
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              image: {type: string}
              replicas: {type: integer}
"#;

const CR: &str = r#"apiVersion: bench.example.com/v1
kind: Widget
metadata: {name: w0, namespace: default}
spec: {image: "quay.io/bench/widget:v1", replicas: 2}
"#;

/// The files of app `app`, in apply order (the names sort in that order).
pub fn app_files(app: usize) -> Vec<(String, String)> {
    let ns = if app == 1 { "app1" } else { "default" };
    let mut files = Vec::new();
    if app == 0 {
        files.push(("00-crd.yaml".into(), CRD.to_string()));
        files.push(("01-widget.yaml".into(), CR.to_string()));
    }
    if app == 1 {
        files.push((
            "00-namespace.yaml".into(),
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: app1}\n".into(),
        ));
    }
    files.push(("10-deployment.yaml".into(), deployment(app, ns)));
    files.push(("20-service.yaml".into(), service(app, ns)));
    let want = 3 + app % 3; // 3, 4 or 5 files per app
    let more: [(&str, Maker); 3] = [
        ("30-configmap.yaml", configmap),
        ("40-statefulset.yaml", statefulset),
        ("50-job.yaml", job),
    ];
    for (name, make) in more {
        if files.len() >= want {
            break;
        }
        files.push((name.into(), make(app, ns)));
    }
    files
}

/// Write `Kubefile` + `appN/` directories (a build context).
pub fn write_context(ctx: &Path) -> Result<()> {
    let mut kubefile = String::from("FROM scratch\n");
    let mut names = Vec::new();
    for app in 0..APPS {
        let dir = ctx.join(format!("app{app}"));
        std::fs::create_dir_all(&dir)?;
        for (name, text) in app_files(app) {
            std::fs::write(dir.join(name), text)?;
        }
        kubefile.push_str(&format!("APP app{app} local://app{app}\n"));
        names.push(format!("\"app{app}\""));
    }
    kubefile.push_str(&format!("LAUNCH [{}]\n", names.join(", ")));
    std::fs::write(ctx.join("Kubefile"), kubefile)?;
    Ok(())
}

/// Write the apps as `sealer run` finds them in a rootfs and return their launch spec (the
/// JSON of the `sealer.image.extension` annotation).
pub fn write_rootfs(rootfs: &Path) -> Result<serde_json::Value> {
    let mut apps = Vec::new();
    for app in 0..APPS {
        let dir = rootfs.join(format!("application/apps/app{app}"));
        std::fs::create_dir_all(&dir)?;
        let files = app_files(app);
        for (name, text) in &files {
            std::fs::write(dir.join(name), text)?;
        }
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        apps.push(serde_json::json!({"name": format!("app{app}"), "type": "kube", "files": names}));
    }
    let launch: Vec<String> = (0..APPS).map(|a| format!("app{a}")).collect();
    Ok(serde_json::json!({"applications": apps, "launch": {"app_names": launch}}))
}

/// Total manifest files of the 10 apps.
pub fn file_count() -> usize {
    (0..APPS).map(|a| app_files(a).len()).sum()
}
