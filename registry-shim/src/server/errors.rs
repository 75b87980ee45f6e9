//! OCI distribution error responses: `{"errors":[{"code","message","detail"}]}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error a request handler answers with.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<serde_json::Value>,
    /// Extra response headers (e.g. `WWW-Authenticate`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detail: None,
            headers: Vec::new(),
        }
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn blob_unknown(d: &impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            "blob unknown to registry",
        )
        .with_detail(serde_json::json!({ "digest": d.to_string() }))
    }

    pub fn manifest_unknown(reference: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        )
        .with_detail(serde_json::json!({ "reference": reference }))
    }

    pub fn name_unknown(name: &str, why: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NAME_UNKNOWN", why)
            .with_detail(serde_json::json!({ "name": name }))
    }

    pub fn name_invalid(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            "invalid repository name",
        )
        .with_detail(serde_json::json!({ "name": name }))
    }

    pub fn digest_invalid(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", msg)
    }

    pub fn upload_unknown(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            "blob upload unknown to registry",
        )
        .with_detail(serde_json::json!({ "uuid": id }))
    }

    pub fn upload_invalid(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID", msg)
    }

    pub fn unsupported(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", msg)
    }

    pub fn read_only() -> Self {
        Self::unsupported("the registry is read-only: pushes and deletes are disabled")
    }

    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            msg.to_string(),
        )
    }

    pub fn bad_gateway(msg: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "UNKNOWN", msg.to_string())
    }

    pub fn unauthorized(realm: &str) -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "authentication required",
        );
        if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
            e.headers.push((header::WWW_AUTHENTICATE, v));
        }
        e
    }
}

impl From<crate::distribution_layout::LayoutError> for ApiError {
    fn from(e: crate::distribution_layout::LayoutError) -> Self {
        use crate::distribution_layout::LayoutError as L;
        match &e {
            L::InvalidRepository(n) => Self::name_invalid(n),
            L::InvalidTag(t) => Self::new(
                StatusCode::BAD_REQUEST,
                "TAG_INVALID",
                format!("invalid tag `{t}`"),
            ),
            L::DigestMismatch { .. } => Self::digest_invalid(e.to_string()),
            L::SizeMismatch { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "SIZE_INVALID", e.to_string())
            }
            _ => Self::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut err = serde_json::json!({ "code": self.code, "message": self.message });
        if let Some(d) = self.detail {
            err["detail"] = d;
        }
        let body = serde_json::json!({ "errors": [err] }).to_string();
        let len = body.len();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        for (k, v) in self.headers {
            h.insert(k, v);
        }
        resp
    }
}
