//! Docker `config.json` / containers `auth.json` files: lookup (most specific key wins),
//! atomic updates that keep unknown fields.

use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::{Credential, CredentialError, DOCKER_HUB_AUTH_KEY};
use crate::reference::{DOCKER_HUB, normalize_domain};

/// Docker's `auths` key for a registry.
pub fn auth_key(registry: &str) -> String {
    if registry == DOCKER_HUB {
        DOCKER_HUB_AUTH_KEY.to_string()
    } else {
        registry.to_string()
    }
}

pub(super) fn helper_url(registry: &str) -> String {
    auth_key(registry)
}

pub(super) fn helper_for(cfg: &Value, registry: &str) -> Option<String> {
    let helpers = cfg.get("credHelpers")?.as_object()?;
    helpers.iter().find_map(|(k, v)| {
        (normalize_key(k) == registry)
            .then(|| v.as_str().map(str::to_string))
            .flatten()
    })
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://host:5000/v2/` → `host:5000`;
/// namespaced keys (`quay.io/org/repo`) keep their path.
pub(super) fn normalize_key(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let (host, path) = match k.split_once('/') {
        Some((h, p)) => (h, p.trim_end_matches('/')),
        None => (k, ""),
    };
    let host = normalize_domain(host);
    if path.is_empty() || path == "v1" || path == "v2" {
        host
    } else {
        format!("{host}/{path}")
    }
}

pub(super) fn read_json(path: &Path) -> Result<Option<Value>, CredentialError> {
    match std::fs::read(path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| CredentialError::File {
                path: path.to_path_buf(),
                reason: format!("not valid JSON: {e}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CredentialError::File {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// The most specific `auths` entry for `registry/repository`.
pub(super) fn lookup_auths(
    cfg: &Value,
    registry: &str,
    repository: &str,
    path: &Path,
) -> Result<Option<Credential>, CredentialError> {
    let Some(auths) = cfg.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    let full = format!("{registry}/{repository}");
    let mut best: Option<(usize, &Value)> = None;
    for (k, v) in auths {
        let key = normalize_key(k);
        let matches = key == registry
            || (full.starts_with(&key) && full.as_bytes().get(key.len()) == Some(&b'/'));
        if matches && best.is_none_or(|(len, _)| key.len() > len) {
            best = Some((key.len(), v));
        }
    }
    let Some((_, entry)) = best else {
        return Ok(None);
    };
    if let Some(tok) = entry
        .get("identitytoken")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        return Ok(Some(Credential::IdentityToken(tok.to_string())));
    }
    if let Some(tok) = entry
        .get("registrytoken")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        return Ok(Some(Credential::RegistryToken(tok.to_string())));
    }
    let Some(auth) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Ok(None);
    };
    let bad = |reason: &str| CredentialError::File {
        path: path.to_path_buf(),
        reason: format!("entry for {registry}: {reason}"),
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| bad("`auth` is not base64"))?;
    let raw = String::from_utf8(raw).map_err(|_| bad("`auth` is not UTF-8"))?;
    let (u, p) = raw
        .split_once(':')
        .ok_or_else(|| bad("`auth` is not user:password"))?;
    Ok(Some(Credential::Basic {
        username: u.to_string(),
        password: p.to_string(),
    }))
}

pub(super) fn update_auths(
    path: &Path,
    mut cfg: Value,
    key: &str,
    auth: Option<&str>,
) -> Result<(), CredentialError> {
    let werr = |reason: String| CredentialError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let obj = cfg
        .as_object_mut()
        .ok_or_else(|| werr("top level is not a JSON object".into()))?;
    let auths = obj
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let auths = auths
        .as_object_mut()
        .ok_or_else(|| werr("`auths` is not an object".into()))?;
    match auth {
        Some(a) => {
            auths.insert(key.to_string(), serde_json::json!({ "auth": a }));
        }
        None => {
            auths.remove(key);
        }
    }
    let text = serde_json::to_vec_pretty(&cfg).map_err(|e| werr(e.to_string()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| werr(e.to_string()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| werr(e.to_string()))?;
    std::io::Write::write_all(&mut tmp, &text).map_err(|e| werr(e.to_string()))?;
    tmp.persist(path).map_err(|e| werr(e.to_string()))?; // tempfile is 0600: right for secrets
    Ok(())
}
