//! kubectl 1.32 against the embedded API server.

mod common;

use common::*;
use sealer_build_cluster::cluster::Cluster;
use std::time::Instant;

const WEB: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
"#;

const SVC: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {mode: fast}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_apply_wait_rollout_patch_label_delete() {
    let Some(k) = kubectl() else { return };
    let t0 = Instant::now();
    let (dir, c) = cluster().await;
    eprintln!(
        "embedded cluster start: {:?} (server bind+bootstrap {:?})",
        t0.elapsed(),
        c.server().unwrap().started_in()
    );
    let d = dir.path();
    write(&d.join("app/web.yaml"), WEB);
    write(&d.join("app/svc.yaml"), SVC);
    let out = ok(&c, d, &k, &["apply", "-f", "app"], None);
    assert!(
        out.contains("deployment.apps/web created") && out.contains("service/web created"),
        "{out}"
    );
    assert!(ok(&c, d, &k, &["apply", "-f", "app"], None).contains("deployment.apps/web unchanged"));

    let t = Instant::now();
    let out = ok(
        &c,
        d,
        &k,
        &[
            "wait",
            "--for=condition=Available",
            "deployment/web",
            "--timeout=20s",
        ],
        None,
    );
    assert!(out.contains("condition met"), "{out}");
    // kubectl's own --timeout fails the wait if the condition never comes; speed is a
    // benchmark figure, not a test assertion.
    eprintln!("kubectl wait took {:?}", t.elapsed());
    assert!(
        ok(
            &c,
            d,
            &k,
            &["rollout", "status", "deployment/web", "--timeout=20s"],
            None
        )
        .contains("successfully rolled out")
    );
    ok(
        &c,
        d,
        &k,
        &[
            "wait",
            "--for=condition=Ready",
            "pod",
            "-l",
            "app=web",
            "--timeout=20s",
        ],
        None,
    );
    assert_eq!(
        ok(
            &c,
            d,
            &k,
            &["get", "pods", "-l", "app=web", "-o", "name"],
            None
        )
        .lines()
        .count(),
        2
    );

    ok(
        &c,
        d,
        &k,
        &["label", "configmap", "web-config", "tier=backend"],
        None,
    );
    ok(
        &c,
        d,
        &k,
        &[
            "patch",
            "deployment",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}"#,
        ],
        None,
    );
    ok(
        &c,
        d,
        &k,
        &[
            "patch",
            "configmap",
            "web-config",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/data/extra","value":"1"}]"#,
        ],
        None,
    );
    let objs = c.objects().await.unwrap();
    let web = object(&objs, "Deployment", "web").unwrap();
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        80
    );
    assert_eq!(web["metadata"]["generation"], 2);
    let cm = object(&objs, "ConfigMap", "web-config").unwrap();
    assert_eq!(
        (
            cm["metadata"]["labels"]["tier"].as_str(),
            cm["data"]["extra"].as_str()
        ),
        (Some("backend"), Some("1"))
    );
    // Controller-made pods are served but not part of the recording.
    assert!(object(&objs, "Pod", "").is_none() && !objs.iter().any(|o| o["kind"] == "Pod"));

    let stats = c.server().unwrap().stats();
    eprintln!(
        "server: {} requests, {:?} busy, over {:?} of kubectl runs",
        stats.requests,
        stats.busy,
        t0.elapsed()
    );
    ok(&c, d, &k, &["delete", "-f", "app"], None);
    let err = fails(&c, d, &k, &["get", "deployment", "web"], None);
    assert!(
        err.contains(r#"Error from server (NotFound): deployments.apps "web" not found"#),
        "{err}"
    );
    assert!(
        ok(&c, d, &k, &["get", "pods", "-o", "name"], None)
            .trim()
            .is_empty()
    );
}

const CRD_AND_CRS: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget, shortNames: [wd]}
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
              size: {type: integer}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {image: "quay.io/example/widget:v1"}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w2}
