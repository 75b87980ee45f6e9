//! Unit tests of `discover::objects`.

use super::*;
use serde_json::json;

fn texts(hits: &[Hit]) -> Vec<(&str, Confidence, &str)> {
    hits.iter()
        .map(|h| (h.text.as_str(), h.via, h.field.as_str()))
        .collect()
}

#[test]
fn pod_templates_args_env_and_keys() {
    let d = json!({"kind":"Deployment","metadata":{"name":"op","annotations":{
            "kubectl.kubernetes.io/last-applied-configuration":"{\"image\":\"nope:1\"}",
            "sidecar.istio.io/proxyImage":"docker.io/istio/proxyv2:1.20"}},
        "spec":{"template":{"spec":{
            "initContainers":[{"name":"i","image":"busybox:1.36"}],
            "containers":[{"name":"m","image":"quay.io/op/manager:v1",
                "args":["--leader-elect","--config-reloader-image=quay.io/prometheus-operator/prometheus-config-reloader:v0.70.0",
                        "--sidecar-image","ghcr.io/x/sidecar:2"],
                "env":[{"name":"RELATED_IMAGE_DB","value":"postgres:16"},{"name":"OTHER","value":"registry.k8s.io/pause:3.9"},
                       {"name":"MODE","value":"fast"}]}]}}},
        "status":{"image":"ignored:1"}});
    let h = scan_object(&d, Confidence::Declared);
    let t = texts(&h);
    assert!(t.contains(&(
        "busybox:1.36",
        Confidence::Declared,
        "spec.template.spec.initContainers[0].image"
    )));
    assert!(t.contains(&(
        "quay.io/op/manager:v1",
        Confidence::Declared,
        "spec.template.spec.containers[0].image"
    )));
    assert!(t.contains(&(
        "quay.io/prometheus-operator/prometheus-config-reloader:v0.70.0",
        Confidence::Indirect,
        "spec.template.spec.containers[0].args[1]"
    )));
    assert!(t.contains(&(
        "ghcr.io/x/sidecar:2",
        Confidence::Indirect,
        "spec.template.spec.containers[0].args[3]"
    )));
    assert!(t.contains(&(
        "postgres:16",
        Confidence::Indirect,
        "spec.template.spec.containers[0].env[0].value"
    )));
    assert!(t.contains(&(
        "registry.k8s.io/pause:3.9",
        Confidence::Indirect,
        "spec.template.spec.containers[0].env[1].value"
    )));
    assert!(t.contains(&(
        "docker.io/istio/proxyv2:1.20",
        Confidence::Indirect,
        "metadata.annotations.sidecar.istio.io/proxyImage"
    )));
    assert!(
        !t.iter()
            .any(|(x, _, _)| *x == "nope:1" || *x == "ignored:1" || *x == "fast")
    );
}

#[test]
fn custom_resources_and_helm_style_maps() {
    let cr = json!({"kind":"Prometheus","metadata":{"name":"p"},"spec":{
        "image":"quay.io/prometheus/prometheus:v2.50.0",
        "exporter":{"image":{"registry":"docker.io","repository":"bitnami/redis-exporter","tag":"1.58.0"}},
        "imagePullPolicy":"IfNotPresent","imagePullSecrets":[{"name":"regcred"}],
        "podTemplate":{"spec":{"containers":[{"name":"c","image":"nginx"}]}}}});
    let t = scan_object(&cr, Confidence::Declared);
    let t = texts(&t);
    assert!(t.contains(&(
        "quay.io/prometheus/prometheus:v2.50.0",
        Confidence::Indirect,
        "spec.image"
    )));
    assert!(t.contains(&(
        "docker.io/bitnami/redis-exporter:1.58.0",
        Confidence::Indirect,
        "spec.exporter.image"
    )));
    assert!(t.contains(&(
        "nginx",
        Confidence::Declared,
        "spec.podTemplate.spec.containers[0].image"
    )));
    assert_eq!(t.len(), 3);
    let rb = json!({"kind":"RoleBinding","metadata":{"name":"quay.io-reader:v1"},"roleRef":{"name":"x"},
        "subjects":[{"kind":"ServiceAccount","name":"registry.k8s.io/pause:3.9"}]});
    assert!(scan_object(&rb, Confidence::Declared).is_empty());
}
