//! Image references with docker's normalization rules (`nginx` → `docker.io/library/nginx:latest`).

use std::fmt;

/// The registry used when a name has none.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// Repository prefix for single-component names on the default registry.
pub const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag used when a name has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// Why a reference was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid image reference {input:?}: empty")]
    Empty { input: String },
    #[error(
        "invalid image reference {input:?}: a 64-character hex string is an image ID, not a name; \
         write sha256:{input} to mean the digest"
    )]
    LooksLikeId { input: String },
    #[error("invalid image reference {input:?}: repository name must be lowercase")]
    Uppercase { input: String },
    #[error("invalid image reference {input:?}: bad registry host {registry:?}")]
    BadRegistry { input: String, registry: String },
    #[error(
        "invalid image reference {input:?}: bad repository path component {component:?} \
         (allowed: lowercase letters, digits, single '.', '_' or '__', runs of '-')"
    )]
    BadRepository { input: String, component: String },
    #[error(
        "invalid image reference {input:?}: bad tag {tag:?} (allowed: [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})"
    )]
    BadTag { input: String, tag: String },
    #[error("invalid image reference {input:?}: bad digest {digest:?} (expected algorithm:hex)")]
    BadDigest { input: String, digest: String },
    #[error("invalid image reference {input:?}: name longer than {MAX_NAME_LEN} characters")]
    TooLong { input: String },
}

/// A parsed, fully qualified image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// Registry host (and port), e.g. `docker.io`, `localhost:5000`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `library/nginx`.
    pub repository: String,
    pub tag: Option<String>,
    /// `algorithm:hex`
    pub digest: Option<String>,
}

impl Reference {
    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The short form docker prints: `nginx:latest`, `user/app:v1`, `my.reg/x/y:1`.
    pub fn familiar(&self) -> String {
        let mut out = if self.registry == DEFAULT_REGISTRY {
            self.repository
                .strip_prefix(OFFICIAL_REPO_PREFIX)
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            self.name()
        };
        push_suffix(&mut out, self);
        out
    }

    /// A copy with the default tag added when there is neither tag nor digest.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }
}

fn push_suffix(out: &mut String, r: &Reference) {
    if let Some(t) = &r.tag {
        out.push(':');
        out.push_str(t);
    }
    if let Some(d) = &r.digest {
        out.push('@');
        out.push_str(d);
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        push_suffix(&mut out, self);
        f.write_str(&out)
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

/// Parse a reference the way `docker pull` does, filling in registry and `library/`,
/// but leaving a missing tag as `None` (see [`normalize`]).
pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
    let err_input = || input.to_string();
    if input.is_empty() {
        return Err(ReferenceError::Empty { input: err_input() });
    }
    if input.len() == 64 && input.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ReferenceError::LooksLikeId { input: err_input() });
    }
    let (rest, digest) = match input.split_once('@') {
        Some((r, d)) => {
            if oci_spec::image::Digest::try_from(d).is_err() {
                return Err(ReferenceError::BadDigest {
                    input: err_input(),
                    digest: d.to_string(),
                });
            }
            (r, Some(d.to_string()))
        }
        None => (input, None),
    };
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (
            &rest[..last_slash + i],
            Some(rest[last_slash + i + 1..].to_string()),
        ),
        None => (rest, None),
    };
    let (registry, path) = split_registry(name);
    let registry = if registry == "index.docker.io" {
        DEFAULT_REGISTRY.to_string()
    } else {
        registry.to_string()
    };
    let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') {
        format!("{OFFICIAL_REPO_PREFIX}{path}")
    } else {
        path.to_string()
    };
    if !valid_registry(&registry) {
        return Err(ReferenceError::BadRegistry {
            input: err_input(),
            registry,
        });
    }
    if repository.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::Uppercase { input: err_input() });
    }
    for component in repository.split('/') {
        if !valid_path_component(component) {
            return Err(ReferenceError::BadRepository {
                input: err_input(),
                component: component.to_string(),
            });
        }
    }
    if let Some(t) = &tag
        && !valid_tag(t)
    {
        return Err(ReferenceError::BadTag {
            input: err_input(),
            tag: t.clone(),
        });
    }
    if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
        return Err(ReferenceError::TooLong { input: err_input() });
    }
    Ok(Reference {
        registry,
        repository,
        tag,
        digest,
    })
}

/// Fully qualified form with the default tag: `nginx` → `docker.io/library/nginx:latest`.
pub fn normalize(name: &str) -> Result<String, ReferenceError> {
    Ok(parse(name)?.with_default_tag().to_string())
}

/// docker's rule: the first component is a registry when it has a `.` or `:`, is
/// `localhost`, or has uppercase letters.
fn split_registry(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => (DEFAULT_REGISTRY, name),
    }
}

fn valid_registry(host: &str) -> bool {
    let (host, port) = if let Some(v6) = host.strip_prefix('[') {
        match v6.split_once(']') {
            Some((addr, rest)) => {
                if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
                    return false;
                }
                match rest {
                    "" => return true,
                    r => match r.strip_prefix(':') {
                        Some(p) => return valid_port(p),
                        None => return false,
                    },
                }
            }
            None => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        }
    };
    if let Some(p) = port
        && !valid_port(p)
    {
        return false;
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn valid_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`: one `/`-separated component of a repository name.
pub fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_TAG_LEN
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&x| x.is_ascii_alphanumeric() || x == b'_' || x == b'.' || x == b'-')
}

#[cfg(test)]
#[path = "tests/reference.rs"]
mod tests;
