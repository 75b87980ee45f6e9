//! Basic auth against an htpasswd file with bcrypt entries (what docker-registry accepts).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;

#[derive(Debug, thiserror::Error)]
pub enum HtpasswdError {
    #[error("cannot read htpasswd file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason} (use `htpasswd -B` to write bcrypt entries)")]
    Entry {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// Users and bcrypt hashes; successful checks are memoized (bcrypt costs tens of
/// milliseconds and clients send credentials on every request).
#[derive(Debug)]
pub struct Htpasswd {
    users: HashMap<String, String>,
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl Htpasswd {
    pub fn load(path: &Path) -> Result<Self, HtpasswdError> {
        let text = std::fs::read_to_string(path).map_err(|source| HtpasswdError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|(line, reason)| HtpasswdError::Entry {
            path: path.to_path_buf(),
            line,
            reason,
        })
    }

    fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut users = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else {
                return Err((i + 1, "expected `user:hash`".to_string()));
            };
            if !["$2y$", "$2a$", "$2b$"].iter().any(|p| hash.starts_with(p)) {
                return Err((i + 1, format!("user `{user}` has a non-bcrypt hash")));
            }
            users.insert(user.to_string(), hash.to_string());
        }
        Ok(Self {
            users,
            verified: Mutex::new(HashSet::new()),
        })
    }

    /// Check an `Authorization` header value; blocking (bcrypt), call off the async threads.
    pub fn check(&self, authorization: Option<&str>) -> bool {
        let Some(encoded) = authorization.and_then(|a| {
            a.strip_prefix("Basic ")
                .or_else(|| a.strip_prefix("basic "))
        }) else {
            return false;
        };
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(raw) = String::from_utf8(raw) else {
            return false;
        };
        let Some((user, pass)) = raw.split_once(':') else {
            return false;
        };
        let Some(hash) = self.users.get(user) else {
            return false;
        };
        let key = {
            let mut h = crate::digest::Hasher::new();
            for part in [
                user.as_bytes(),
                b"\0",
                pass.as_bytes(),
                b"\0",
                hash.as_bytes(),
            ] {
                h.update(part);
            }
            let mut k = [0u8; 32];
            let _ = hex::decode_to_slice(h.finish().hex(), &mut k);
            k
        };
        if self
            .verified
            .lock()
            .map(|s| s.contains(&key))
            .unwrap_or(false)
        {
            return true;
        }
        let ok = bcrypt::verify(pass, hash).unwrap_or(false);
        if ok && let Ok(mut s) = self.verified.lock() {
            s.insert(key);
        }
        ok
    }
}

#[cfg(test)]
#[path = "../tests/server_htpasswd.rs"]
mod tests;
