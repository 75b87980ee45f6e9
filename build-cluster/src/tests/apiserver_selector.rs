//! Unit tests of `apiserver::selector`.

use super::*;
use serde_json::json;

#[test]
fn label_selector_grammar() {
    let o = json!({"metadata":{"labels":{"owner":"helm","name":"r1","status":"deployed"}}});
    let ok = |s: &str| LabelSelector::parse(s).unwrap().matches(&o);
    assert!(ok("owner=helm,name=r1"));
    assert!(ok("owner==helm"));
    assert!(!ok("owner=kubectl"));
    assert!(ok("status!=superseded"));
    assert!(ok("status in (deployed, failed),owner"));
    assert!(!ok("status notin (deployed)"));
    assert!(ok("!missing"));
    assert!(!ok("missing"));
    assert!(ok(""));
    assert!(LabelSelector::parse("a in b").is_err());
}

#[test]
fn field_selector_paths() {
    let o = json!({"metadata":{"name":"x","namespace":"d"},"status":{"phase":"Running"}});
    assert!(FieldSelector::parse("metadata.name=x").unwrap().matches(&o));
    assert!(
        FieldSelector::parse("metadata.name!=y,status.phase==Running")
            .unwrap()
            .matches(&o)
    );
    assert!(
        !FieldSelector::parse("metadata.namespace=z")
            .unwrap()
            .matches(&o)
    );
    assert!(FieldSelector::parse("bogus").is_err());
}
