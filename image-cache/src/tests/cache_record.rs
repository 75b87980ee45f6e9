//! Unit tests of `cache_record`.

use super::*;

#[test]
fn serde_shape_is_camel_case() {
    let rec = CacheRecord {
        layers: vec![LayerRef {
            media_type: "application/vnd.oci.image.layer.v1.tar+zstd".into(),
            digest: "sha256:aa".into(),
            size: 3,
            diff_id: "sha256:bb".into(),
        }],
        created_by: "COPY a b".into(),
        extra: BTreeMap::new(),
    };
    let v = serde_json::to_value(&rec).unwrap();
    assert_eq!(v["createdBy"], "COPY a b");
    assert_eq!(
        v["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    assert_eq!(v["layers"][0]["diffId"], "sha256:bb");
    let no_extra: CacheRecord = serde_json::from_str(r#"{"layers":[],"createdBy":"x"}"#).unwrap();
    assert!(no_extra.extra.is_empty());
}

#[test]
fn key_must_be_sha256() {
    assert!(key_hex("sha256:../../etc").is_err());
    assert!(key_hex("abc").is_err());
    let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_eq!(key_hex(&format!("sha256:{hex}")).unwrap(), hex);
}
