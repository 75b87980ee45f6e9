//! Unit tests of `image`.

use super::*;

#[test]
fn domains() {
    assert_eq!(registry_domain("nginx:alpine"), "docker.io");
    assert_eq!(registry_domain("library/nginx"), "docker.io");
    assert_eq!(registry_domain("docker.io/library/nginx"), "docker.io");
    assert_eq!(registry_domain("quay.io/a/b:1"), "quay.io");
    assert_eq!(registry_domain("localhost:5000/a"), "localhost:5000");
}
