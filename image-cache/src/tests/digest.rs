//! Unit tests of `digest`.

use super::*;

#[test]
fn known_vectors() {
    assert_eq!(
        sha256_of(b"").to_string(),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        sha256_of(b"{}").to_string(),
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
    let (d, n) = sha256_reader(&b"{}"[..]).unwrap();
    assert_eq!(d, sha256_of(b"{}"));
    assert_eq!(n, 2);
}

#[test]
fn parse_rejects_other_algorithms() {
    assert!(parse_sha256("sha512:abcd").is_err());
    assert!(parse_sha256("sha256:abcd").is_err());
    assert!(
        parse_sha256("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            .is_ok()
    );
}
