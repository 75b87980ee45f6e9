//! Registry credentials from Docker's `config.json` (inline `auths`, `credHelpers`,
//! `credsStore`) and from sealer's own `~/.sealer/auth.json` (containers-auth.json format,
//! keys may carry a namespace such as `quay.io/org`). `store` writes Docker's format so one
//! login serves both.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use base64::Engine as _;
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;

use crate::reference::{DOCKER_HUB, normalize_domain};

/// Docker's key and helper server URL for Docker Hub.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`, or a helper's `<token>` user).
    IdentityToken(String),
    /// A bearer token sent as-is (`registrytoken`).
    RegistryToken(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Self::IdentityToken(_) => f.write_str("IdentityToken(***)"),
            Self::RegistryToken(_) => f.write_str("RegistryToken(***)"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("cannot read credentials file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("credential helper `docker-credential-{helper}` failed for {registry}: {reason}")]
    Helper {
        helper: String,
        registry: String,
        reason: String,
    },
    #[error("cannot write credentials file {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Where credentials come from.
#[derive(Clone, Debug, Default)]
pub struct CredentialStore {
    /// Docker's `config.json` (read and written by `login`).
    pub docker_config: Option<PathBuf>,
    /// sealer's `auth.json` (read and written by `login`).
    pub sealer_auth: Option<PathBuf>,
    /// Directory holding `docker-credential-*` helpers; `None` = search `$PATH`.
    pub helper_dir: Option<PathBuf>,
    /// Fixed credentials per registry domain (proxy upstream config, tests); checked first.
    pub fixed: HashMap<String, Credential>,
}

impl CredentialStore {
    /// No credentials at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`) and `~/.sealer/auth.json`.
    pub fn from_env() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/root"));
        let docker = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".docker"))
            .join("config.json");
        Self {
            docker_config: Some(docker),
            sealer_auth: Some(home.join(".sealer/auth.json")),
            helper_dir: None,
            fixed: HashMap::new(),
        }
    }

    pub fn with_credential(mut self, registry: &str, cred: Credential) -> Self {
        self.fixed.insert(normalize_domain(registry), cred);
        self
    }

    /// Credentials for `repository` on `registry`, if any source has them.
    pub async fn get(
        &self,
        registry: &str,
        repository: &str,
    ) -> Result<Option<Credential>, CredentialError> {
        let registry = normalize_domain(registry);
        if let Some(c) = self.fixed.get(&registry) {
            return Ok(Some(c.clone()));
        }
        if let Some(path) = &self.sealer_auth
            && let Some(cfg) = read_json(path)?
            && let Some(c) = lookup_auths(&cfg, &registry, repository, path)?
        {
            return Ok(Some(c));
        }
        let Some(path) = &self.docker_config else {
            return Ok(None);
        };
        let Some(cfg) = read_json(path)? else {
            return Ok(None);
        };
        if let Some(helper) = helper_for(&cfg, &registry)
            && let Some(c) = self.helper_get(&helper, &registry).await?
        {
            return Ok(Some(c));
        }
        if let Some(c) = lookup_auths(&cfg, &registry, repository, path)? {
            return Ok(Some(c));
        }
        if let Some(store) = cfg
            .get("credsStore")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            return self.helper_get(store, &registry).await;
        }
        Ok(None)
    }

    /// Save a login: through the configured helper when Docker's config names one,
    /// otherwise inline in Docker's `config.json`; and always in sealer's `auth.json`.
    /// Returns where it was written.
    pub async fn store(
        &self,
        registry: &str,
        username: &str,
        password: &str,
    ) -> Result<Vec<String>, CredentialError> {
        let registry = normalize_domain(registry);
        let auth =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        let mut written = Vec::new();
        if let Some(path) = &self.docker_config {
            let cfg = read_json(path)?.unwrap_or_else(|| Value::Object(Map::new()));
            match helper_for(&cfg, &registry).or_else(|| {
                cfg.get("credsStore")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }) {
                Some(helper) if !helper.is_empty() => {
                    self.helper_store(&helper, &registry, username, password)
                        .await?;
                    written.push(format!("docker-credential-{helper}"));
                }
                _ => {
                    update_auths(path, cfg, &auth_key(&registry), Some(&auth))?;
                    written.push(path.display().to_string());
                }
            }
        }
        if let Some(path) = &self.sealer_auth {
            let cfg = read_json(path)?.unwrap_or_else(|| Value::Object(Map::new()));
            update_auths(path, cfg, &registry, Some(&auth))?;
            written.push(path.display().to_string());
        }
        Ok(written)
    }

    /// Remove a login from both files (helpers are asked to `erase`). Returns whether
    /// anything was removed.
    pub async fn erase(&self, registry: &str) -> Result<bool, CredentialError> {
        let registry = normalize_domain(registry);
        let mut removed = false;
        for (path, key) in [
            (self.docker_config.as_ref(), auth_key(&registry)),
            (self.sealer_auth.as_ref(), registry.clone()),
        ] {
            let Some(path) = path else { continue };
            let Some(cfg) = read_json(path)? else {
                continue;
            };
            if let Some(helper) = helper_for(&cfg, &registry) {
                removed |= self
                    .run_helper(&helper, "erase", &helper_url(&registry), &registry)
                    .await
                    .is_ok();
            }
            let has = cfg.get("auths").and_then(|a| a.get(&key)).is_some();
            if has {
                update_auths(path, cfg, &key, None)?;
                removed = true;
            }
        }
        Ok(removed)
    }

    async fn helper_get(
        &self,
        helper: &str,
        registry: &str,
    ) -> Result<Option<Credential>, CredentialError> {
        let out = match self
            .run_helper(helper, "get", &helper_url(registry), registry)
            .await
        {
            Ok(o) => o,
            Err(CredentialError::Helper { reason, .. })
                if reason.to_lowercase().contains("credentials not found") =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let v: Value = serde_json::from_slice(&out).map_err(|e| CredentialError::Helper {
            helper: helper.to_string(),
            registry: registry.to_string(),
            reason: format!("output is not JSON: {e}"),
        })?;
        let user = v.get("Username").and_then(Value::as_str).unwrap_or("");
        let secret = v.get("Secret").and_then(Value::as_str).unwrap_or("");
        Ok(match (user, secret) {
            (_, "") => None,
            ("<token>", s) => Some(Credential::IdentityToken(s.to_string())),
            (u, s) => Some(Credential::Basic {
                username: u.to_string(),
                password: s.to_string(),
            }),
        })
    }

    async fn helper_store(
        &self,
        helper: &str,
        registry: &str,
        user: &str,
        pass: &str,
    ) -> Result<(), CredentialError> {
        let input = serde_json::json!({ "ServerURL": helper_url(registry), "Username": user, "Secret": pass });
        self.run_helper(helper, "store", &input.to_string(), registry)
            .await
            .map(|_| ())
    }

    async fn run_helper(
        &self,
        helper: &str,
        verb: &str,
        input: &str,
        registry: &str,
    ) -> Result<Vec<u8>, CredentialError> {
        let err = |reason: String| CredentialError::Helper {
            helper: helper.to_string(),
            registry: registry.to_string(),
            reason,
        };
        if !helper
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(err("invalid helper name".into()));
        }
        let prog = format!("docker-credential-{helper}");
        let prog = match &self.helper_dir {
            Some(d) => d.join(prog),
            None => PathBuf::from(prog),
        };
        let mut child = tokio::process::Command::new(&prog)
            .arg(verb)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| err(format!("cannot run {}: {e}", prog.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes()).await;
        }
        let out =
            tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
                .await
                .map_err(|_| err("timed out after 60 s".into()))?
                .map_err(|e| err(e.to_string()))?;
        if !out.status.success() {
            let msg = String::from_utf8_lossy(&out.stdout).trim().to_string()
                + String::from_utf8_lossy(&out.stderr).trim();
            return Err(err(format!("{}: {msg}", out.status)));
        }
        Ok(out.stdout)
    }
}

/// Docker's `auths` key for a registry.
pub fn auth_key(registry: &str) -> String {
    if registry == DOCKER_HUB {
        DOCKER_HUB_AUTH_KEY.to_string()
    } else {
        registry.to_string()
    }
}

fn helper_url(registry: &str) -> String {
    auth_key(registry)
}

fn helper_for(cfg: &Value, registry: &str) -> Option<String> {
    let helpers = cfg.get("credHelpers")?.as_object()?;
    helpers.iter().find_map(|(k, v)| {
        (normalize_key(k) == registry)
            .then(|| v.as_str().map(str::to_string))
            .flatten()
    })
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://host:5000/v2/` → `host:5000`;
/// namespaced keys (`quay.io/org/repo`) keep their path.
fn normalize_key(key: &str) -> String {
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

fn read_json(path: &Path) -> Result<Option<Value>, CredentialError> {
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
fn lookup_auths(
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

fn update_auths(
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

#[cfg(test)]
mod tests;
