//! `Status` error bodies shaped exactly like kube-apiserver's, so clients print familiar messages.

use super::resources::ResourceType;
use serde_json::{Value, json};

/// An API error answered as a `metav1.Status` body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    /// `NotFound`, `AlreadyExists`, …; empty for a reason-less failure.
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

fn details(rt: &ResourceType, name: &str) -> Value {
    let mut d = json!({"name": name, "kind": rt.plural});
    if !rt.group.is_empty() {
        d["group"] = json!(rt.group);
    }
    d
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// `deployments.apps "x" not found`.
    pub fn not_found(rt: &ResourceType, name: &str) -> ApiError {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("{} \"{name}\" not found", rt.qualified()),
            details: Some(details(rt, name)),
        }
    }

    /// `namespaces "x" not found` (creating into a missing namespace).
    pub fn namespace_not_found(ns: &str) -> ApiError {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("namespaces \"{ns}\" not found"),
            details: Some(json!({"name": ns, "kind": "namespaces"})),
        }
    }

    /// An unknown path or resource.
    pub fn unknown_resource() -> ApiError {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".into(),
            details: Some(json!({})),
        }
    }

    pub fn already_exists(rt: &ResourceType, name: &str) -> ApiError {
        ApiError {
            code: 409,
            reason: "AlreadyExists",
            message: format!("{} \"{name}\" already exists", rt.qualified()),
            details: Some(details(rt, name)),
        }
    }

    pub fn conflict(rt: &ResourceType, name: &str) -> ApiError {
        ApiError {
            code: 409,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                rt.qualified()
            ),
            details: Some(details(rt, name)),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    /// `Deployment in version "v1" cannot be handled as a Deployment: <why>`.
    pub fn cannot_handle(rt: &ResourceType, why: &str) -> ApiError {
        ApiError::bad_request(format!(
            "{kind} in version \"{v}\" cannot be handled as a {kind}: {why}",
            kind = rt.kind,
            v = rt.version
        ))
    }

    /// 422 `Kind.group "name" is invalid: field: detail` with causes.
    pub fn invalid(rt: &ResourceType, name: &str, causes: &[(String, String)]) -> ApiError {
        let joined = if causes.len() == 1 {
            format!("{}: {}", causes[0].0, causes[0].1)
        } else {
            let inner: Vec<String> = causes.iter().map(|(f, m)| format!("{f}: {m}")).collect();
            format!("[{}]", inner.join(", "))
        };
        let mut d = details(rt, name);
        d["kind"] = json!(rt.kind);
        d["causes"] = causes
            .iter()
            .map(|(f, m)| json!({"reason": "FieldValueInvalid", "message": m, "field": f}))
            .collect();
        ApiError {
            code: 422,
            reason: "Invalid",
            message: format!("{} \"{name}\" is invalid: {joined}", rt.qualified_kind()),
            details: Some(d),
        }
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    pub fn unsupported_media_type(ct: &str) -> ApiError {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct:?})"
            ),
        )
    }

    pub fn body(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        if !self.reason.is_empty() {
            v["reason"] = json!(self.reason);
        }
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v
    }
}

#[cfg(test)]
#[path = "../tests/apiserver_status.rs"]
mod tests;
