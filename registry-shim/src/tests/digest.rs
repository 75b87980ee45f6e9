//! Unit tests of `digest`.

use super::*;

#[test]
fn parses_and_rejects() {
    let d = Digest::of(b"");
    assert_eq!(
        d.to_string(),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
    assert!(matches!(
        Digest::parse("sha256:abc"),
        Err(DigestError::Malformed(_))
    ));
    assert!(matches!(
        Digest::parse("sha512:abc"),
        Err(DigestError::UnsupportedAlgorithm(_))
    ));
    assert!(Digest::parse(&d.to_string().to_uppercase()).is_err());
    assert!(Digest::parse("nocolon").is_err());
}
