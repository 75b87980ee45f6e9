//! Discovery documents: `/api`, `/apis`, `/apis/<g>`, `/api/v1`, `/apis/<g>/<v>` and the
//! aggregated form (`apidiscovery.k8s.io/v2`) that kubectl and helm prefer.

use super::resources::{Registry, ResourceType};
use serde_json::{Value, json};

/// Content type of an aggregated discovery answer.
pub const AGGREGATED_CT: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the client's Accept header asks for aggregated discovery (v2).
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let p: Vec<&str> = part.split(';').map(str::trim).collect();
        p.contains(&"g=apidiscovery.k8s.io")
            && p.contains(&"v=v2")
            && p.contains(&"as=APIGroupDiscoveryList")
    })
}

pub fn api_versions(addr: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]})
}

fn group_doc(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

pub fn api_group_list(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg
        .group_versions()
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, vs)| group_doc(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(reg: &Registry, group: &str) -> Option<Value> {
    let gv = reg.group_versions();
    let (_, vs) = gv.iter().find(|(g, _)| g == group)?;
    let mut doc = group_doc(group, vs);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

const SUB_VERBS: [&str; 3] = ["get", "patch", "update"];

pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let types = reg.in_group_version(group, version);
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for t in &types {
        resources.push(json!({"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced,
            "kind": t.kind, "verbs": t.verbs(), "shortNames": t.short_names, "categories": t.categories}));
        if t.has_status {
            resources.push(
                json!({"name": format!("{}/status", t.plural), "singularName": "",
                "namespaced": t.namespaced, "kind": t.kind, "verbs": SUB_VERBS}),
            );
        }
        if t.has_scale {
            resources.push(json!({"name": format!("{}/scale", t.plural), "singularName": "",
                "namespaced": t.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale",
                "verbs": SUB_VERBS}));
        }
        if t.group.is_empty() && t.plural == "pods" {
            resources.push(
                json!({"name": "pods/log", "singularName": "", "namespaced": true,
                "kind": "Pod", "verbs": ["get"]}),
            );
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn aggregated_resource(t: &ResourceType) -> Value {
    let rk = json!({"group": t.group, "version": t.version, "kind": t.kind});
    let mut subs = Vec::new();
    if t.has_status {
        subs.push(json!({"subresource": "status", "responseKind": rk, "verbs": SUB_VERBS}));
    }
    if t.has_scale {
        subs.push(json!({"subresource": "scale",
            "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}, "verbs": SUB_VERBS}));
    }
    let mut r = json!({"resource": t.plural, "responseKind": rk,
        "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": t.singular, "verbs": t.verbs()});
    if !t.short_names.is_empty() {
        r["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        r["categories"] = json!(t.categories);
    }
    if !subs.is_empty() {
        r["subresources"] = json!(subs);
    }
    r
}

/// Aggregated discovery for the core group (`core == true`, `/api`) or all named groups (`/apis`).
pub fn aggregated(reg: &Registry, core: bool) -> Value {
    let items: Vec<Value> = reg
        .group_versions()
        .iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(g, vs)| {
            let versions: Vec<Value> = vs
                .iter()
                .map(|v| {
                    let rs: Vec<Value> = reg
                        .in_group_version(g, v)
                        .iter()
                        .map(|t| aggregated_resource(t))
                        .collect();
                    json!({"version": v, "resources": rs, "freshness": "Current"})
                })
                .collect();
            let mut item = json!({"metadata": {"creationTimestamp": null}, "versions": versions});
            if !g.is_empty() {
                item["metadata"]["name"] = json!(g);
            }
            item
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

#[cfg(test)]
#[path = "../tests/apiserver_discovery.rs"]
mod tests;
