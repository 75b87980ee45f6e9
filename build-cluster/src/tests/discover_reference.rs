//! Unit tests of `discover::reference`.

use super::*;

#[test]
fn normalizes_like_docker() {
    let n = |s: &str| normalize(s).unwrap();
    assert_eq!(n("nginx"), "docker.io/library/nginx:latest");
    assert_eq!(n("nginx:1.25"), "docker.io/library/nginx:1.25");
    assert_eq!(n("bitnami/redis:7.0"), "docker.io/bitnami/redis:7.0");
    assert_eq!(
        n("index.docker.io/library/busybox"),
        "docker.io/library/busybox:latest"
    );
    assert_eq!(
        n("quay.io/prometheus/node-exporter:v1.8.0"),
        "quay.io/prometheus/node-exporter:v1.8.0"
    );
    assert_eq!(n("localhost:5000/a/b"), "localhost:5000/a/b:latest");
    let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_eq!(
        n(&format!("registry.k8s.io/pause@{d}")),
        format!("registry.k8s.io/pause@{d}")
    );
    assert_eq!(
        n(&format!("nginx:1@{d}")),
        format!("docker.io/library/nginx:1@{d}")
    );
    for bad in [
        "",
        "Nginx",
        "a b",
        "http://x.io/a:1",
        "x.io/a:",
        "a@sha256:12",
        "foo/-bar",
    ] {
        assert!(normalize(bad).is_err(), "{bad}");
    }
}

#[test]
fn strong_references_need_registry_and_tag() {
    assert!(is_strong("quay.io/x/op:v2"));
    assert!(is_strong("127.0.0.1:5000/test/bb:v1"));
    assert!(is_strong(
        "registry.example.com/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    ));
    for weak in [
        "nginx:1.25",
        "quay.io/x/op",
        "v1.2/foo:bar",
        "values.yaml/x:1",
        "my-rolebinding",
        "app/version:1",
        "system:controller:x",
    ] {
        assert!(!is_strong(weak), "{weak}");
    }
    assert!(
        is_templated("{{ .Values.image }}") && is_templated("${IMAGE}") && !is_templated("nginx")
    );
}