spec: {image: "quay.io/example/widget:v2", size: 3}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crd_and_its_custom_resources_in_one_file() {
    let Some(k) = kubectl() else { return };
    let (dir, c) = cluster().await;
    let d = dir.path();
    write(&d.join("crd.yaml"), CRD_AND_CRS);
    // As against a real server: the kinds are mapped before the CRD exists.
    let err = fails(&c, d, &k, &["apply", "-f", "crd.yaml"], None);
    assert!(
        err.contains(r#"no matches for kind "Widget" in version "example.com/v1""#)
            && err.contains("ensure CRDs are installed first"),
        "{err}"
    );
    let out = ok(&c, d, &k, &["apply", "-f", "crd.yaml"], None);
    assert!(
        out.contains("widget.example.com/w1 created")
            && out.contains("widget.example.com/w2 created"),
        "{out}"
    );
    ok(
        &c,
        d,
        &k,
        &[
            "wait",
            "--for=condition=Established",
            "crd/widgets.example.com",
            "--timeout=10s",
        ],
        None,
    );
    assert_eq!(
        ok(&c, d, &k, &["get", "wd", "-o", "name"], None)
            .lines()
            .count(),
        2
    );
    let bad = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\nspec: {imagee: x}\n";
    let err = fails(&c, d, &k, &["apply", "-f", "-"], Some(bad));
    assert!(
        err.contains(r#"strict decoding error: unknown field "spec.imagee""#),
        "{err}"
    );
    let objs = c.objects().await.unwrap();
    assert_eq!(object(&objs, "Widget", "w2").unwrap()["spec"]["size"], 3);
    ok(&c, d, &k, &["delete", "crd", "widgets.example.com"], None);
    assert!(
        !c.objects()
            .await
            .unwrap()
            .iter()
            .any(|o| o["kind"] == "Widget")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomization_and_server_side_apply() {
    let Some(k) = kubectl() else { return };
    let (dir, c) = cluster().await;
    let d = dir.path();
    write(&d.join("kust/web.yaml"), WEB);
    write(
        &d.join("kust/kustomization.yaml"),
        "namePrefix: prod-\nresources: [web.yaml]\nimages:\n- name: nginx\n  newName: registry.example.com/mirror/nginx\n  newTag: 1.25.4\n",
    );
    assert!(
        ok(&c, d, &k, &["apply", "-k", "kust"], None).contains("deployment.apps/prod-web created")
    );
    let objs = c.objects().await.unwrap();
    let img = &object(&objs, "Deployment", "prod-web").unwrap()["spec"]["template"]["spec"]["containers"]
        [0]["image"];
    assert_eq!(img, "registry.example.com/mirror/nginx:1.25.4");

    let two = WEB.replace(
        "        ports: [{containerPort: 80}]\n",
        "      - name: metrics\n        image: quay.io/prometheus/node-exporter:v1.8.0\n",
    );
    write(
        &d.join("ssa.yaml"),
        &two.replace("name: web,", "name: ssa,"),
    );
    assert!(
        ok(
            &c,
            d,
            &k,
            &["apply", "--server-side", "-f", "ssa.yaml"],
            None
        )
        .contains("deployment.apps/ssa serverside-applied")
    );
    let containers = |objs: &[serde_json::Value]| -> usize {
        object(objs, "Deployment", "ssa").unwrap()["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(containers(&c.objects().await.unwrap()), 2);
    // Dropping a container from the applied configuration removes it, as field ownership does.
    write(
        &d.join("ssa.yaml"),
        &WEB.replace("name: web,", "name: ssa,"),
    );
    ok(
        &c,
        d,
        &k,
        &["apply", "--server-side", "-f", "ssa.yaml"],
        None,
    );
    assert_eq!(containers(&c.objects().await.unwrap()), 1);
    let err = fails(
        &c,
        d,
        &k,
        &["apply", "--server-side", "-f", "-"],
        Some(&WEB.replace("replicas: 2", "replicas: 2\n  foo: 1")),
    );
    assert!(
        err.contains(".spec.foo: field not declared in schema"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_objects_fail_with_the_familiar_messages() {
    let Some(k) = kubectl() else { return };
    let (dir, c) = cluster().await;
    let d = dir.path();
    let err = fails(
        &c,
        d,
        &k,
        &["apply", "-f", "-"],
        Some("apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n"),
    );
    assert!(err.contains(r#"resource mapping not found for name: "g" namespace: "" from "STDIN": no matches for kind "Gadget" in version "example.com/v1""#), "{err}");
    let err = fails(
        &c,
        d,
        &k,
        &["apply", "-f", "-"],
        Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nope}\n"),
    );
    assert!(err.contains(r#"Error from server (NotFound): error when creating "STDIN": namespaces "nope" not found"#), "{err}");
    let bad = WEB
        .replace(
            "image: nginx:1.25",
            "image: nginx:1.25\n        imagee: typo",
        )
        .replace("replicas: 2", "replicas: 2\n  foo: 1");
    let err = fails(&c, d, &k, &["apply", "-f", "-"], Some(&bad));
    assert!(err.contains(r#"Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo", unknown field "spec.template.spec.containers[0].imagee""#), "{err}");
    let err = fails(&c, d, &k, &["create", "configmap", "Bad_Name"], None);
    assert!(err.contains("a lowercase RFC 1123 subdomain"), "{err}");
    // Client-side apply keeps the whole object in an annotation, which real servers cap.
    let big = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata: {{blob: {}}}\n",
        "x".repeat(300_000)
    );
    let err = fails(&c, d, &k, &["apply", "-f", "-"], Some(&big));
    assert!(
        err.contains("metadata.annotations: Too long: must have at most 262144 bytes"),
        "{err}"
    );
    ok(
        &c,
        d,
        &k,
        &["apply", "--server-side", "-f", "-"],
        Some(&big),
    );
    ok(
        &c,
        d,
        &k,
        &["create", "deployment", "keep", "--image=busybox"],
        None,
    );
    ok(
        &c,
        d,
        &k,
        &["delete", "deployment", "keep", "--cascade=orphan"],
        None,
    );
    assert_eq!(
        ok(&c, d, &k, &["get", "replicasets", "-o", "name"], None)
            .lines()
            .count(),
        1
    );
    // With validation off the server keeps what it does not know, like a real one with Ignore.
    ok(
        &c,
        d,
        &k,
        &["apply", "--validate=false", "-f", "-"],
        Some(&bad),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_clients_create_and_namespaces_cascade() {
    let Some(k) = kubectl() else { return };
    let (dir, c) = cluster().await;
    let d = dir.path();
    ok(&c, d, &k, &["create", "namespace", "team"], None);
    ok(
        &c,
        d,
        &k,
        &[
            "-n",
            "team",
            "create",
            "secret",
            "generic",
            "s",
            "--from-literal=a=b",
        ],
        None,
    );
    ok(
        &c,
        d,
        &k,
        &[
            "-n",
            "team",
            "create",
            "deployment",
            "dd",
            "--image=busybox:1.36",
            "--replicas=2",
        ],
        None,
    );
    ok(
        &c,
        d,
        &k,
        &["-n", "team", "scale", "deployment", "dd", "--replicas=3"],
        None,
    );
    ok(
        &c,
        d,
        &k,
        &["-n", "team", "create", "job", "jj", "--image=busybox:1.36"],
        None,
    );
    ok(
        &c,
        d,
        &k,
        &[
            "-n",
            "team",
            "wait",
            "--for=condition=Complete",
            "job/jj",
            "--timeout=10s",
        ],
        None,
    );
    assert_eq!(
        ok(
            &c,
            d,
            &k,
            &["-n", "team", "get", "pods", "-l", "app=dd", "-o", "name"],
            None
        )
        .lines()
        .count(),
        3
    );
    assert_eq!(
        ok(
            &c,
            d,
            &k,
            &[
                "-n",
                "team",
                "get",
                "secret",
                "s",
                "-o",
                "jsonpath={.data.a}"
            ],
            None
        ),
        "Yg=="
    );
    let objs = c.objects().await.unwrap();
    assert_eq!(
        object(&objs, "Deployment", "dd").unwrap()["spec"]["template"]["spec"]["containers"][0]["image"],
        "busybox:1.36"
    );
    assert!(ok(&c, d, &k, &["auth", "can-i", "create", "pods"], None).contains("yes"));
    ok(&c, d, &k, &["delete", "namespace", "team"], None);
    assert!(
        !c.objects()
            .await
            .unwrap()
            .iter()
            .any(|o| o["metadata"]["namespace"] == "team")
    );
}
