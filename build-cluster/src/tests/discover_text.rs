//! Unit tests of `discover::text`.

use super::*;

#[test]
fn image_keys() {
    for k in [
        "image",
        "sidecarImage",
        "proxy_image",
        "FOO_IMAGE",
        "--config-reloader-image",
        "imageName",
        "images",
        "sidecar.istio.io/proxyImage",
    ] {
        assert!(image_key(k), "{k}");
    }
    for k in [
        "imagePullPolicy",
        "imagePullSecrets",
        "imageTag",
        "name",
        "imageID",
        "roleRef",
    ] {
        assert!(!image_key(k), "{k}");
    }
}

#[test]
fn embedded_yaml_and_plain_text() {
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: ghcr.io/acme/worker:1.4\n";
    let h = scan_text(yaml, "data.tpl");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].text, "ghcr.io/acme/worker:1.4");
    assert_eq!(
        h[0].field,
        "data.tpl>spec.template.spec.containers[0].image"
    );
    assert_eq!(h[0].via, Confidence::Indirect);
    let conf = "[plugins]\n  sandbox_image = \"registry.k8s.io/pause:3.9\"\nlog_level = info\nother: quay.io/a/b:1 and v1.2/x:3\n";
    let texts: Vec<String> = scan_text(conf, "data.c")
        .into_iter()
        .map(|h| h.text)
        .collect();
    assert_eq!(texts, vec!["registry.k8s.io/pause:3.9", "quay.io/a/b:1"]);
    let sh = "kubectl set image deploy/x c=quay.io/x/y:v2\nHELPER_IMAGE=busybox:1.36 ./run.sh\n";
    let texts: Vec<String> = scan_text(sh, "f").into_iter().map(|h| h.text).collect();
    assert!(
        texts.contains(&"busybox:1.36".to_string())
            && texts.contains(&"quay.io/x/y:v2".to_string())
    );
}
