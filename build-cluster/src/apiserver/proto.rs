//! Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).
//!
//! client-go's typed clients (used by `kubectl create …` and by helm for its release Secrets)
//! send protobuf and do not retry in JSON, so the server reads it: the `k8s\0` envelope holds a
//! `runtime.Unknown` with the apiVersion/kind and the encoded object, which is decoded with the
//! field table in `proto/types.txt` (generated from the upstream `generated.proto` files by
//! `scripts/gen-proto-table.py`) into the JSON the rest of the server works with.

use super::meta::{base64_encode, rfc3339};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("proto/types.txt");
const MAGIC: &[u8] = b"k8s\0";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Card {
    One,
    Repeated,
    Map,
}

#[derive(Debug)]
struct Field {
    name: &'static str,
    card: Card,
    ty: &'static str,
}

type Table = HashMap<&'static str, HashMap<u64, Field>>;

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t: Table = HashMap::new();
        let mut cur: Option<&'static str> = None;
        for line in TABLE.lines() {
            if let Some(name) = line.strip_prefix("M ") {
                cur = Some(name);
                t.entry(name).or_default();
                continue;
            }
            let cols: Vec<&'static str> = line.split(' ').collect();
            if let ([num, name, card, ty], Some(msg)) = (cols.as_slice(), cur) {
                let Ok(num) = num.parse::<u64>() else {
                    continue;
                };
                let card = match *card {
                    "r" => Card::Repeated,
                    "m" => Card::Map,
                    _ => Card::One,
                };
                t.entry(msg)
                    .or_default()
                    .insert(num, Field { name, card, ty });
            }
        }
        t
    })
}

/// Whether a body is a Kubernetes protobuf envelope.
pub fn is_protobuf(body: &[u8]) -> bool {
    body.starts_with(MAGIC)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or("truncated field")?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

/// One raw field value.
enum Raw<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed(u64),
}

fn fields(buf: &[u8]) -> Result<Vec<(u64, Raw<'_>)>, String> {
    let mut r = Reader { buf, pos: 0 };
    let mut out = Vec::new();
    while !r.done() {
        let tag = r.varint()?;
        let v = match tag & 7 {
            0 => Raw::Varint(r.varint()?),
            1 => Raw::Fixed(u64::from_le_bytes(
                r.bytes(8)?.try_into().map_err(|_| "bad fixed64")?,
            )),
            2 => {
                let n = usize::try_from(r.varint()?).map_err(|_| "length overflow")?;
                Raw::Bytes(r.bytes(n)?)
            }
            5 => Raw::Fixed(u64::from(u32::from_le_bytes(
                r.bytes(4)?.try_into().map_err(|_| "bad fixed32")?,
            ))),
            w => return Err(format!("unsupported wire type {w}")),
        };
        out.push((tag >> 3, v));
    }
    Ok(out)
}

fn scalar(ty: &str, raw: &Raw<'_>) -> Result<Value, String> {
    Ok(match (ty, raw) {
        ("string", Raw::Bytes(b)) => json!(String::from_utf8_lossy(b)),
        ("bytes", Raw::Bytes(b)) => json!(base64_encode(b)),
        ("bool", Raw::Varint(v)) => json!(*v != 0),
        ("int32", Raw::Varint(v)) => json!(*v as i64 as i32),
        ("int64" | "sint64", Raw::Varint(v)) => json!(*v as i64),
        ("uint32" | "uint64", Raw::Varint(v)) => json!(*v),
        ("double", Raw::Fixed(v)) => json!(f64::from_bits(*v)),
        ("float", Raw::Fixed(v)) => json!(f32::from_bits(*v as u32)),
        (t, _) => return Err(format!("field of type {t} has an unexpected encoding")),
    })
}

fn value(ty: &str, raw: &Raw<'_>, depth: u8) -> Result<Value, String> {
    match raw {
        Raw::Bytes(b) if table().contains_key(ty) => message(ty, b, depth + 1),
        _ => scalar(ty, raw),
    }
}

/// Repeated scalars may come packed.
fn push_repeated(arr: &mut Vec<Value>, ty: &str, raw: &Raw<'_>, depth: u8) -> Result<(), String> {
    if let (Raw::Bytes(b), true) = (
        raw,
        matches!(ty, "int32" | "int64" | "bool" | "uint32" | "uint64"),
    ) {
        let mut r = Reader { buf: b, pos: 0 };
        while !r.done() {
            arr.push(scalar(ty, &Raw::Varint(r.varint()?))?);
        }
        return Ok(());
    }
    arr.push(value(ty, raw, depth)?);
    Ok(())
}

