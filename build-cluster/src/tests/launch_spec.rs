//! Unit tests of `launch::spec`.

use super::*;
use serde_json::json;

fn spec() -> LaunchSpec {
    LaunchSpec::from_extension_json(&json!({
        "buildClient": {}, "schemaVersion": "v1alpha1", "type": "kube-installer",
        "env": {"G": "1"},
        "applications": [
            {"name": "web", "type": "kube", "files": ["a.yaml", "b.yaml"], "version": ""},
            {"name": "db", "type": "helm", "files": ["db"], "env": {"G": "2", "X": "y"}},
            {"name": "gen", "type": "shell", "files": ["gen.sh"]},
            {"name": "odd", "type": "", "files": ["x"], "cmds": ["make deploy"]}],
        "launch": {"app_names": ["web", "db"]}}))
    .unwrap()
}

#[test]
fn launch_and_unlaunched_passes() {
    let root = Path::new("/r");
    let passes = plan(root, &spec(), true).unwrap();
    let names: Vec<&str> = passes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["launch", "app:gen", "app:odd"]);
    let displays: Vec<&str> = passes[0].steps.iter().map(|s| s.display.as_str()).collect();
    assert_eq!(
        displays,
        [
            "kubectl apply -f application/apps/web/a.yaml",
            "kubectl apply -f application/apps/web/b.yaml",
            "helm install db application/apps/db/"
        ]
    );
    assert_eq!(passes[0].steps[2].env["G"], "2");
    assert_eq!(passes[0].steps[2].env["X"], "y");
    assert_eq!(passes[1].steps[0].args, ["application/apps/gen/gen.sh"]);
    let odd = &passes[2].steps[0];
    assert_eq!(
        (odd.program.as_str(), odd.cwd.as_path()),
        ("bash", Path::new("/r/application/apps/odd"))
    );
    assert_eq!(plan(root, &spec(), false).unwrap().len(), 1);
}

#[test]
fn cmds_and_errors() {
    let mut s = spec();
    s.launch = LaunchSection {
        cmds: vec!["kubectl apply -f x.yaml".into()],
        app_names: vec![],
    };
    let p = plan(Path::new("/r"), &s, false).unwrap();
    assert_eq!(p[0].steps[0].args, ["-c", "kubectl apply -f x.yaml"]);
    assert_eq!(p[0].steps[0].app, None);
    s.launch = LaunchSection {
        cmds: vec![],
        app_names: vec!["nope".into()],
    };
    assert!(matches!(
        plan(Path::new("/r"), &s, false),
        Err(LaunchError::UnknownApp { .. })
    ));
    s.applications.push(AppSpec {
        name: "bare".into(),
        ..Default::default()
    });
    s.launch.app_names = vec!["bare".into()];
    assert!(matches!(
        plan(Path::new("/r"), &s, false),
        Err(LaunchError::UntypedApp { .. })
    ));
}
