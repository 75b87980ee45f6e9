//! Registry auth: `WWW-Authenticate` challenges (Basic, Bearer token flow) and a token cache
//! keyed by registry and scope.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::credentials::Credential;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parse a `WWW-Authenticate` value.
pub fn parse_challenge(value: &str) -> Option<Challenge> {
    let v = value.trim();
    let (scheme, params) = v.split_once(' ').unwrap_or((v, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => {
            let p = parse_params(params);
            Some(Challenge::Bearer {
                realm: p.get("realm")?.clone(),
                service: p.get("service").cloned(),
                scope: p.get("scope").cloned(),
            })
        }
        _ => None,
    }
}

/// `k="v",k2=v2` with commas allowed inside quotes.
fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap_or(r.len());
            value = r[..end].to_string();
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        out.insert(key, value);
    }
    out
}

/// What we know about a registry's auth, and tokens per scope.
#[derive(Default)]
pub struct AuthCache {
    hosts: Mutex<HashMap<String, HostAuth>>,
}

#[derive(Default, Clone)]
struct HostAuth {
    challenge: Option<Challenge>,
    credential: Option<Option<Credential>>,
    tokens: HashMap<String, (String, Instant)>,
}

impl AuthCache {
    fn with<T>(&self, registry: &str, f: impl FnOnce(&mut HostAuth) -> T) -> T {
        let mut m = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        f(m.entry(registry.to_string()).or_default())
    }

    pub fn challenge(&self, registry: &str) -> Option<Challenge> {
        self.with(registry, |h| h.challenge.clone())
    }

    pub fn set_challenge(&self, registry: &str, c: Challenge) {
        self.with(registry, |h| h.challenge = Some(c));
    }

    /// `Some(cached)` once looked up (cached value may be `None`: no credentials).
    pub fn credential(&self, registry: &str, repo_key: &str) -> Option<Option<Credential>> {
        let _ = repo_key;
        self.with(registry, |h| h.credential.clone())
    }

    pub fn set_credential(&self, registry: &str, c: Option<Credential>) {
        self.with(registry, |h| h.credential = Some(c));
    }

    pub fn token(&self, registry: &str, scope_key: &str) -> Option<String> {
        self.with(registry, |h| {
            h.tokens
                .get(scope_key)
                .filter(|(_, exp)| *exp > Instant::now())
                .map(|(t, _)| t.clone())
        })
    }

    pub fn set_token(&self, registry: &str, scope_key: &str, token: String, ttl: Duration) {
        // Refresh a little early.
        let ttl = ttl
            .saturating_sub(Duration::from_secs(10))
            .max(Duration::from_secs(5));
        self.with(registry, |h| {
            h.tokens
                .insert(scope_key.to_string(), (token, Instant::now() + ttl));
        });
    }

    pub fn forget_token(&self, registry: &str, scope_key: &str) {
        self.with(registry, |h| {
            h.tokens.remove(scope_key);
        });
    }
}

/// `Authorization: Basic ...` value.
pub fn basic_header(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[cfg(test)]
#[path = "../tests/client_auth.rs"]
mod tests;
