//! Unit tests of `embed`.

use super::*;

#[test]
fn image_list_parsing() {
    let text = "# images\nnginx:1.25\n\n  quay.io/x/y:v1   # inline\nnginx:1.25\n\t#indented comment\nregistry.k8s.io/pause:3.9\n";
    assert_eq!(
        parse_image_list(text),
        vec!["nginx:1.25", "quay.io/x/y:v1", "registry.k8s.io/pause:3.9"]
    );
    assert!(parse_image_list("").is_empty());
}

#[test]
fn layer_tree_is_sorted_and_complete() {
    let d = |s: &[u8]| Digest::of(s);
    let img = EmbeddedImage {
        image: "docker.io/library/bb:v1".into(),
        repo: "docker.io/library/bb".into(),
        tag: Some("v1".into()),
        platform: Platform::parse("linux/amd64").unwrap(),
        digest: d(b"idx"),
        media_type: crate::manifest::OCI_INDEX.into(),
        manifest_digest: d(b"m"),
        config_digest: d(b"c"),
        manifests: vec![d(b"idx"), d(b"m")],
        blobs: vec![d(b"c"), d(b"l")],
        bytes_fetched: 0,
    };
    let t = image_layer_tree(Path::new("/reg"), &img);
    let paths: Vec<&str> = t.iter().map(|e| e.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    assert_eq!(
        t.iter().filter(|e| e.source.is_some()).count(),
        4 + 2 + 2 + 2
    );
    assert!(paths.contains(
        &"docker/registry/v2/repositories/docker.io/library/bb/_manifests/tags/v1/current/link"
    ));
    assert!(paths.contains(&"docker"));
    let ann = ContainerImageAnnotation {
        image: img.image.clone(),
        app_name: String::new(),
        platform: img.platform.clone(),
    };
    assert_eq!(
        serde_json::to_string(&ann).unwrap(),
        r#"{"image":"docker.io/library/bb:v1","platform":{"architecture":"amd64","os":"linux","variant":""}}"#
    );
}
