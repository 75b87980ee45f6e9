//! Unit tests of `timefmt`.

use super::*;
use std::time::Duration;

#[test]
fn formats_known_instants() {
    assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_123);
    assert_eq!(rfc3339(t), "2024-02-29T23:59:59.123Z");
}
