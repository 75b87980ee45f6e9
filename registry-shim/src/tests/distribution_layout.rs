use super::*;

fn layout() -> (tempfile::TempDir, Layout) {
    let t = tempfile::tempdir().unwrap();
    let l = Layout::new(t.path());
    (t, l)
}

#[test]
fn blob_ingest_verifies_and_links() {
    let (_t, l) = layout();
    let d = Digest::of(b"hello world");
    let mut w = l.blob_writer("docker.io/library/x").unwrap();
    w.write(b"hello ").unwrap();
    w.write(b"world").unwrap();
    assert_eq!(w.commit(Some(&d), Some(11)).unwrap(), d);
    assert_eq!(std::fs::read(l.blob_path(&d)).unwrap(), b"hello world");
    assert_eq!(
        l.linked_blob_size("docker.io/library/x", &d).unwrap(),
        Some(11)
    );
    assert_eq!(l.linked_blob_size("quay.io/library/x", &d).unwrap(), None);
    let link = l.v2().join(format!(
        "repositories/docker.io/library/x/_layers/sha256/{}/link",
        d.hex()
    ));
    assert_eq!(std::fs::read_to_string(link).unwrap(), d.to_string());
    // the upload directory is gone
    let uploads = l.v2().join("repositories/docker.io/library/x/_uploads");
    assert_eq!(std::fs::read_dir(uploads).unwrap().count(), 0);
}

#[test]
fn mismatch_stores_nothing() {
    let (_t, l) = layout();
    let wrong = Digest::of(b"something else");
    let mut w = l.blob_writer("a/b").unwrap();
    w.write(b"content").unwrap();
    let err = w.commit(Some(&wrong), None).unwrap_err();
    assert!(matches!(err, LayoutError::DigestMismatch { .. }), "{err}");
    assert_eq!(l.blob_size(&wrong).unwrap(), None);
    assert_eq!(l.blob_size(&Digest::of(b"content")).unwrap(), None);
    assert_eq!(l.linked_blob_size("a/b", &wrong).unwrap(), None);
    // a dropped writer cleans up too
    let mut w = l.blob_writer("a/b").unwrap();
    w.write(b"partial").unwrap();
    drop(w);
    let uploads = l.v2().join("repositories/a/b/_uploads");
    assert_eq!(std::fs::read_dir(uploads).unwrap().count(), 0);
}

#[test]
fn manifests_tags_catalog() {
    let (_t, l) = layout();
    let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
    let d = l
        .put_manifest("docker.io/library/nginx", Some("1.25"), m)
        .unwrap();
    l.put_manifest("quay.io/x/y", Some("v1"), m).unwrap();
    let got = l
        .read_manifest("docker.io/library/nginx", "1.25")
        .unwrap()
        .unwrap();
    assert_eq!(got.digest, d);
    assert_eq!(got.bytes, m);
    assert_eq!(got.media_type, crate::manifest::OCI_MANIFEST);
    assert!(
        l.read_manifest("docker.io/library/nginx", &d.to_string())
            .unwrap()
            .is_some()
    );
    assert!(
        l.read_manifest("docker.io/library/nginx", "nope")
            .unwrap()
            .is_none()
    );
    assert!(
        l.read_manifest("docker.io/library/other", "1.25")
            .unwrap()
            .is_none()
    );
    assert_eq!(l.tags("docker.io/library/nginx").unwrap(), vec!["1.25"]);
    assert_eq!(
        l.repositories().unwrap(),
        vec![
            "docker.io/library/nginx".to_string(),
            "quay.io/x/y".to_string()
        ]
    );
    assert_eq!(l.top_level_dirs().unwrap(), vec!["docker.io", "quay.io"]);
    let idx = l.v2().join(format!(
        "repositories/docker.io/library/nginx/_manifests/tags/1.25/index/sha256/{}/link",
        d.hex()
    ));
    assert!(idx.is_file());
}

#[test]
fn rejects_escaping_names() {
    let (_t, l) = layout();
    for bad in ["../x", "/abs", "a/../../b", "A/b", ""] {
        assert!(
            matches!(l.repo_dir(bad), Err(LayoutError::InvalidRepository(_))),
            "{bad}"
        );
    }
    assert!(matches!(
        l.tag("a/b", "../t", &Digest::of(b"")),
        Err(LayoutError::InvalidTag(_))
    ));
    assert!(l.upload("a/b", "../../etc").unwrap().is_none());
}
