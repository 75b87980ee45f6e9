//! Unit tests of `engine::registry`.

use super::*;

#[test]
fn hosts_toml_shape() {
    let t = hosts_toml(
        "docker.io",
        &["http://10.0.0.2:5000".into()],
        "sealer:c",
        "sea.hub:5000",
    );
    assert!(t.starts_with("# sealer:c\nserver = \"https://registry-1.docker.io\"\n"));
    assert!(
        t.contains("[host.\"http://10.0.0.2:5000\"]\n  capabilities = [\"pull\", \"resolve\"]")
    );
    let l = hosts_toml("sea.hub:5000", &[], "m", "sea.hub:5000");
    assert!(l.contains("server = \"http://sea.hub:5000\""));
    let imgs = vec![
        ContainerImage {
            image: "nginx:1".into(),
            ..Default::default()
        },
        ContainerImage {
            image: "quay.io/x/y:1".into(),
            ..Default::default()
        },
    ];
    let d: Vec<String> = mirror_domains(&imgs, "sea.hub:5000").into_iter().collect();
    assert_eq!(d, ["docker.io", "quay.io", "sea.hub:5000"]);
}
