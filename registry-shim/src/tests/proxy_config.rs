//! Unit tests of `proxy::config`.

use super::*;

#[test]
fn yaml_and_json() {
    let y = "default_upstream: docker.io\nupstreams:\n  - registry: docker.io\n    endpoint: http://127.0.0.1:5001\n  - registry: quay.io\n    username: u\n    password: p\n    insecure: true\n";
    let c = ProxyConfig::parse(y).unwrap();
    assert_eq!(c.upstreams.len(), 2);
    assert_eq!(c.upstreams[1].username.as_deref(), Some("u"));
    assert!(c.upstreams[1].insecure);
    let j = r#"{"upstreams":[{"registry":"registry.k8s.io","token":"t"}]}"#;
    assert_eq!(
        ProxyConfig::parse(j).unwrap().upstreams[0].token.as_deref(),
        Some("t")
    );
    assert!(ProxyConfig::parse("upstreams:\n  - registry: x\n    endpoint: ftp://x\n").is_err());
    assert!(ProxyConfig::parse("upstreams:\n  - registry: x\n    bogus: 1\n").is_err());
}
