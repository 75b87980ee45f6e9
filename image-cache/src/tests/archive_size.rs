//! Unit tests of `archive::size`.

use super::parse_size;

#[test]
fn units() {
    for (text, want) in [
        ("100M", 100 << 20),
        ("4G", 4 << 30),
        ("650MiB", 650 << 20),
        ("650mib", 650 << 20),
        ("1000000", 1_000_000),
        ("512b", 512),
        ("100MB", 100_000_000),
        ("2kb", 2_000),
        ("64K", 64 << 10),
        ("1.5G", 3 << 29),
        ("1T", 1 << 40),
        (" 8 MiB ", 8 << 20),
    ] {
        assert_eq!(parse_size(text).unwrap(), want, "{text}");
    }
}

#[test]
fn rejects() {
    for text in [
        "",
        "M",
        "0",
        "12X",
        "1.2.3G",
        "-5M",
        "99999999999999999999T",
        "4 G B",
    ] {
        let err = parse_size(text).unwrap_err();
        assert!(err.to_string().contains("invalid size"), "{text}: {err}");
    }
}
