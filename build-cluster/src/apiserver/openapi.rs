//! Minimal OpenAPI v3 documents: enough for kubectl to see that every resource's PATCH accepts
//! `fieldValidation`, so it skips client-side schema validation and lets the server validate.

use super::meta::fnv64;
use super::resources::{Registry, ResourceType};
use serde_json::{Map, Value, json};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `GET /openapi/v3`: one entry per group-version.
pub fn root(reg: &Registry) -> Value {
    let mut paths = Map::new();
    for (g, vs) in reg.group_versions() {
        for v in vs {
            let p = gv_path(&g, &v);
            let hash = fnv64(document(reg, &g, &v).to_string().as_bytes());
            paths.insert(
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash:016X}")}),
            );
        }
    }
    json!({"paths": paths})
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn item_path(t: &ResourceType) -> String {
    let base = format!("/{}", gv_path(&t.group, &t.version));
    if t.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
    } else {
        format!("{base}/{}/{{name}}", t.plural)
    }
}

/// `GET /openapi/v3/apis/<g>/<v>`: the PATCH operation of every resource, with its GVK.
pub fn document(reg: &Registry, group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    for t in reg.in_group_version(group, version) {
        if t.review {
            continue;
        }
        let op = json!({
            "operationId": format!("patch{}", t.kind),
            "parameters": [param("dryRun"), param("fieldManager"), param("fieldValidation"), param("force")],
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {"group": t.group, "version": t.version, "kind": t.kind},
        });
        paths.insert(item_path(&t), json!({"patch": op}));
    }
    json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "unversioned"},
           "paths": paths, "components": {"schemas": {}}})
}

/// Resolve `api/v1` or `apis/<g>/<v>` (the part after `/openapi/v3/`).
pub fn document_for_path(reg: &Registry, rest: &str) -> Option<Value> {
    let segs: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let (g, v) = match segs.as_slice() {
        ["api", v] => ("", *v),
        ["apis", g, v] => (*g, *v),
        _ => return None,
    };
    if reg.in_group_version(g, v).is_empty() {
        return None;
    }
    Some(document(reg, g, v))
}

#[cfg(test)]
#[path = "../tests/apiserver_openapi.rs"]
mod tests;
