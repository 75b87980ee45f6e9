//! Registry credentials from Docker's `config.json` (inline `auths`, `credHelpers`,
//! `credsStore`) and from sealer's own `~/.sealer/auth.json` (containers-auth.json format,
//! keys may carry a namespace such as `quay.io/org`). `store` writes Docker's format so one
//! login serves both.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;

use base64::Engine as _;
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;

use crate::reference::normalize_domain;

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

mod files;
#[cfg(test)]
#[path = "../tests/client_credentials.rs"]
mod tests;

pub use files::auth_key;
use files::{helper_for, helper_url, lookup_auths, read_json, update_auths};
