//! Unit tests of `snapshot`.

use super::*;

#[test]
fn diff_id_validation() {
    let good = format!("sha256:{}", "a".repeat(64));
    assert_eq!(diff_id_hex(&good).unwrap(), "a".repeat(64));
    assert!(diff_id_hex("sha256:../../etc").is_err());
    assert!(diff_id_hex(&format!("sha256:{}", "A".repeat(64))).is_err());
    assert!(diff_id_hex(&format!("sha512:{}", "a".repeat(64))).is_err());
}
