//! Unit tests of `manifest`.

use super::*;

#[test]
fn sniffs_types() {
    let d = Digest::of(b"c");
    let m = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"{d}","size":1}},"layers":[]}}"#
    );
    assert_eq!(
        Manifest::parse(m.as_bytes()).unwrap().media_type(),
        OCI_MANIFEST
    );
    let i = format!(
        r#"{{"schemaVersion":2,"mediaType":"{DOCKER_LIST}","manifests":[{{"digest":"{d}","size":3,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#
    );
    match Manifest::parse(i.as_bytes()).unwrap() {
        Manifest::Index {
            media_type,
            manifests,
        } => {
            assert_eq!(media_type, DOCKER_LIST);
            assert_eq!(manifests[0].platform.as_ref().unwrap().os, "linux");
        }
        other => panic!("{other:?}"),
    }
    assert!(Manifest::parse(b"{not json").is_err());
}
