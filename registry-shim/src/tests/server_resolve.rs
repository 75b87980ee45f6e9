//! Unit tests of `server::resolve`.

use super::*;

fn layout_with(repos: &[&str]) -> (tempfile::TempDir, Layout) {
    let t = tempfile::tempdir().unwrap();
    let l = Layout::new(t.path());
    for r in repos {
        l.put_manifest(r, Some("v1"), b"{}").unwrap();
    }
    (t, l)
}

#[test]
fn ns_and_unique_match() {
    let (_t, l) = layout_with(&[
        "docker.io/x/y",
        "quay.io/x/y",
        "docker.io/library/nginx",
        "legacy/app",
    ]);
    let none = ProxyDomains::default();
    let r = |name, ns| for_read(&l, name, ns, &none);
    assert_eq!(
        r("x/y", Some("quay.io")),
        Resolved::Repo("quay.io/x/y".into())
    );
    assert_eq!(
        r("x/y", Some("docker.io")),
        Resolved::Repo("docker.io/x/y".into())
    );
    assert!(
        matches!(r("x/y", None), Resolved::Ambiguous { candidates, .. } if candidates.len() == 2)
    );
    assert_eq!(
        r("library/nginx", None),
        Resolved::Repo("docker.io/library/nginx".into())
    );
    assert_eq!(
        r("docker.io/library/nginx", None),
        Resolved::Repo("docker.io/library/nginx".into())
    );
    // a layout written without domains still serves containerd's ns requests
    assert_eq!(
        r("legacy/app", Some("docker.io")),
        Resolved::Repo("legacy/app".into())
    );
    assert_eq!(
        r("missing/app", Some("docker.io")),
        Resolved::Repo("docker.io/missing/app".into())
    );
    assert_eq!(
        r("x/y", Some("127.0.0.1:5000")),
        Resolved::Repo("127.0.0.1_5000/x/y".into())
    );
}

#[test]
fn proxy_domains() {
    let (_t, l) = layout_with(&[]);
    let p = ProxyDomains {
        domains: vec!["docker.io".into(), "quay.io".into()],
        default: Some("docker.io".into()),
    };
    assert_eq!(
        for_read(&l, "quay.io/a/b", None, &p),
        Resolved::Repo("quay.io/a/b".into())
    );
    assert_eq!(
        for_read(&l, "library/x", None, &p),
        Resolved::Repo("docker.io/library/x".into())
    );
    assert_eq!(for_write("a/b", Some("quay.io")), "quay.io/a/b");
}
