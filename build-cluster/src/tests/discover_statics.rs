//! Unit tests of `discover::statics`.

use super::*;

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn manifests_image_lists_and_charts_without_helm() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("manifests/imageList"),
        "# comment\nnginx:1.25\n\n{{ .Values.x }}\n",
    );
    write(
        &root.join("manifests/calico.yaml"),
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: calico-node, namespace: kube-system}\nspec:\n  template:\n    spec:\n      containers: [{name: n, image: 'docker.io/calico/node:v3.27.0'}]\n",
    );
    write(
        &root.join("charts/redis/Chart.yaml"),
        "apiVersion: v2\nname: redis\nversion: 1.0.0\n",
    );
    write(
        &root.join("charts/redis/values.yaml"),
        "image: {registry: docker.io, repository: bitnami/redis, tag: 7.2.4}\n",
    );
    write(
        &root.join("charts/redis/templates/x.yaml"),
        "image: {{ .Values.image.repository }}\n",
    );
    let input = StaticInput {
        rootfs: root.to_path_buf(),
        apps: vec![],
        image_lists: vec![],
        helm: None,
        work_dir: root.join("w"),
    };
    let r = scan_static(&input).unwrap().finish();
    let nginx = r.find("docker.io/library/nginx:1.25").unwrap();
    assert_eq!(nginx.confidence, Confidence::List);
    assert_eq!(
        nginx.provenance[0].file.as_deref(),
        Some("manifests/imageList")
    );
    let calico = r.find("docker.io/calico/node:v3.27.0").unwrap();
    assert_eq!(
        calico.provenance[0].object.as_deref(),
        Some("DaemonSet/kube-system/calico-node")
    );
    assert_eq!(calico.confidence, Confidence::List);
    assert_eq!(
        r.find("docker.io/bitnami/redis:7.2.4").unwrap().confidence,
        Confidence::Indirect
    );
    assert_eq!(r.unresolved.len(), 1);
    assert_eq!(r.images.len(), 3);
}
