//! Unit tests of `apiserver::write`.

use super::*;
use crate::apiserver::store::Store;

fn ctx<'a>(rt: &'a ResourceType, ns: Option<&'a str>) -> WriteCtx<'a> {
    WriteCtx {
        rt,
        namespace: ns,
        url_name: None,
        strict: true,
        dry_run: false,
        status_only: false,
    }
}

#[test]
fn create_checks_namespace_name_and_fields() {
    let store = Store::new();
    let mut s = store.lock();
    workloads::bootstrap(&mut s, "v1.32.0");
    let cm = s.registry.find("", "v1", "configmaps").unwrap();
    let e = write(
        &mut s,
        &ctx(&cm, Some("nope")),
        json!({"metadata":{"name":"c"}}),
        None,
    )
    .unwrap_err();
    assert_eq!(e.message, "namespaces \"nope\" not found");
    let e = write(
        &mut s,
        &ctx(&cm, Some("default")),
        json!({"metadata":{"name":"Bad_Name"}}),
        None,
    )
    .unwrap_err();
    assert_eq!(e.code, 422);
    assert!(
        e.message
            .starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value")
    );
    let e = write(
        &mut s,
        &ctx(&cm, Some("default")),
        json!({"metadata":{"name":"c"},"dta":{}}),
        None,
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"dta\""
    );
    let ok = write(
        &mut s,
        &ctx(&cm, Some("default")),
        json!({"metadata":{"generateName":"c-"}}),
        None,
    )
    .unwrap();
    assert!(ok["metadata"]["name"].as_str().unwrap().starts_with("c-"));
    assert_eq!(ok["metadata"]["generation"], 1);
    let again = json!({"metadata":{"name": ok["metadata"]["name"].clone()}});
    let e = write(&mut s, &ctx(&cm, Some("default")), again, None).unwrap_err();
    assert_eq!(e.reason, "AlreadyExists");
}