fn time(m: &Map<String, Value>, micro: bool) -> Value {
    let secs = m.get("seconds").and_then(Value::as_i64).unwrap_or(0);
    let nanos = m.get("nanos").and_then(Value::as_i64).unwrap_or(0);
    if secs <= 0 && nanos == 0 {
        return Value::Null;
    }
    let base = rfc3339(secs.max(0) as u64);
    if micro {
        json!(format!(
            "{}.{:06}Z",
            base.trim_end_matches('Z'),
            nanos / 1000
        ))
    } else {
        json!(base)
    }
}

/// Map the well-known wrapper messages to their JSON forms.
fn special(ty: &str, m: Map<String, Value>) -> Value {
    match ty {
        "k8s.io.apimachinery.pkg.apis.meta.v1.Time" => time(&m, false),
        "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime" => time(&m, true),
        "k8s.io.apimachinery.pkg.api.resource.Quantity" => {
            m.get("string").cloned().unwrap_or(json!("0"))
        }
        "k8s.io.apimachinery.pkg.apis.meta.v1.Duration" => {
            json!(format!(
                "{}s",
                m.get("duration").and_then(Value::as_i64).unwrap_or(0) / 1_000_000_000
            ))
        }
        "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => {
            if m.get("type").and_then(Value::as_i64) == Some(1) {
                m.get("strVal").cloned().unwrap_or(json!(""))
            } else {
                m.get("intVal").cloned().unwrap_or(json!(0))
            }
        }
        _ => Value::Object(m),
    }
}

fn raw_json(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap_or(Value::Null)
}

fn message(ty: &str, buf: &[u8], depth: u8) -> Result<Value, String> {
    if depth > 64 {
        return Err("message nesting too deep".into());
    }
    if matches!(
        ty,
        "k8s.io.apimachinery.pkg.runtime.RawExtension"
            | "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1"
    ) {
        let raw = fields(buf)?.into_iter().find_map(|(n, r)| match (n, r) {
            (1, Raw::Bytes(b)) => Some(raw_json(b)),
            _ => None,
        });
        return Ok(raw.unwrap_or(Value::Null));
    }
    let schema = table()
        .get(ty)
        .ok_or_else(|| format!("unknown protobuf message {ty}"))?;
    let mut out = Map::new();
    for (num, raw) in fields(buf)? {
        let Some(f) = schema.get(&num) else { continue };
        if f.ty == "?" {
            continue;
        }
        match f.card {
            Card::One => {
                let v = value(f.ty, &raw, depth)?;
                if !matches!(&v, Value::Null) && v != json!("") {
                    out.insert(f.name.to_string(), v);
                }
            }
            Card::Repeated => {
                let entry = out.entry(f.name.to_string()).or_insert_with(|| json!([]));
                if let Value::Array(arr) = entry {
                    push_repeated(arr, f.ty, &raw, depth)?;
                }
            }
            Card::Map => {
                let Raw::Bytes(b) = raw else { continue };
                let (mut k, mut v) = (String::new(), Value::Null);
                for (n, r) in fields(b)? {
                    match (n, &r) {
                        (1, Raw::Bytes(kb)) => k = String::from_utf8_lossy(kb).into_owned(),
                        (2, _) => v = value(f.ty, &r, depth)?,
                        _ => {}
                    }
                }
                if v.is_null() && f.ty == "string" {
                    v = json!("");
                }
                let entry = out.entry(f.name.to_string()).or_insert_with(|| json!({}));
                if let Value::Object(m) = entry {
                    m.insert(k, v);
                }
            }
        }
    }
    Ok(special(ty, out))
}

fn package(group: &str) -> &str {
    if group.is_empty() {
        "core"
    } else {
        group.split('.').next().unwrap_or(group)
    }
}

/// Decode a `k8s\0`-prefixed protobuf body into the object's JSON form.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let inner = body
        .strip_prefix(MAGIC)
        .ok_or("not a Kubernetes protobuf envelope")?;
    let unknown = message("k8s.io.apimachinery.pkg.runtime.Unknown", inner, 0)?;
    let api_version = unknown
        .pointer("/typeMeta/apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = unknown
        .pointer("/typeMeta/kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let ty = format!("k8s.io.api.{}.{version}.{kind}", package(group));
    // `raw` was turned into base64 by the generic decoder: take the bytes from the envelope again.
    let raw = fields(inner)?
        .into_iter()
        .find_map(|(n, r)| match (n, r) {
            (2, Raw::Bytes(b)) => Some(b),
            _ => None,
        })
        .ok_or("protobuf envelope without an object")?;
    let mut obj = message(&ty, raw, 0)?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
#[path = "../tests/apiserver_proto.rs"]
mod tests;
