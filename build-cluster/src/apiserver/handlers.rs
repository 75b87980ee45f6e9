//! The verbs on a resource: get, list, create, update, patch, delete, deletecollection, and the
//! `status` / `scale` subresources.

use super::controllers;
use super::patch;
use super::proto;
use super::resources::ResourceType;
use super::schema;
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{Key, State};
use super::write::{WriteCtx, unknown_fields, write};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// A resolved resource request.
#[derive(Debug, Clone)]
pub struct Target {
    pub rt: Arc<ResourceType>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

impl Target {
    fn key(&self, name: &str) -> Key {
        Key::new(
            &self.rt.group,
            &self.rt.plural,
            self.namespace.as_deref().unwrap_or_default(),
            name,
        )
    }
}

pub type Query = HashMap<String, String>;

fn strict(q: &Query) -> bool {
    q.get("fieldValidation").map(String::as_str) == Some("Strict")
}

fn dry_run(q: &Query) -> bool {
    q.get("dryRun").is_some_and(|v| v == "All")
}

/// The object as served through `rt`'s version.
pub fn present(obj: &Value, rt: &ResourceType) -> Value {
    let mut o = obj.clone();
    o["apiVersion"] = json!(rt.api_version());
    o
}

/// Parse a JSON, YAML or Kubernetes-protobuf request body.
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if proto::is_protobuf(body) {
        return proto::decode(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding protobuf body: {e}")));
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the request body is neither JSON nor UTF-8 YAML"))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
}

fn current(state: &State, t: &Target, name: &str) -> Result<Arc<Value>, ApiError> {
    state
        .get(&t.key(name))
        .map(|e| e.object.clone())
        .ok_or_else(|| ApiError::not_found(&t.rt, name))
}

fn scale_of(obj: &Value) -> Value {
    let sel = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let meta = &obj["metadata"];
    json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                     "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"]},
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": sel}})
}

pub fn get(state: &State, t: &Target, name: &str) -> Result<Value, ApiError> {
    let obj = current(state, t, name)?;
    match t.sub.as_deref() {
        None | Some("status") => Ok(present(&obj, &t.rt)),
        Some("scale") if t.rt.has_scale => Ok(scale_of(&obj)),
        _ => Err(ApiError::unknown_resource()),
    }
}

pub fn selectors(q: &Query) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let ls = LabelSelector::parse(q.get("labelSelector").map(String::as_str).unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let fs = FieldSelector::parse(q.get("fieldSelector").map(String::as_str).unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    Ok((ls, fs))
}

pub fn list(state: &State, t: &Target, q: &Query) -> Result<Value, ApiError> {
    let (ls, fs) = selectors(q)?;
    let items: Vec<Value> = state
        .list(&t.rt.group, &t.rt.plural, t.namespace.as_deref())
        .iter()
        .filter(|o| ls.matches(o) && fs.matches(o))
        .map(|o| present(o, &t.rt))
        .collect();
    Ok(
        json!({"kind": format!("{}List", t.rt.kind), "apiVersion": t.rt.api_version(),
              "metadata": {"resourceVersion": state.rv.to_string()}, "items": items}),
    )
}

fn ctx<'a>(t: &'a Target, q: &Query, url_name: Option<&'a str>) -> WriteCtx<'a> {
    WriteCtx {
        rt: &t.rt,
        namespace: t.namespace.as_deref(),
        url_name,
        strict: strict(q),
        dry_run: dry_run(q),
        status_only: t.sub.as_deref() == Some("status"),
    }
}

pub fn create(state: &mut State, t: &Target, q: &Query, body: &[u8]) -> Result<Value, ApiError> {
    if t.rt.namespaced && t.namespace.is_none() {
        return Err(ApiError::method_not_allowed());
    }
    let mut obj = parse_body(body)?;
    if t.rt.review {
        // Reviews are answered, never stored: everything is allowed.
        obj["apiVersion"] = json!(t.rt.api_version());
        obj["kind"] = json!(t.rt.kind);
        controllers::prepare(state, &t.rt, &mut obj);
        return Ok(obj);
    }
    let stored = write(state, &ctx(t, q, None), obj, None)?;
    Ok(present(&stored, &t.rt))
}

fn set_replicas(
    state: &mut State,
    t: &Target,
    q: &Query,
    name: &str,
    replicas: Value,
) -> Result<Value, ApiError> {
    let old = current(state, t, name)?;
    let mut obj = (*old).clone();
    obj["spec"]["replicas"] = replicas;
    if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    let mut c = ctx(t, q, Some(name));
    c.strict = false;
    let stored = write(state, &c, obj, Some(old))?;
    Ok(scale_of(&stored))
}

pub fn update(
    state: &mut State,
    t: &Target,
    q: &Query,
    name: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let obj = parse_body(body)?;
    if t.sub.as_deref() == Some("scale") {
        return set_replicas(
            state,
            t,
            q,
            name,
            obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1)),
        );
    }
    let old = current(state, t, name)?;
    let stored = write(state, &ctx(t, q, Some(name)), obj, Some(old))?;
    Ok(present(&stored, &t.rt))
}

