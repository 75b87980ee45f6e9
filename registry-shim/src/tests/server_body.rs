//! Unit tests of `server::body`.

use super::parse_range;

#[test]
fn ranges() {
    assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 9))));
    assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 99))));
    assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 99))));
    assert_eq!(parse_range("bytes=50-500", 100), Ok(Some((50, 99))));
    assert_eq!(parse_range("bytes=100-", 100), Err(()));
    assert_eq!(parse_range("bytes=5-1", 100), Err(()));
    assert_eq!(parse_range("items=1-2", 100), Ok(None));
}
