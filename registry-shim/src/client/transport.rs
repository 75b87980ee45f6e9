//! Sending requests: auth (challenge → credentials/token → replay), retries with
//! exponential backoff on connection errors and 5xx/429, and stall-guarded body reads.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::header::{AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode};

use super::auth::{Challenge, basic_header, parse_challenge};
use super::credentials::Credential;
use super::endpoint::Endpoint;
use super::{Client, ClientError};

/// Builds a fresh request for each attempt.
pub(crate) type Build<'a> = &'a (dyn Fn(&reqwest::Client) -> Result<RequestBuilder, ClientError> + Send + Sync);

/// How [`Client::send`] treats a request.
#[derive(Clone, Copy)]
pub(crate) struct SendOpts {
    /// Retry on retryable failures (only for requests whose body can be rebuilt).
    pub retry: bool,
    /// Apply the stall timeout to waiting for response headers (off for uploads).
    pub header_timeout: bool,
}

pub(crate) const RETRY: SendOpts = SendOpts {
    retry: true,
    header_timeout: true,
};
pub(crate) const ONCE_UPLOAD: SendOpts = SendOpts {
    retry: false,
    header_timeout: false,
};

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// `(code, message)` from an OCI error body.
pub(crate) async fn error_body(resp: Response) -> (Option<String>, Option<String>) {
    let text = tokio::time::timeout(Duration::from_secs(5), resp.bytes()).await;
    let Ok(Ok(bytes)) = text else { return (None, None) };
    let bytes = &bytes[..bytes.len().min(64 * 1024)];
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) {
        if let Some(e) = v.get("errors").and_then(|e| e.get(0)) {
            let code = e.get("code").and_then(|c| c.as_str()).map(str::to_string);
            let msg = e.get("message").and_then(|c| c.as_str()).map(str::to_string);
            return (code, msg);
        }
    }
    let t = String::from_utf8_lossy(bytes).trim().chars().take(200).collect::<String>();
    (None, (!t.is_empty()).then_some(t))
}

pub(crate) async fn status_error(method: &str, url: &str, resp: Response) -> ClientError {
    let status = resp.status().as_u16();
    let (code, message) = error_body(resp).await;
    ClientError::Status {
        method: method.to_string(),
        url: url.to_string(),
        status,
        code,
        message,
    }
}

fn retryable_status(s: StatusCode) -> bool {
    s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::REQUEST_TIMEOUT
}

