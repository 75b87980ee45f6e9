//! Unit tests of `apiserver::store`.

use super::*;
use serde_json::json;

#[test]
fn put_remove_and_cascade() {
    let store = Store::new();
    let mut s = store.lock();
    let mut rx = s.subscribe();
    let ns = Key::new("", "namespaces", "", "a");
    s.put(
        ns.clone(),
        json!({"metadata":{"name":"a","uid":"u-ns"}}),
        false,
    );
    let owner = Key::new("apps", "deployments", "a", "d");
    s.put(
        owner.clone(),
        json!({"metadata":{"name":"d","uid":"u1"}}),
        false,
    );
    let pod = Key::new("", "pods", "a", "p");
    s.put(
        pod.clone(),
        json!({"metadata":{"name":"p","ownerReferences":[{"uid":"u1"}]}}),
        true,
    );
    assert_eq!(s.list("", "pods", Some("a")).len(), 1);
    assert_eq!(s.list("", "pods", Some("b")).len(), 0);
    let first = rx.try_recv().unwrap();
    assert_eq!(first.kind, EventType::Added);
    assert_eq!(first.object["metadata"]["resourceVersion"], "2");
    s.remove_cascade(&owner);
    assert!(s.get(&pod).is_none());
    s.remove_cascade(&ns);
    assert!(s.objects.is_empty());
    assert_eq!(s.history.last().unwrap().kind, EventType::Deleted);
}
