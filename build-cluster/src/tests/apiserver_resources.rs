//! Unit tests of `apiserver::resources`.

use super::*;
use serde_json::json;

#[test]
fn builtin_table_parses() {
    let r = Registry::builtin();
    let d = r.find("apps", "v1", "deployments").unwrap();
    assert_eq!(d.kind, "Deployment");
    assert!(d.namespaced && d.has_scale && d.has_status);
    assert_eq!(d.qualified(), "deployments.apps");
    let ns = r.find("", "v1", "namespaces").unwrap();
    assert!(!ns.namespaced);
    assert_eq!(ns.api_version(), "v1");
    assert!(r.find("", "v1", "nope").is_none());
}

#[test]
fn crd_adds_and_removes_types() {
    let mut r = Registry::builtin();
    let crd = json!({"metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com",
        "names":{"plural":"widgets","kind":"Widget","shortNames":["wd"]},"scope":"Namespaced",
        "versions":[{"name":"v1alpha1","served":true,"storage":false},
                    {"name":"v1","served":true,"storage":true,"subresources":{"status":{}}}]}});
    r.apply_crd(&crd);
    let w = r.find("example.com", "v1", "widgets").unwrap();
    assert!(w.has_status && w.namespaced);
    assert_eq!(w.short_names, vec!["wd"]);
    let gv = r.group_versions();
    let (_, versions) = gv.iter().find(|(g, _)| g == "example.com").unwrap();
    assert_eq!(versions, &vec!["v1".to_string(), "v1alpha1".to_string()]);
    r.remove_crd("widgets.example.com");
    assert!(r.find("example.com", "v1", "widgets").is_none());
}
