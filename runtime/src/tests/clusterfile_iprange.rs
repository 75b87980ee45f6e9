//! Unit tests of `clusterfile::iprange`.

use super::*;

#[test]
fn lists_and_ranges() {
    let ips = expand_ip_list("10.0.0.1-10.0.0.3, 10.0.0.9,10.0.0.2").unwrap();
    let shown: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
    assert_eq!(shown, ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.9"]);
    assert_eq!(expand_ip_list("::1").unwrap().len(), 1);
    assert_eq!(
        expand_ip_list("10.0.0.255-10.0.1.1").unwrap().len(),
        3,
        "ranges cross octet boundaries"
    );
}

#[test]
fn bad_input_is_explained() {
    assert!(
        expand_ip_list("10.0.0.9-10.0.0.1")
            .unwrap_err()
            .contains("start is after")
    );
    assert!(
        expand_ip_list("host-a")
            .unwrap_err()
            .contains("not an IPv4")
    );
    assert!(
        expand_ip_list("10.0.0.300")
            .unwrap_err()
            .contains("invalid IP")
    );
    assert!(
        expand_ip_list("10.0.0.0-10.0.255.255")
            .unwrap_err()
            .contains("limit")
    );
}
