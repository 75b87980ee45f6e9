//! Turning hits into report entries: normalise, or record why not.

use super::objects::Hit;
use super::reference::{is_templated, parse};
use super::report::{Provenance, ReportBuilder};
use serde_json::Value;

/// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects.
pub fn object_id(obj: &Value) -> Option<String> {
    let kind = obj["kind"].as_str()?;
    let name = obj.pointer("/metadata/name").and_then(Value::as_str)?;
    Some(
        match obj.pointer("/metadata/namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() => format!("{kind}/{ns}/{name}"),
            _ => format!("{kind}/{name}"),
        },
    )
}

/// Add a hit with `base` provenance (its `via` and `field` come from the hit).
pub fn resolve(b: &mut ReportBuilder, hit: Hit, base: Provenance) {
    let field = if hit.field.is_empty() {
        base.field.clone()
    } else {
        Some(hit.field.clone())
    };
    let p = Provenance {
        via: hit.via,
        field,
        ..base
    };
    if is_templated(&hit.text) {
        b.unresolved(&hit.text, "a template or variable, not a reference", p);
        return;
    }
    match parse(&hit.text) {
        Ok(r) if hit.require_tag && r.tag.is_none() && r.digest.is_none() => b.unresolved(
            &hit.text,
            "no tag or digest: a base the workload completes with a version",
            p,
        ),
        Ok(r) => b.add(r.normalized(), p),
        Err(e) if hit.container_image => b.unresolved(&hit.text, &e, p),
        Err(_) => {}
    }
}
