//! Unit tests of `client::auth`.

use super::*;

#[test]
fn challenges() {
    assert_eq!(parse_challenge("Basic realm=\"x\""), Some(Challenge::Basic));
    let c = parse_challenge(
        r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#,
    );
    assert_eq!(
        c,
        Some(Challenge::Bearer {
            realm: "https://auth.docker.io/token".into(),
            service: Some("registry.docker.io".into()),
            scope: Some("repository:library/nginx:pull,push".into()),
        })
    );
    assert_eq!(parse_challenge("Negotiate"), None);
    assert_eq!(parse_challenge("Bearer service=x"), None);
}
