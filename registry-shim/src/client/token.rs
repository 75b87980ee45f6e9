//! Auth for requests: apply known credentials or tokens, answer a 401 challenge, fetch
//! bearer tokens (basic credentials, OAuth2 refresh tokens, or a fixed registry token).

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response};

use super::auth::{Challenge, basic_header, parse_challenge};
use super::body::{BodyStream, error_body, error_chain};
use super::credentials::Credential;
use super::endpoint::Endpoint;
use super::{Client, ClientError};

impl Client {
    async fn credential(
        &self,
        ep: &Endpoint,
        scopes: &[String],
    ) -> Result<Option<Credential>, ClientError> {
        let repo = scopes
            .first()
            .and_then(|s| s.split(':').nth(1))
            .unwrap_or("")
            .to_string();
        if let Some(c) = self.inner.auth.credential(&ep.registry, &repo) {
            return Ok(c);
        }
        let c = self.inner.cfg.credentials.get(&ep.registry, &repo).await?;
        self.inner.auth.set_credential(&ep.registry, c.clone());
        Ok(c)
    }

    pub(crate) async fn apply_auth(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        rb: RequestBuilder,
    ) -> Result<RequestBuilder, ClientError> {
        match self.inner.auth.challenge(&ep.registry) {
            None => Ok(rb),
            Some(Challenge::Basic) => Ok(match self.credential(ep, scopes).await? {
                Some(Credential::Basic { username, password }) => {
                    rb.header(AUTHORIZATION, basic_header(&username, &password))
                }
                Some(Credential::RegistryToken(t)) => rb.bearer_auth(t),
                _ => rb,
            }),
            Some(Challenge::Bearer { realm, service, .. }) => {
                let key = scopes.join(" ");
                let token = match self.inner.auth.token(&ep.registry, &key) {
                    Some(t) => t,
                    None => {
                        self.fetch_token(ep, scopes, &realm, service.as_deref())
                            .await?
                    }
                };
                Ok(rb.bearer_auth(token))
            }
        }
    }

    pub(crate) async fn handle_challenge(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        resp: &Response,
    ) -> Result<(), ClientError> {
        let challenges: Vec<Challenge> = resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok().and_then(parse_challenge))
            .collect();
        let chosen = challenges
            .iter()
            .find(|c| matches!(c, Challenge::Bearer { .. }))
            .or_else(|| challenges.first())
            .cloned();
        let Some(c) = chosen else {
            return Err(ClientError::Unauthorized {
                endpoint: ep.base.clone(),
                reason: "401 without a usable WWW-Authenticate challenge".into(),
            });
        };
        self.inner.auth.set_challenge(&ep.registry, c.clone());
        match c {
            Challenge::Basic => {
                if self.credential(ep, scopes).await?.is_none() {
                    return Err(ClientError::Unauthorized {
                        endpoint: ep.base.clone(),
                        reason: format!(
                            "the registry requires credentials and none are configured for {}",
                            ep.registry
                        ),
                    });
                }
                Ok(())
            }
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let mut scopes = scopes.to_vec();
                if scopes.is_empty() {
                    scopes.extend(scope);
                }
                self.inner
                    .auth
                    .forget_token(&ep.registry, &scopes.join(" "));
                self.fetch_token(ep, &scopes, &realm, service.as_deref())
                    .await
                    .map(|_| ())
            }
        }
    }

    pub(crate) async fn fetch_token(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        realm: &str,
        service: Option<&str>,
    ) -> Result<String, ClientError> {
        let cred = self.credential(ep, scopes).await?;
        let unauthorized = |reason: String| ClientError::Unauthorized {
            endpoint: realm.to_string(),
            reason,
        };
        let http = self.http_for(ep);
        let req = match &cred {
            Some(Credential::RegistryToken(t)) => return Ok(t.clone()),
            Some(Credential::IdentityToken(rt)) => {
                let mut form = form_urlencoded::Serializer::new(String::new());
                form.append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", rt)
                    .append_pair("client_id", "sealer-rs");
                if let Some(s) = service {
                    form.append_pair("service", s);
                }
                if !scopes.is_empty() {
                    form.append_pair("scope", &scopes.join(" "));
                }
                http.post(realm)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(form.finish())
            }
            other => {
                let mut q = form_urlencoded::Serializer::new(String::new());
                if let Some(s) = service {
                    q.append_pair("service", s);
                }
                for s in scopes {
                    q.append_pair("scope", s);
                }
                let q = q.finish();
                let sep = if realm.contains('?') { '&' } else { '?' };
                let url = if q.is_empty() {
                    realm.to_string()
                } else {
                    format!("{realm}{sep}{q}")
                };
                let rb = http.get(url);
                match other {
                    Some(Credential::Basic { username, password }) => {
                        rb.header(AUTHORIZATION, basic_header(username, password))
                    }
                    _ => rb,
                }
            }
        };
        let resp = tokio::time::timeout(self.inner.cfg.stall_timeout, req.send())
            .await
            .map_err(|_| unauthorized("token request timed out".into()))?
            .map_err(|e| unauthorized(format!("token request failed: {}", error_chain(&e))))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let (code, msg) = error_body(resp).await;
            return Err(unauthorized(format!(
                "token request answered {status}{}",
                msg.or(code).map(|m| format!(": {m}")).unwrap_or_default()
            )));
        }
        let body = BodyStream::new(resp, self.inner.cfg.stall_timeout)
            .read_all(1 << 20)
            .await?;
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| unauthorized(format!("token response is not JSON: {e}")))?;
        let token = v
            .get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("token response has no token".into()))?
            .to_string();
        let ttl = v.get("expires_in").and_then(|e| e.as_u64()).unwrap_or(60);
        self.inner.auth.set_token(
            &ep.registry,
            &scopes.join(" "),
            token.clone(),
            Duration::from_secs(ttl),
        );
        Ok(token)
    }
}
