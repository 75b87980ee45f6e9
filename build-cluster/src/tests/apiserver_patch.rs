//! Unit tests of `apiserver::patch`.

use super::*;
use serde_json::json;

#[test]
fn json_patch_ops() {
    let d = json!({"a":{"b":[1,2]},"c":1});
    let p = json!([{"op":"add","path":"/a/b/-","value":3},{"op":"remove","path":"/c"},
        {"op":"replace","path":"/a/b/0","value":9},{"op":"copy","from":"/a/b","path":"/d"},
        {"op":"test","path":"/d/2","value":3},{"op":"add","path":"/a/x~1y","value":true}]);
    let out = json_patch(&d, &p).unwrap();
    assert_eq!(out, json!({"a":{"b":[9,2,3],"x/y":true},"d":[9,2,3]}));
    assert!(json_patch(&d, &json!([{"op":"remove","path":"/zz"}])).is_err());
    assert!(json_patch(&d, &json!([{"op":"test","path":"/c","value":2}])).is_err());
}

#[test]
fn merge_patch_rfc7386() {
    let t = json!({"a":"b","c":{"d":"e","f":"g"},"l":[1,2]});
    let p = json!({"a":"z","c":{"f":null},"l":[3]});
    assert_eq!(merge_patch(&t, &p), json!({"a":"z","c":{"d":"e"},"l":[3]}));
}

#[test]
fn strategic_merges_containers_by_name() {
    let t = json!({"spec":{"containers":[{"name":"a","image":"x:1"},{"name":"b","image":"y:1"}],
        "finalizers":["f1"]}});
    let p = json!({"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],
        "containers":[{"name":"b","image":"y:2"},{"name":"a","$patch":"delete"},{"name":"c","image":"z"}],
        "finalizers":["f2"]}});
    let out = strategic_merge(&t, &p);
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name":"b","image":"y:2"},{"name":"c","image":"z"}])
    );
    assert_eq!(out["spec"]["finalizers"], json!(["f1", "f2"]));
    let r = strategic_merge(&t, &json!({"spec":{"$patch":"replace","x":1}}));
    assert_eq!(r, json!({"spec":{"x":1}}));
    let d = strategic_merge(
        &json!({"args":["a","b"]}),
        &json!({"$deleteFromPrimitiveList/args":["a"]}),
    );
    assert_eq!(d, json!({"args":["b"]}));
}

#[test]
fn apply_prunes_dropped_fields() {
    let existing = json!({"metadata":{"labels":{"a":"1","b":"2","other":"x"}},"data":{"k":"v"}});
    let prev = json!({"metadata":{"labels":{"a":"1","b":"2"}},"data":{"k":"v"}});
    let applied = json!({"metadata":{"labels":{"a":"1"}},"data":{"k":"w"}});
    let out = server_side_apply(&existing, Some(&prev), &applied);
    assert_eq!(
        out,
        json!({"metadata":{"labels":{"a":"1","other":"x"}},"data":{"k":"w"}})
    );
    let existing = json!({"spec":{"containers":[{"name":"a","image":"x"},{"name":"m","image":"y"},{"name":"o"}]}});
    let prev = json!({"spec":{"containers":[{"name":"a","image":"x"},{"name":"m","image":"y"}]}});
    let applied = json!({"spec":{"containers":[{"name":"a","image":"x2"}]}});
    let out = server_side_apply(&existing, Some(&prev), &applied);
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name":"a","image":"x2"},{"name":"o"}])
    );
}
