//! Unit tests of `apiserver::proto`.

use super::*;

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn field(num: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(num << 3 | 2, &mut out);
    varint(payload.len() as u64, &mut out);
    out.extend_from_slice(payload);
    out
}

#[test]
fn decodes_a_secret_envelope() {
    let mut meta = field(1, b"s1");
    meta.extend(field(3, b"default"));
    meta.extend(field(11, &[field(1, b"owner"), field(2, b"helm")].concat()));
    let mut secret = field(1, &meta);
    secret.extend(field(
        2,
        &[field(1, b"release"), field(2, b"hello")].concat(),
    ));
    secret.extend(field(3, b"helm.sh/release.v1"));
    let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
    let unknown = [field(1, &type_meta), field(2, &secret)].concat();
    let body = [MAGIC.to_vec(), unknown].concat();
    assert!(is_protobuf(&body));
    let v = decode(&body).unwrap();
    assert_eq!(v["kind"], "Secret");
    assert_eq!(v["metadata"]["name"], "s1");
    assert_eq!(v["metadata"]["labels"]["owner"], "helm");
    assert_eq!(v["data"]["release"], "aGVsbG8=");
    assert_eq!(v["type"], "helm.sh/release.v1");
    assert!(decode(b"k8s\0\x0a").is_err());
}
