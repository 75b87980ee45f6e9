//! Unit tests of `apiserver::openapi`.

use super::*;

#[test]
fn patch_ops_carry_field_validation() {
    let reg = Registry::builtin();
    let r = root(&reg);
    let url = r["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap();
    assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="));
    let d = document_for_path(&reg, "apis/apps/v1").unwrap();
    let op = &d["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(op["x-kubernetes-group-version-kind"]["kind"], "Deployment");
    assert!(
        op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    assert!(
        document_for_path(&reg, "api/v1").unwrap()["paths"]
            .get("/api/v1/namespaces/{name}")
            .is_some()
    );
    assert!(document_for_path(&reg, "apis/none/v1").is_none());
}
