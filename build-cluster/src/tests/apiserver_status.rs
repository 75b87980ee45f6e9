//! Unit tests of `apiserver::status`.

use super::*;
use crate::apiserver::resources::Registry;

#[test]
fn not_found_matches_apiserver() {
    let r = Registry::builtin();
    let d = r.find("apps", "v1", "deployments").unwrap();
    let b = ApiError::not_found(&d, "x").body();
    assert_eq!(b["message"], "deployments.apps \"x\" not found");
    assert_eq!(b["reason"], "NotFound");
    assert_eq!(b["code"], 404);
    assert_eq!(b["details"]["group"], "apps");
    let cm = r.find("", "v1", "configmaps").unwrap();
    let b = ApiError::already_exists(&cm, "c").body();
    assert_eq!(b["message"], "configmaps \"c\" already exists");
    assert!(b["details"].get("group").is_none());
}

#[test]
fn invalid_joins_causes() {
    let r = Registry::builtin();
    let cm = r.find("", "v1", "configmaps").unwrap();
    let e = ApiError::invalid(&cm, "X", &[("metadata.name".into(), "bad".into())]);
    assert_eq!(e.message, "ConfigMap \"X\" is invalid: metadata.name: bad");
    assert_eq!(e.code, 422);
}
