//! Image references: the distribution grammar, normalisation to fully qualified form
//! (`nginx` → `docker.io/library/nginx:latest`) and the plausibility test used for strings found
//! without an `image` key around them.

use regex::Regex;
use std::sync::OnceLock;

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).unwrap_or_else(|_| unreachable!("static regex")))
}

fn path_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$",
    )
}

fn domain_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$",
    )
}

fn tag_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^[\w][\w.-]{0,127}$")
}

fn digest_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$",
    )
}

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub domain: String,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// The text named a registry explicitly.
    pub explicit_domain: bool,
}

impl Reference {
    /// `docker.io/library/nginx:latest`, `quay.io/x/y:v1@sha256:…`.
    pub fn normalized(&self) -> String {
        let mut s = format!("{}/{}", self.domain, self.path);
        match (&self.tag, &self.digest) {
            (Some(t), _) => s.push_str(&format!(":{t}")),
            (None, None) => s.push_str(":latest"),
            (None, Some(_)) => {}
        }
        if let Some(d) = &self.digest {
            s.push_str(&format!("@{d}"));
        }
        s
    }
}

/// Text that is a template or variable rather than a reference.
pub fn is_templated(text: &str) -> bool {
    text.contains("{{") || text.contains("${") || text.contains("$(") || text.starts_with('$')
}

/// Parse a reference; the error says why it is not one.
pub fn parse(text: &str) -> Result<Reference, String> {
    let text = text.trim();
    if text.is_empty() || text.len() > 512 || text.chars().any(char::is_whitespace) {
        return Err("not a single token".into());
    }
    if text.contains("://") {
        return Err("a URL, not an image reference".into());
    }
    let (rest, digest) = match text.split_once('@') {
        Some((r, d)) if digest_re().is_match(d) => (r, Some(d.to_string())),
        Some(_) => return Err("invalid digest".into()),
        None => (text, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => {
            let t = &rest[last_slash + i + 1..];
            if !tag_re().is_match(t) {
                return Err(format!("invalid tag {t:?}"));
            }
            (&rest[..last_slash + i], Some(t.to_string()))
        }
        None => (rest, None),
    };
    let (domain, path, explicit) = match name.split_once('/') {
        Some((first, remainder))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            if !domain_re().is_match(first) {
                return Err(format!("invalid registry {first:?}"));
            }
            (first.to_string(), remainder.to_string(), true)
        }
        _ => ("docker.io".to_string(), name.to_string(), false),
    };
    if !path_re().is_match(&path) {
        return Err(format!("invalid repository name {path:?}"));
    }
    let domain = if domain == "index.docker.io" {
        "docker.io".to_string()
    } else {
        domain
    };
    let path = if domain == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    if domain.len() + path.len() > 255 {
        return Err("repository name too long".into());
    }
    Ok(Reference {
        domain,
        path,
        tag,
        digest,
        explicit_domain: explicit,
    })
}

/// Fully qualified form of a reference.
pub fn normalize(text: &str) -> Result<String, String> {
    parse(text).map(|r| r.normalized())
}

fn plausible_registry(domain: &str) -> bool {
    if domain == "localhost" || domain.starts_with("localhost:") || domain.starts_with('[') {
        return true;
    }
    let (host, port) = domain.split_once(':').unwrap_or((domain, ""));
    if !port.is_empty() {
        return true;
    }
    let tld = host.rsplit('.').next().unwrap_or_default();
    // `quay.io`, `registry.k8s.io`, `10.0.0.1`; not `v1.2` or `values.yaml`.
    let ip = host.split('.').count() == 4 && host.split('.').all(|p| p.parse::<u8>().is_ok());
    ip || (tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
        && !matches!(
            tld,
            "yaml" | "yml" | "json" | "sh" | "txt" | "md" | "conf" | "tmpl"
        ))
}

/// A string found with no `image` key around it counts only when it names a plausible registry
/// and carries a tag or digest (`quay.io/x/y:v1`), which keeps names, paths and versions out.
pub fn is_strong(text: &str) -> bool {
    match parse(text) {
        Ok(r) => {
            r.explicit_domain
                && (r.tag.is_some() || r.digest.is_some())
                && plausible_registry(&r.domain)
        }
        Err(_) => false,
    }
}

#[cfg(test)]
#[path = "../tests/discover_reference.rs"]
mod tests;