impl Client {
    pub(crate) fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let p = &self.inner.cfg.retry;
        let exp = p.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(p.max_delay);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = capped.mul_f64(0.5 + f64::from(nanos % 500) / 1000.0);
        retry_after.map_or(jitter, |r| r.min(p.max_delay).max(jitter))
    }

    /// Send with auth and (optionally) retries. Returns any non-401, non-retryable response;
    /// the caller interprets 404 and friends.
    pub(crate) async fn send(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        opts: SendOpts,
        build: Build<'_>,
    ) -> Result<Response, ClientError> {
        let max = if opts.retry { self.inner.cfg.retry.max_attempts.max(1) } else { 1 };
        let stall = self.inner.cfg.stall_timeout;
        let mut attempt = 0;
        let mut reauthed = false;
        loop {
            attempt += 1;
            let http = self.http_for(ep);
            let rb = self.apply_auth(ep, scopes, build(http)?).await?;
            let req = rb.build().map_err(|e| ClientError::Setup(error_chain(&e)))?;
            let (method, url) = (req.method().to_string(), req.url().to_string());
            let sent = if opts.header_timeout {
                tokio::time::timeout(stall, http.execute(req)).await
            } else {
                Ok(http.execute(req).await)
            };
            let mut retry_after = None;
            let err = match sent {
                Err(_) => ClientError::Stalled {
                    url,
                    secs: stall.as_secs(),
                },
                Ok(Err(e)) => ClientError::Unreachable {
                    endpoint: ep.base.clone(),
                    reason: error_chain(&e),
                },
                Ok(Ok(resp)) if resp.status() == StatusCode::UNAUTHORIZED => {
                    if reauthed {
                        let (code, message) = error_body(resp).await;
                        return Err(ClientError::Unauthorized {
                            endpoint: ep.base.clone(),
                            reason: format!(
                                "{method} {url} was refused with the credentials/token{}",
                                message.or(code).map(|m| format!(": {m}")).unwrap_or_default()
                            ),
                        });
                    }
                    reauthed = true;
                    self.handle_challenge(ep, scopes, &resp).await?;
                    attempt -= 1;
                    continue;
                }
                Ok(Ok(resp)) if retryable_status(resp.status()) => {
                    retry_after = resp
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    status_error(&method, &url, resp).await
                }
                Ok(Ok(resp)) => return Ok(resp),
            };
            if err.is_retryable() && attempt < max {
                tokio::time::sleep(self.backoff(attempt, retry_after)).await;
                continue;
            }
            return Err(if attempt > 1 {
                ClientError::RetriesExhausted {
                    attempts: attempt,
                    last: Box::new(err),
                }
            } else {
                err
            });
        }
    }

    async fn credential(&self, ep: &Endpoint, scopes: &[String]) -> Result<Option<Credential>, ClientError> {
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

    async fn apply_auth(&self, ep: &Endpoint, scopes: &[String], rb: RequestBuilder) -> Result<RequestBuilder, ClientError> {
        match self.inner.auth.challenge(&ep.registry) {
            None => Ok(rb),
            Some(Challenge::Basic) => Ok(match self.credential(ep, scopes).await? {
                Some(Credential::Basic { username, password }) => rb.header(AUTHORIZATION, basic_header(&username, &password)),
                Some(Credential::RegistryToken(t)) => rb.bearer_auth(t),
                _ => rb,
            }),
            Some(Challenge::Bearer { realm, service, .. }) => {
                let key = scopes.join(" ");
                let token = match self.inner.auth.token(&ep.registry, &key) {
                    Some(t) => t,
                    None => self.fetch_token(ep, scopes, &realm, service.as_deref()).await?,
                };
                Ok(rb.bearer_auth(token))
            }
        }
    }

    async fn handle_challenge(&self, ep: &Endpoint, scopes: &[String], resp: &Response) -> Result<(), ClientError> {
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
                        reason: format!("the registry requires credentials and none are configured for {}", ep.registry),
                    });
                }
                Ok(())
            }
            Challenge::Bearer { realm, service, scope } => {
                let mut scopes = scopes.to_vec();
                if scopes.is_empty() {
                    scopes.extend(scope);
                }
                self.inner.auth.forget_token(&ep.registry, &scopes.join(" "));
                self.fetch_token(ep, &scopes, &realm, service.as_deref()).await.map(|_| ())
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
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
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
                let url = if q.is_empty() { realm.to_string() } else { format!("{realm}{sep}{q}") };
                let rb = http.get(url);
                match other {
                    Some(Credential::Basic { username, password }) => rb.header(AUTHORIZATION, basic_header(username, password)),
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
        let body = BodyStream::new(resp, self.inner.cfg.stall_timeout).read_all(1 << 20).await?;
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| unauthorized(format!("token response is not JSON: {e}")))?;
        let token = v
            .get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("token response has no token".into()))?
            .to_string();
        let ttl = v.get("expires_in").and_then(|e| e.as_u64()).unwrap_or(60);
        self.inner
            .auth
            .set_token(&ep.registry, &scopes.join(" "), token.clone(), Duration::from_secs(ttl));
        Ok(token)
    }
}

/// A response body read chunk by chunk; no data for `stall` → [`ClientError::Stalled`].
pub(crate) struct BodyStream {
    stream: BoxStream<'static, reqwest::Result<Bytes>>,
    url: String,
    stall: Duration,
    pub received: u64,
}

impl BodyStream {
    pub fn new(resp: Response, stall: Duration) -> Self {
        Self {
            url: resp.url().to_string(),
            stream: resp.bytes_stream().boxed(),
            stall,
            received: 0,
        }
    }

    pub async fn next(&mut self) -> Result<Option<Bytes>, ClientError> {
        match tokio::time::timeout(self.stall, self.stream.next()).await {
            Err(_) => Err(ClientError::Stalled {
                url: self.url.clone(),
                secs: self.stall.as_secs(),
            }),
            Ok(None) => Ok(None),
            Ok(Some(Err(e))) => Err(ClientError::Unreachable {
                endpoint: self.url.clone(),
                reason: format!("connection broke after {} bytes: {}", self.received, error_chain(&e)),
            }),
            Ok(Some(Ok(b))) => {
                self.received += b.len() as u64;
                Ok(Some(b))
            }
        }
    }

    /// Read everything, refusing more than `limit` bytes.
    pub async fn read_all(mut self, limit: u64) -> Result<Vec<u8>, ClientError> {
        let mut out = Vec::new();
        while let Some(b) = self.next().await? {
            if out.len() as u64 + b.len() as u64 > limit {
                return Err(ClientError::TooLarge { url: self.url, limit });
            }
            out.extend_from_slice(&b);
        }
        Ok(out)
    }
}
