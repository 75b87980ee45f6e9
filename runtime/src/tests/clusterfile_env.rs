//! Unit tests of `clusterfile::env`.

use super::*;

#[test]
fn parse_and_merge() {
    let a = parse_env(&["A=1".into(), "L=x;y".into(), "E=".into()]).unwrap();
    assert_eq!(a["L"], "x y");
    assert_eq!(a["E"], "");
    let b = parse_env(&["A=2".into(), "eq=a=b".into()]).unwrap();
    assert_eq!(b["eq"], "a=b");
    let m = merge_env([&a, &b]);
    assert_eq!(m["A"], "2");
    assert!(
        parse_env(&["novalue".into()])
            .unwrap_err()
            .contains("KEY=VALUE")
    );
    assert!(parse_env(&["=v".into()]).is_err());
}
