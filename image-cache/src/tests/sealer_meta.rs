//! Unit tests of `sealer_meta`.

use super::*;

#[test]
fn extension_json_matches_sealer_shape() {
    let ext = ImageExtension {
        schema_version: SCHEMA_VERSION_V1ALPHA1.into(),
        applications: vec![Application {
            name: "myapp".into(),
            app_type: AppType::Kube,
            files: vec!["app.yaml".into()],
            ..Default::default()
        }],
        launch: Launch {
            app_names: vec!["myapp".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let v: serde_json::Value = serde_json::to_value(&ext).unwrap();
    assert_eq!(v["type"], "kube-installer");
    assert_eq!(v["schemaVersion"], "v1alpha1");
    assert_eq!(v["launch"]["app_names"][0], "myapp");
    assert_eq!(v["applications"][0]["type"], "kube");
    assert!(v["buildClient"].get("sealerVersion").is_some());
    let back: ImageExtension = serde_json::from_value(v).unwrap();
    assert_eq!(back, ext);
}

#[test]
fn unknown_app_type_is_empty_string() {
    let app = Application {
        name: "m".into(),
        ..Default::default()
    };
    let v = serde_json::to_value(&app).unwrap();
    assert_eq!(v["type"], "");
}

#[test]
fn platform_parse_and_display() {
    let p = Platform::parse("linux/arm64/v8").unwrap();
    assert_eq!(p.to_string(), "linux/arm64/v8");
    assert_eq!(
        Platform::parse("linux/x86_64").unwrap().architecture,
        "amd64"
    );
    assert!(Platform::parse("linux").is_err());
}
