//! Unit tests of `reference`.

use super::*;

const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[test]
fn normalization_table() {
    let d_ref = format!("docker.io/library/nginx@{D}");
    let td_ref = format!("docker.io/library/nginx:1.25@{D}");
    let table: Vec<(String, String)> = vec![
        ("nginx".into(), "docker.io/library/nginx:latest".into()),
        ("nginx:1.25".into(), "docker.io/library/nginx:1.25".into()),
        (
            "library/nginx".into(),
            "docker.io/library/nginx:latest".into(),
        ),
        (
            "docker.io/nginx".into(),
            "docker.io/library/nginx:latest".into(),
        ),
        (
            "index.docker.io/nginx".into(),
            "docker.io/library/nginx:latest".into(),
        ),
        ("user/app:v1".into(), "docker.io/user/app:v1".into()),
        ("localhost/app".into(), "localhost/app:latest".into()),
        ("localhost:5000/x".into(), "localhost:5000/x:latest".into()),
        ("localhost:5000/x:2".into(), "localhost:5000/x:2".into()),
        ("my.reg/x/y:1".into(), "my.reg/x/y:1".into()),
        (
            "127.0.0.1:5000/test/bb:v2".into(),
            "127.0.0.1:5000/test/bb:v2".into(),
        ),
        (
            "sea.hub:5000/kubernetes:v1.22.15".into(),
            "sea.hub:5000/kubernetes:v1.22.15".into(),
        ),
        ("[::1]:5000/a/b".into(), "[::1]:5000/a/b:latest".into()),
        ("Reg/app".into(), "Reg/app:latest".into()),
        (
            "a__b/c-d--e.f:T_1.x-y".into(),
            "docker.io/a__b/c-d--e.f:T_1.x-y".into(),
        ),
        (format!("nginx@{D}"), d_ref.clone()),
        (format!("nginx:1.25@{D}"), td_ref),
        (d_ref.clone(), d_ref),
    ];
    for (input, want) in table {
        assert_eq!(normalize(&input).unwrap(), want, "input {input}");
    }
}

#[test]
fn rejects() {
    let id = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let bad = [
        "",
        "Nginx",
        "nginx:",
        "nginx:-x",
        "a//b",
        "a/b_",
        "a/.b",
        "a/b..c",
        "a/b___c",
        "nginx@sha256:abc",
        "nginx@",
        "-host.io/x",
        "host.io:port/x",
        id,
    ];
    for b in bad {
        assert!(parse(b).is_err(), "{b:?} should be rejected");
    }
    assert!(matches!(parse(id), Err(ReferenceError::LooksLikeId { .. })));
    assert!(matches!(
        parse("Nginx"),
        Err(ReferenceError::Uppercase { .. })
    ));
    let long_tag = format!("nginx:{}", "a".repeat(129));
    assert!(matches!(
        parse(&long_tag),
        Err(ReferenceError::BadTag { .. })
    ));
    let long_name = format!("x/{}", "a".repeat(260));
    assert!(matches!(
        parse(&long_name),
        Err(ReferenceError::TooLong { .. })
    ));
}

#[test]
fn fields_and_familiar() {
    let r = parse("localhost:5000/team/app:v1").unwrap();
    assert_eq!(r.registry, "localhost:5000");
    assert_eq!(r.repository, "team/app");
    assert_eq!(r.tag.as_deref(), Some("v1"));
    assert_eq!(r.digest, None);
    assert_eq!(r.familiar(), "localhost:5000/team/app:v1");
    let n = parse("nginx").unwrap();
    assert_eq!(n.tag, None);
    assert_eq!(n.with_default_tag().familiar(), "nginx:latest");
    assert_eq!(parse("docker.io/user/x:1").unwrap().familiar(), "user/x:1");
}
