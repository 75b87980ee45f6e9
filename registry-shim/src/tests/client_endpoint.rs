//! Unit tests of `client::endpoint`.

use super::*;

#[test]
fn loopback_and_locations() {
    assert!(is_loopback("127.0.0.1:5000"));
    assert!(is_loopback("127.3.4.5"));
    assert!(is_loopback("localhost:80"));
    assert!(is_loopback("[::1]:5000"));
    assert!(!is_loopback("10.0.0.1:5000"));
    assert!(!is_loopback("quay.io"));
    let ep = Endpoint {
        registry: "r".into(),
        base: "http://127.0.0.1:5000".into(),
        tls_insecure: false,
        direct: true,
    };
    assert_eq!(
        ep.resolve_location("/v2/x?a=b"),
        "http://127.0.0.1:5000/v2/x?a=b"
    );
    assert_eq!(ep.resolve_location("https://s3/x"), "https://s3/x");
}
