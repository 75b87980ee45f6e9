//! Unit tests of `apiserver::controllers`.

use super::*;
use crate::apiserver::store::{Key, Store};
use crate::apiserver::workloads::{bootstrap, reconcile};

#[test]
fn deployment_gets_ready_status_replicaset_and_pods() {
    let store = Store::new();
    let mut s = store.lock();
    bootstrap(&mut s, "v1.32.0");
    let rt = s.registry.find("apps", "v1", "deployments").unwrap();
    let mut d = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default",
        "uid":"u-d","generation":1},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
        "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}});
    prepare(&mut s, &rt, &mut d);
    assert_eq!(d["status"]["readyReplicas"], 2);
    assert_eq!(d["status"]["conditions"][0]["type"], "Available");
    let stored = s.put(Key::new("apps", "deployments", "default", "web"), d, false);
    reconcile(&mut s, &rt, &stored);
    let pods = s.list("", "pods", Some("default"));
    assert_eq!(pods.len(), 2);
    assert_eq!(pods[0]["status"]["phase"], "Running");
    assert_eq!(pods[0]["status"]["containerStatuses"][0]["image"], "nginx");
    assert_eq!(s.list("apps", "replicasets", Some("default")).len(), 1);
    // Scaling down removes a pod; deleting the deployment removes everything it owns.
    let mut d2 = (*stored).clone();
    d2["spec"]["replicas"] = json!(1);
    let stored = s.put(Key::new("apps", "deployments", "default", "web"), d2, false);
    reconcile(&mut s, &rt, &stored);
    assert_eq!(s.list("", "pods", Some("default")).len(), 1);
    s.remove_cascade(&Key::new("apps", "deployments", "default", "web"));
    assert!(s.list("", "pods", Some("default")).is_empty());
    assert!(s.list("apps", "replicasets", Some("default")).is_empty());
}

#[test]
fn secret_string_data_becomes_data() {
    let store = Store::new();
    let mut s = store.lock();
    let rt = s.registry.find("", "v1", "secrets").unwrap();
    let mut o = json!({"metadata":{"name":"s"},"stringData":{"k":"hello"}});
    prepare(&mut s, &rt, &mut o);
    assert_eq!(o["data"]["k"], "aGVsbG8=");
    assert_eq!(o["type"], "Opaque");
    assert!(o.get("stringData").is_none());
}
