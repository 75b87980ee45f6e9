//! Unit tests of `apiserver::discovery`.

use super::*;

#[test]
fn documents_have_the_expected_shape() {
    let reg = Registry::builtin();
    let l = resource_list(&reg, "apps", "v1").unwrap();
    assert_eq!(l["groupVersion"], "apps/v1");
    let names: Vec<&str> = l["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"deployments") && names.contains(&"deployments/scale"));
    assert!(resource_list(&reg, "nope", "v1").is_none());
    let groups = api_group_list(&reg);
    assert!(
        groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "apps")
    );
    let agg = aggregated(&reg, true);
    assert_eq!(agg["items"].as_array().unwrap().len(), 1);
    assert!(wants_aggregated(
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    ));
    assert!(!wants_aggregated("application/json"));
}
