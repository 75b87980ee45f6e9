//! The write pipeline shared by create, update, patch and apply: identity checks, strict field
//! validation, name rules, metadata stamping, defaults/status, storing and controller follow-up.

use super::meta::{name_suffix, new_uid, now_rfc3339, random_u64};
use super::resources::{Registry, ResourceType};
use super::schema;
use super::status::ApiError;
use super::store::{Key, State};
use super::{controllers, workloads};
use regex::Regex;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

/// Where and how a write happens.
pub struct WriteCtx<'a> {
    pub rt: &'a ResourceType,
    pub namespace: Option<&'a str>,
    /// The name on the URL (update/patch), if any.
    pub url_name: Option<&'a str>,
    pub strict: bool,
    pub dry_run: bool,
    /// Writing through the `status` subresource.
    pub status_only: bool,
}

/// The schema strict validation uses for a type: built-in table or the CRD's openAPIV3Schema.
pub fn schema_for(state: &State, rt: &ResourceType) -> Option<schema::Schema> {
    if let Some(crd) = &rt.crd {
        let entry = state.get(&Key::new(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
            crd,
        ))?;
        let root = Registry::crd_schema(&entry.object, &rt.version)?;
        return Some(schema::from_openapi(root));
    }
    schema::builtin(&rt.group, &rt.kind).cloned()
}

/// Unknown fields of `obj` under strict validation.
pub fn unknown_fields(state: &State, rt: &ResourceType, obj: &Value) -> Vec<String> {
    schema_for(state, rt)
        .map(|s| schema::unknown_fields(&s, obj))
        .unwrap_or_default()
}

fn subdomain_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
            .unwrap_or_else(|_| unreachable!("static regex"))
    })
}

fn label_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
            .unwrap_or_else(|_| unreachable!("static regex"))
    })
}

fn validate(rt: &ResourceType, name: &str, obj: &Value) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    let dns_label = rt.group.is_empty() && matches!(rt.kind.as_str(), "Namespace" | "Service");
    let checked = rt.crd.is_some()
        || matches!(
            rt.group.as_str(),
            "" | "apps" | "batch" | "networking.k8s.io" | "policy"
        );
    if dns_label && (!label_re().is_match(name) || name.len() > 63) {
        causes.push(("metadata.name".to_string(), format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        )));
    } else if checked && !dns_label && (!subdomain_re().is_match(name) || name.len() > 253) {
        causes.push(("metadata.name".to_string(), format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )));
    }
    let annotations_size: usize = obj
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
                .sum()
        })
        .unwrap_or(0);
    if annotations_size > 262_144 {
        causes.push((
            "metadata.annotations".to_string(),
            "Too long: must have at most 262144 bytes".to_string(),
        ));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt, name, &causes))
    }
}

fn without_meta_status(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    v
}

/// Run the full write. `old` is the current object for updates (None: create).
pub fn write(
    state: &mut State,
    ctx: &WriteCtx<'_>,
    mut obj: Value,
    old: Option<Arc<Value>>,
) -> Result<Arc<Value>, ApiError> {
    let rt = ctx.rt;
    if !obj.is_object() {
        return Err(ApiError::cannot_handle(
            rt,
            "the object must be a JSON or YAML map",
        ));
    }
    if ctx.strict && !ctx.status_only {
        let unknown = unknown_fields(state, rt, &obj);
        if !unknown.is_empty() {
            return Err(ApiError::cannot_handle(
                rt,
                &schema::strict_message(&unknown),
            ));
        }
    }
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    // Namespace.
    let body_ns = obj["metadata"]["namespace"].as_str().map(str::to_string);
    let ns = if rt.namespaced {
        let ns = ctx.namespace.unwrap_or("default");
        if body_ns.as_deref().is_some_and(|b| !b.is_empty() && b != ns) {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        obj["metadata"]["namespace"] = json!(ns);
        ns.to_string()
    } else {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        String::new()
    };
    // Name.
    let mut name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if let Some(url) = ctx.url_name {
        if name.is_empty() {
            name = url.to_string();
        } else if name != url {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({name}) does not match the name on the URL ({url})"
            )));
        }
    }
    if name.is_empty() {
        match obj["metadata"]["generateName"].as_str() {
            Some(prefix) if !prefix.is_empty() => {
                name = format!("{prefix}{}", name_suffix(random_u64()))
            }
            _ => {
                return Err(ApiError::invalid(
                    rt,
                    "",
                    &[(
                        "metadata.name".into(),
                        "Required value: name or generateName is required".into(),
                    )],
                ));
            }
        }
    }
    obj["metadata"]["name"] = json!(name);
    validate(rt, &name, &obj)?;
    let key = Key::new(&rt.group, &rt.plural, &ns, &name);
    match &old {
        None => {
            if rt.namespaced && !state.namespace_exists(&ns) {
                return Err(ApiError::namespace_not_found(&ns));
            }
            if state.get(&key).is_some() {
                return Err(ApiError::already_exists(rt, &name));
            }
            obj["metadata"]["uid"] = json!(new_uid());
            obj["metadata"]["creationTimestamp"] = json!(now_rfc3339());
            obj["metadata"]["generation"] = json!(1);
        }
        Some(old) => {
            let sent_rv = obj["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default();
            let cur_rv = old["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default();
            if !sent_rv.is_empty() && sent_rv != cur_rv {
                return Err(ApiError::conflict(rt, &name));
            }
            for f in ["uid", "creationTimestamp"] {
                obj["metadata"][f] = old["metadata"][f].clone();
            }
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
            let changed = without_meta_status(&obj) != without_meta_status(old);
            obj["metadata"]["generation"] =
                json!(if changed { generation + 1 } else { generation });
            if ctx.status_only {
                let status = obj.get("status").cloned();
                obj = (**old).clone();
                if let Some(s) = status {
                    obj["status"] = s;
                }
            } else if rt.has_status {
                match old.get("status") {
                    Some(s) => obj["status"] = s.clone(),
                    None => {
                        if let Some(m) = obj.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
        }
    }
    if !ctx.status_only {
        controllers::prepare(state, rt, &mut obj);
    }
    if ctx.dry_run {
        return Ok(Arc::new(obj));
    }
    let is_new_namespace = old.is_none() && rt.group.is_empty() && rt.kind == "Namespace";
    let stored = state.put(key, obj, false);
    if is_new_namespace {
        workloads::namespace_created(state, &name);
    }
    workloads::reconcile(state, rt, &stored);
    Ok(stored)
}

#[cfg(test)]
#[path = "../tests/apiserver_write.rs"]
mod tests;
