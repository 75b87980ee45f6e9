//! Unit tests of `apiserver::meta`.

use super::*;

#[test]
fn time_and_encoding() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
    assert_eq!(base64_encode(b"hi!"), "aGkh");
    assert_eq!(base64_encode(b"a"), "YQ==");
    assert_ne!(new_uid(), new_uid());
    assert_eq!(new_uid().len(), 36);
    assert_eq!(name_suffix(12345).len(), 5);
}
