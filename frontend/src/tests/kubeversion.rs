//! Masterminds-style KUBEVERSION ranges.

use crate::kubeversion::KubeVersionRange;
use semver::Version;

fn check(range: &str, yes: &[&str], no: &[&str]) {
    let r = KubeVersionRange::parse(range).unwrap_or_else(|e| panic!("{range}: {e}"));
    for v in yes {
        assert!(
            r.matches(&Version::parse(v).unwrap()),
            "{range} should match {v}"
        );
    }
    for v in no {
        assert!(
            !r.matches(&Version::parse(v).unwrap()),
            "{range} should not match {v}"
        );
    }
}

#[test]
fn range_forms() {
    check(
        "1.22 - 1.24",
        &["1.22.0", "1.23.5", "1.24.9"],
        &["1.21.9", "1.25.0"],
    );
    check(">=1.22 <1.26", &["1.22.0", "1.25.3"], &["1.21.0", "1.26.0"]);
    check(">= 1.22, < 1.26", &["1.22.0", "1.25.3"], &["1.26.0"]);
    check("~1.24", &["1.24.0", "1.24.17"], &["1.25.0", "1.23.9"]);
    check("~1.24.3", &["1.24.3", "1.24.9"], &["1.24.2", "1.25.0"]);
    check("^1.2", &["1.2.0", "1.30.1"], &["2.0.0", "1.1.9"]);
    check("^0.2.3", &["0.2.3", "0.2.9"], &["0.3.0"]);
    check(
        "1.22.x || 1.24.x",
        &["1.22.3", "1.24.0"],
        &["1.23.0", "1.25.0"],
    );
    check("v1.22.x", &["1.22.3"], &["1.23.0"]);
    check("*", &["0.0.1", "1.30.0"], &["1.30.0-rc.1"]);
    check("1.24", &["1.24.0", "1.24.5"], &["1.25.0"]);
    check("=1.24.2", &["1.24.2"], &["1.24.3"]);
    check("!=1.24.2", &["1.24.3"], &["1.24.2"]);
    check(">1.24", &["1.25.0"], &["1.24.9"]);
    check("<=1.24", &["1.24.9", "1.10.0"], &["1.25.0"]);
    check(">=1.25.0-0", &["1.25.0-rc.1", "1.26.0"], &["1.24.0"]);
    check("~> 1.24", &["1.24.1"], &["1.25.0"]);
}

#[test]
fn range_errors_have_offsets() {
    for (text, offset) in [
        (">=1.22 <abc", 8),
        ("1.22 -", 5),
        (">=1.22 ||", 9),
        ("", 0),
        ("1.22 - x.y.q", 8),
        ("99999999999999999999999", 0),
    ] {
        let e = KubeVersionRange::parse(text).unwrap_err();
        assert_eq!(e.offset, offset, "{text}: {}", e.message);
    }
}
