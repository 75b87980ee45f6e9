//! Unit tests of `rootfs::overlay`.

use super::*;

#[test]
fn render_keeps_unknown_constructs() {
    let env = BTreeMap::from([("A".to_string(), "1".to_string())]);
    assert_eq!(
        render("x={{ .A }} y={{.B}} {{ if x }}", &env),
        "x=1 y= {{ if x }}"
    );
    assert_eq!(render("open {{ .A", &env), "open {{ .A");
}

#[test]
fn merge_and_process() {
    let m = merge_yaml(b"a: 1\nb:\n  c: 2\n  d: 3\n", b"b:\n  c: 9\ne: [1]\n").unwrap();
    let v: serde_json::Value = serde_saphyr::from_str(std::str::from_utf8(&m).unwrap()).unwrap();
    assert_eq!(v["a"], 1);
    assert_eq!(v["b"]["c"], 9);
    assert_eq!(v["b"]["d"], 3);
    assert_eq!(v["e"][0], 1);
    assert_eq!(base64(b"hello!?"), "aGVsbG8hPw==");
    assert_eq!(
        process("a: 1", "toJson|toBase64").unwrap(),
        base64(b"{\"a\":1}")
    );
    assert!(check_process("toSecret").is_err());
    assert!(check_config_path("../etc").is_err());
    assert!(check_config_path("/etc/x").is_err());
    assert!(check_config_path("etc/x.yaml").is_ok());
}
