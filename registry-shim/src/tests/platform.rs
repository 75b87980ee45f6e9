//! Unit tests of `platform`.

use super::*;

#[test]
fn parse_and_match() {
    let p = Platform::parse("linux/amd64").unwrap();
    assert!(p.matches("linux", "amd64", None));
    assert!(!p.matches("linux", "arm64", None));
    let arm = Platform::parse("linux/arm64/v8").unwrap();
    assert!(arm.matches("linux", "arm64", None));
    assert!(arm.matches("linux", "arm64", Some("v8")));
    assert!(
        !Platform::parse("linux/arm/v7")
            .unwrap()
            .matches("linux", "arm", Some("v6"))
    );
    assert_eq!(
        Platform::parse("linux/x86_64").unwrap().to_string(),
        "linux/amd64"
    );
    assert!(Platform::parse("linux").is_err());
    assert!(Platform::parse("linux//x").is_err());
}
