//! Unit tests of `discover::report`.

use super::*;

#[test]
fn confidence_is_the_strongest_sighting_and_json_matches() {
    let mut b = ReportBuilder::default();
    let p = |via, app: &str| Provenance {
        via,
        app: Some(app.into()),
        object: None,
        field: None,
        file: None,
    };
    b.add(
        "docker.io/library/nginx:1.25".into(),
        p(Confidence::Indirect, "a"),
    );
    b.add(
        "docker.io/library/nginx:1.25".into(),
        p(Confidence::Declared, "a"),
    );
    b.add(
        "docker.io/library/nginx:1.25".into(),
        p(Confidence::Declared, "a"),
    );
    b.add("quay.io/x/y:v1".into(), p(Confidence::Indirect, "b"));
    b.unresolved("{{ .Values.image }}", "templated", p(Confidence::List, "c"));
    let r = b.finish();
    assert_eq!(r.images[0].confidence, Confidence::Declared);
    assert_eq!(r.images[0].provenance.len(), 2);
    assert_eq!(r.references(false), vec!["docker.io/library/nginx:1.25"]);
    assert_eq!(r.references(true).len(), 2);
    let v: serde_json::Value = serde_json::from_str(&r.to_json_pretty()).unwrap();
    assert_eq!(v["images"][0]["confidence"], "declared");
    assert_eq!(v["images"][0]["provenance"][0]["via"], "indirect");
    assert_eq!(v["unresolved"][0]["text"], "{{ .Values.image }}");
    let back: Report = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
}
