//! The four patch flavours: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge
//! patch (approximated: merge, with lists of known keyed items merged by their key and the
//! `$patch` / `$retainKeys` / `$deleteFromPrimitiveList` / `$setElementOrder` directives), and
//! server-side apply (merge of the applied configuration; fields this manager applied before and
//! dropped now are removed).

use serde_json::{Map, Value};

/// RFC 6902.
pub fn json_patch(doc: &Value, ops: &Value) -> Result<Value, String> {
    let ops = ops
        .as_array()
        .ok_or("json patch must be a list of operations")?;
    let mut doc = doc.clone();
    for op in ops {
        let kind = op["op"]
            .as_str()
            .ok_or("json patch operation without \"op\"")?;
        let path = op["path"]
            .as_str()
            .ok_or("json patch operation without \"path\"")?;
        match kind {
            "add" => add(&mut doc, path, op["value"].clone())?,
            "remove" => {
                remove(&mut doc, path)?;
            }
            "replace" => {
                remove(&mut doc, path)?;
                add(&mut doc, path, op["value"].clone())?;
            }
            "move" | "copy" => {
                let from = op["from"]
                    .as_str()
                    .ok_or("json patch move/copy without \"from\"")?;
                let v = if kind == "move" {
                    remove(&mut doc, from)?
                } else {
                    doc.pointer(from)
                        .cloned()
                        .ok_or_else(|| format!("json patch: missing value at {from}"))?
                };
                add(&mut doc, path, v)?;
            }
            "test" => {
                if doc.pointer(path) != Some(&op["value"]) {
                    return Err(format!("json patch test failed at {path}"));
                }
            }
            other => return Err(format!("unknown json patch operation {other:?}")),
        }
    }
    Ok(doc)
}

fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

fn split_parent(path: &str) -> Result<(&str, String), String> {
    let idx = path
        .rfind('/')
        .ok_or_else(|| format!("invalid json pointer {path:?}"))?;
    Ok((&path[..idx], unescape(&path[idx + 1..])))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split_parent(path)?;
    let target = doc
        .pointer_mut(parent)
        .ok_or_else(|| format!("json patch: missing parent of {path}"))?;
    match target {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
                return Ok(());
            }
            let i: usize = last
                .parse()
                .map_err(|_| format!("json patch: bad index in {path}"))?;
            if i > a.len() {
                return Err(format!("json patch: index out of range in {path}"));
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!("json patch: parent of {path} is not a container")),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split_parent(path)?;
    let target = doc
        .pointer_mut(parent)
        .ok_or_else(|| format!("json patch: missing parent of {path}"))?;
    let removed = match target {
        Value::Object(m) => m.remove(&last),
        Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => Some(a.remove(i)),
            _ => None,
        },
        _ => None,
    };
    removed.ok_or_else(|| format!("json patch: nothing to remove at {path}"))
}

/// RFC 7386.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(p) = patch else {
        return patch.clone();
    };
    let mut out = match target {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in p {
        if v.is_null() {
            out.remove(k);
        } else {
            let merged = merge_patch(out.get(k).unwrap_or(&Value::Null), v);
            out.insert(k.clone(), merged);
        }
    }
    Value::Object(out)
}

/// The merge key of a keyed list, by field name (the `patchMergeKey` tags of the core types).
fn merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    let has = |k: &str| items.iter().all(|i| i.get(k).is_some());
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "secrets"
        | "resourceClaims" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "hostAliases" => Some("ip"),
        "conditions" => Some("type"),
        "ports" if has("containerPort") => Some("containerPort"),
        "ports" if has("port") => Some("port"),
        _ => None,
    }
}

/// Strategic merge patch, approximated.
pub fn strategic_merge(target: &Value, patch: &Value) -> Value {
    smp(target, patch)
}

fn smp(target: &Value, patch: &Value) -> Value {
    let Value::Object(p) = patch else {
        return patch.clone();
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut m = p.clone();
        m.remove("$patch");
        return Value::Object(m);
    }
    let mut out = match target {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        out.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in p {
        if k.starts_with("$setElementOrder/") || k == "$retainKeys" || k == "$patch" {
            continue;
        }
        if let Some(list) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(cur)), Some(del)) = (out.get_mut(list), v.as_array()) {
                cur.retain(|x| !del.contains(x));
            }
            continue;
        }
        if v.is_null() {
            out.remove(k);
            continue;
        }
        let merged = match (out.get(k), v) {
            (Some(Value::Array(cur)), Value::Array(new)) => merge_list(k, cur, new),
            (Some(cur), Value::Object(_)) => smp(cur, v),
            (None, Value::Object(_)) => smp(&Value::Null, v),
            (None, Value::Array(new)) => merge_list(k, &[], new),
            _ => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    Value::Object(out)
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn merge_list(field: &str, cur: &[Value], new: &[Value]) -> Value {
    if field == "finalizers" {
        let mut out = cur.to_vec();
        for v in new {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        return Value::Array(out);
    }
    if new
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Value::Array(
            new.iter()
                .filter(|i| i.get("$patch").is_none())
                .map(strip_directives)
                .collect(),
        );
    }
    let Some(key) = merge_key(field, new) else {
        return Value::Array(new.iter().map(strip_directives).collect());
    };
    let mut out = cur.to_vec();
    for item in new {
        let id = item.get(key);
        let pos = out.iter().position(|c| c.get(key) == id && id.is_some());
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                out.remove(i);
            }
            (Some(i), false) => out[i] = smp(&out[i], item),
            (None, true) => {}
            (None, false) => out.push(strip_directives(item)),
        }
    }
    Value::Array(out)
}

/// Server-side apply: remove what this manager applied before and no longer applies, then merge.
pub fn server_side_apply(existing: &Value, previous: Option<&Value>, applied: &Value) -> Value {
    let mut base = existing.clone();
    if let Some(prev) = previous {
        prune_dropped(&mut base, prev, applied);
    }
    strategic_merge(&base, applied)
}

fn prune_dropped(target: &mut Value, prev: &Value, new: &Value) {
    let (Value::Object(t), Value::Object(p)) = (target, prev) else {
        return;
    };
    for (k, pv) in p {
        match (new.get(k), pv) {
            (None, _) => {
                t.remove(k);
            }
            (Some(nv), Value::Object(_)) if nv.is_object() => {
                if let Some(tv) = t.get_mut(k) {
                    prune_dropped(tv, pv, nv);
                }
            }
            (Some(Value::Array(nv)), Value::Array(pl)) => {
                let Some(key) = merge_key(k, pl) else {
                    continue;
                };
                let Some(Value::Array(tl)) = t.get_mut(k) else {
                    continue;
                };
                tl.retain(|item| {
                    let id = item.get(key);
                    let was_applied = pl.iter().any(|x| x.get(key) == id);
                    let still_applied = nv.iter().any(|x| x.get(key) == id);
                    !was_applied || still_applied
                });
                for item in tl.iter_mut() {
                    let id = item.get(key).cloned();
                    let before = pl.iter().find(|x| x.get(key) == id.as_ref());
                    let now = nv.iter().find(|x| x.get(key) == id.as_ref());
                    if let (Some(b), Some(n)) = (before, now) {
                        prune_dropped(item, b, n);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "../tests/apiserver_patch.rs"]
mod tests;
