//! Sending requests: auth (challenge → credentials/token → replay) and retries with
//! exponential backoff on connection errors, stalls and 5xx/429.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::{RequestBuilder, Response, StatusCode};

use super::body::{error_body, error_chain, status_error};
use super::endpoint::Endpoint;
use super::{Client, ClientError};

/// Builds a fresh request for each attempt.
pub(crate) type Build<'a> =
    &'a (dyn Fn(&reqwest::Client) -> Result<RequestBuilder, ClientError> + Send + Sync);

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

fn retryable_status(s: StatusCode) -> bool {
    s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::REQUEST_TIMEOUT
}

impl Client {
    pub(crate) fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let p = &self.inner.cfg.retry;
        let exp = p
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
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
        let max = if opts.retry {
            self.inner.cfg.retry.max_attempts.max(1)
        } else {
            1
        };
        let stall = self.inner.cfg.stall_timeout;
        let mut attempt = 0;
        let mut reauthed = false;
        loop {
            attempt += 1;
            let http = self.http_for(ep);
            let rb = self.apply_auth(ep, scopes, build(http)?).await?;
            let req = rb
                .build()
                .map_err(|e| ClientError::Setup(error_chain(&e)))?;
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
                                message
                                    .or(code)
                                    .map(|m| format!(": {m}"))
                                    .unwrap_or_default()
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
}
