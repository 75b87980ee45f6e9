//! Unit tests of `apiserver::schema`.

use super::*;
use serde_json::json;

#[test]
fn deployment_unknown_fields_have_go_paths() {
    let s = builtin("apps", "Deployment").unwrap();
    let d = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x","bogus":1},
        "spec":{"foo":1,"template":{"spec":{"containers":[{"name":"a","imagee":"x"}]}}}});
    let u = unknown_fields(s, &d);
    assert_eq!(
        u,
        vec![
            "metadata.bogus",
            "spec.foo",
            "spec.template.spec.containers[0].imagee"
        ]
    );
    assert_eq!(
        strict_message(&u[1..2]),
        "strict decoding error: unknown field \"spec.foo\""
    );
    assert!(builtin("apps", "Nope").is_none());
    let ok = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"b"}});
    assert!(unknown_fields(builtin("", "ConfigMap").unwrap(), &ok).is_empty());
}

#[test]
fn crd_schema_conversion() {
    let root = json!({"type":"object","properties":{"spec":{"type":"object","properties":{
        "image":{"type":"string"},"extra":{"type":"object","x-kubernetes-preserve-unknown-fields":true},
        "items":{"type":"array","items":{"type":"object","properties":{"n":{"type":"string"}}}},
        "labels":{"type":"object","additionalProperties":{"type":"string"}}}}}});
    let s = from_openapi(&root);
    let cr = json!({"apiVersion":"e/v1","kind":"W","metadata":{"name":"w"},"spec":{"image":"x",
        "extra":{"anything":1},"items":[{"n":"a","m":1}],"labels":{"a":"b"},"typo":true}});
    assert_eq!(
        unknown_fields(&s, &cr),
        vec!["spec.items[0].m", "spec.typo"]
    );
}
