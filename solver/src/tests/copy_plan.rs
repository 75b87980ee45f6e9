//! Unit tests of `copy_plan`.

use super::*;

#[test]
fn dest_rules() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ctx");
    std::fs::create_dir_all(root.join("d")).unwrap();
    std::fs::write(root.join("a.yaml"), "a").unwrap();
    std::fs::write(root.join("d/x"), "x").unwrap();
    let ctx = LocalContext::new(&root).unwrap();
    let plan = |sources: &[&str], dest: &str| {
        let op = CopyOp {
            sources: sources
                .iter()
                .map(|s| CopySource::Context {
                    path: s.to_string(),
                })
                .collect(),
            dest: dest.into(),
            extract_archives: false,
        };
        plan_copy(&op, &ctx, &HashMap::new(), &[], dir.path())
            .unwrap()
            .into_iter()
            .map(|e| e.dest)
            .collect::<Vec<_>>()
    };
    assert_eq!(plan(&["a.yaml"], "manifests/"), vec!["manifests/a.yaml"]);
    assert_eq!(plan(&["a.yaml"], "/etc/app.yaml"), vec!["etc/app.yaml"]);
    assert_eq!(plan(&["a.yaml", "d"], "m"), vec!["m/a.yaml", "m"]);
    assert_eq!(plan(&["d"], "."), vec!["x"]);
    assert_eq!(plan(&["*.yaml"], "m/"), vec!["m/a.yaml"]);
}
