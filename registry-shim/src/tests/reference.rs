//! Unit tests of `reference`.

use super::*;

fn p(s: &str) -> ImageReference {
    ImageReference::parse(s).unwrap()
}

#[test]
fn normalizes_docker_hub() {
    let r = p("nginx");
    assert_eq!(r.to_string(), "docker.io/library/nginx:latest");
    assert_eq!(
        p("index.docker.io/nginx:1.25").to_string(),
        "docker.io/library/nginx:1.25"
    );
    assert_eq!(p("bitnami/redis:7").name(), "docker.io/bitnami/redis");
    assert_eq!(r.layout_repo(), "docker.io/library/nginx");
}

#[test]
fn domains_ports_and_digests() {
    let d = Digest::of(b"x");
    let r = p(&format!("127.0.0.1:5000/test/bb:v1@{d}"));
    assert_eq!(r.domain, "127.0.0.1:5000");
    assert_eq!(r.repository, "test/bb");
    assert_eq!(r.tag.as_deref(), Some("v1"));
    assert_eq!(r.digest, Some(d.clone()));
    assert_eq!(r.reference(), d.to_string());
    assert_eq!(r.layout_repo(), "127.0.0.1_5000/test/bb");
    let r = p("localhost/x/y");
    assert_eq!(
        (r.domain.as_str(), r.tag.as_deref()),
        ("localhost", Some("latest"))
    );
    assert_eq!(p("quay.io/x/y:1").layout_repo(), "quay.io/x/y");
    assert_eq!(p("registry.k8s.io/pause:3.9").repository, "pause");
}

#[test]
fn rejects_bad_input() {
    for bad in [
        "",
        "a/UPPER",
        "a//b",
        "x:",
        "x:-bad",
        "x@sha256:12",
        "a/b_/c",
        "quay.io/",
    ] {
        assert!(ImageReference::parse(bad).is_err(), "{bad}");
    }
    assert!(valid_repository("a__b/c-d--e/f.g"));
    assert!(!valid_repository("a___b"));
}
