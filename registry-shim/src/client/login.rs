//! `login`: verify credentials against `/v2/`, then save them where both Docker tools and
//! sealer read them.

use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;

use super::auth::{Challenge, basic_header, parse_challenge};
use super::body::error_body;
use super::credentials::{Credential, CredentialStore};
use super::{Client, ClientError};
use crate::reference::normalize_domain;

impl Client {
    /// Check `username`/`password` against `registry` and store them (Docker's
    /// `config.json` or its credential helper, and sealer's `auth.json`). Returns where the
    /// credentials were written.
    pub async fn login(
        &self,
        registry: &str,
        username: &str,
        password: &str,
    ) -> Result<Vec<String>, ClientError> {
        let registry = normalize_domain(registry);
        let ep = self.endpoint(&registry).await?;
        let http = self.http_for(&ep);
        let ping = ep.url("/v2/");
        let unreachable = |e: reqwest::Error| ClientError::Unreachable {
            endpoint: ep.base.clone(),
            reason: e.to_string(),
        };
        let resp = http.get(&ping).send().await.map_err(unreachable)?;
        let denied = |reason: String| ClientError::Unauthorized {
            endpoint: ep.base.clone(),
            reason,
        };
        if resp.status() == StatusCode::UNAUTHORIZED {
            let challenge = resp
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok().and_then(parse_challenge))
                .next();
            match challenge {
                Some(Challenge::Basic) | None => {
                    let r = http
                        .get(&ping)
                        .header(
                            reqwest::header::AUTHORIZATION,
                            basic_header(username, password),
                        )
                        .send()
                        .await
                        .map_err(unreachable)?;
                    if !r.status().is_success() {
                        let status = r.status();
                        let (_, msg) = error_body(r).await;
                        return Err(denied(format!(
                            "login refused ({status}){}",
                            msg.map(|m| format!(": {m}")).unwrap_or_default()
                        )));
                    }
                }
                Some(Challenge::Bearer { realm, service, .. }) => {
                    // Ask the token service with these credentials only (not the stored ones).
                    let probe = Client {
                        inner: std::sync::Arc::new(super::Inner {
                            cfg: super::ClientConfig {
                                credentials: CredentialStore::none().with_credential(
                                    &registry,
                                    Credential::Basic {
                                        username: username.to_string(),
                                        password: password.to_string(),
                                    },
                                ),
                                ..self.inner.cfg.clone()
                            },
                            http: self.inner.http.clone(),
                            http_insecure: self.inner.http_insecure.clone(),
                            http_direct: self.inner.http_direct.clone(),
                            bases: std::sync::Mutex::new(std::collections::HashMap::new()),
                            auth: super::auth::AuthCache::default(),
                        }),
                    };
                    probe
                        .fetch_token(&ep, &[], &realm, service.as_deref())
                        .await
                        .map_err(|e| match e {
                            ClientError::Unauthorized { reason, .. } => {
                                denied(format!("login refused: {reason}"))
                            }
                            other => other,
                        })?;
                }
            }
        } else if !resp.status().is_success() {
            let status = resp.status();
            return Err(denied(format!(
                "{ping} answered {status}; is this a registry?"
            )));
        }
        Ok(self
            .inner
            .cfg
            .credentials
            .store(&registry, username, password)
            .await?)
    }

    /// Remove stored credentials for `registry`; whether any were removed.
    pub async fn logout(&self, registry: &str) -> Result<bool, ClientError> {
        Ok(self.inner.cfg.credentials.erase(registry).await?)
    }
}