/// Patch; returns the HTTP code (201 when server-side apply created the object) and the object.
pub fn patch(
    state: &mut State,
    t: &Target,
    q: &Query,
    name: &str,
    content_type: &str,
    body: &[u8],
) -> Result<(u16, Value), ApiError> {
    let ct = content_type.split(';').next().unwrap_or_default().trim();
    let p = parse_body(body)?;
    if ct == "application/apply-patch+yaml" {
        return apply(state, t, q, name, p);
    }
    let old = current(state, t, name)?;
    let base = if t.sub.as_deref() == Some("scale") {
        scale_of(&old)
    } else {
        (*old).clone()
    };
    let patched = match ct {
        "application/json-patch+json" => {
            patch::json_patch(&base, &p).map_err(ApiError::bad_request)?
        }
        "application/merge-patch+json" => patch::merge_patch(&base, &p),
        "application/strategic-merge-patch+json" => patch::strategic_merge(&base, &p),
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    if t.sub.as_deref() == Some("scale") {
        let r = patched
            .pointer("/spec/replicas")
            .cloned()
            .unwrap_or(json!(1));
        return Ok((200, set_replicas(state, t, q, name, r)?));
    }
    if strict(q) && t.sub.is_none() {
        let unknown = unknown_fields(state, &t.rt, &patched);
        if !unknown.is_empty() {
            return Err(ApiError::bad_request(schema::strict_message(&unknown)));
        }
    }
    let mut c = ctx(t, q, Some(name));
    c.strict = false;
    let stored = write(state, &c, patched, Some(old))?;
    Ok((200, present(&stored, &t.rt)))
}

fn apply(
    state: &mut State,
    t: &Target,
    q: &Query,
    name: &str,
    applied: Value,
) -> Result<(u16, Value), ApiError> {
    let rt = &t.rt;
    if strict(q) {
        let unknown = unknown_fields(state, rt, &applied);
        if !unknown.is_empty() {
            let fields: Vec<String> = unknown
                .iter()
                .map(|f| format!(".{f}: field not declared in schema"))
                .collect();
            let gv = if rt.group.is_empty() {
                format!("/{}", rt.version)
            } else {
                rt.api_version()
            };
            return Err(ApiError::new(
                500,
                "",
                format!(
                    "failed to create typed patch object ({}/{name}; {gv}, Kind={}): {}",
                    t.namespace.as_deref().unwrap_or_default(),
                    rt.kind,
                    fields.join(", ")
                ),
            ));
        }
    }
    let manager = q.get("fieldManager").cloned().unwrap_or_default();
    let key = t.key(name);
    let old = state.get(&key).map(|e| e.object.clone());
    let mut c = ctx(t, q, Some(name));
    c.strict = false;
    let (code, obj) = match &old {
        None => (201, applied.clone()),
        Some(cur) => {
            let prev = state.applied.get(&(key.clone(), manager.clone()));
            let mut merged = patch::server_side_apply(cur, prev, &applied);
            if let Some(m) = merged["metadata"].as_object_mut() {
                m.remove("resourceVersion");
            }
            (200, merged)
        }
    };
    let stored = write(state, &c, obj, old)?;
    if !c.dry_run {
        state.applied.insert((key, manager), applied);
    }
    Ok((code, present(&stored, rt)))
}

/// Delete one object; `body` may hold DeleteOptions (`propagationPolicy`, `dryRun`).
pub fn delete(
    state: &mut State,
    t: &Target,
    q: &Query,
    name: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let key = t.key(name);
    let obj = current(state, t, name)?;
    let opts: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let body_dry_run = opts["dryRun"]
        .as_array()
        .is_some_and(|d| d.iter().any(|v| v == "All"));
    if dry_run(q) || body_dry_run {
        return Ok(present(&obj, &t.rt));
    }
    let policy = q
        .get("propagationPolicy")
        .map(String::as_str)
        .or(opts["propagationPolicy"].as_str());
    let orphan = policy == Some("Orphan");
    let removed = if orphan {
        state.remove(&key)
    } else {
        state.remove_cascade(&key)
    };
    Ok(present(&removed.unwrap_or(obj), &t.rt))
}

pub fn delete_collection(state: &mut State, t: &Target, q: &Query) -> Result<Value, ApiError> {
    let listed = list(state, t, q)?;
    let mut items = Vec::new();
    for item in listed["items"].as_array().cloned().unwrap_or_default() {
        let name = item["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let ns = item["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let key = Key::new(&t.rt.group, &t.rt.plural, &ns, &name);
        if let Some(o) = state.remove_cascade(&key) {
            items.push(present(&o, &t.rt));
        }
    }
    Ok(
        json!({"kind": format!("{}List", t.rt.kind), "apiVersion": t.rt.api_version(),
              "metadata": {"resourceVersion": state.rv.to_string()}, "items": items}),
    )
}
