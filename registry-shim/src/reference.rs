//! Image references (`[domain/]path[:tag][@digest]`) with Docker's normalization.
//!
//! Parsing is `sealer_image_cache::reference::parse` (distribution's grammar, Docker's
//! normalization); this type adds the sha256 digest type and the layout repository path.

use std::fmt;

use crate::digest::Digest;

/// Docker Hub's canonical domain.
pub const DOCKER_HUB: &str = "docker.io";

/// A fully qualified image reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageReference {
    /// Registry domain, `host[:port]`, e.g. `docker.io`, `127.0.0.1:5000`.
    pub domain: String,
    /// Repository path inside the registry, e.g. `library/nginx`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid image reference `{input}`: {reason}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

impl ImageReference {
    /// Parse and normalize (with `sealer_image_cache::reference`, so the store and the
    /// registry agree); a reference with neither tag nor digest gets tag `latest`.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let err = |reason: String| ReferenceError {
            input: input.to_string(),
            reason,
        };
        let r = sealer_image_cache::reference::parse(input.trim())
            .map_err(|e| err(e.to_string()))?
            .with_default_tag();
        let digest = r
            .digest
            .as_deref()
            .map(Digest::parse)
            .transpose()
            .map_err(|e| err(e.to_string()))?;
        Ok(Self {
            domain: normalize_domain(&r.registry),
            repository: r.repository,
            tag: r.tag,
            digest,
        })
    }

    /// The digest if pinned, else the tag: what goes after `/manifests/`.
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// `domain/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.repository)
    }

    /// The repository path inside a distribution layout: `<domain>/<repository>`, with the
    /// port separator `:` written as `_` (distribution does not allow `:` in names).
    pub fn layout_repo(&self) -> String {
        layout_repo(&self.domain, &self.repository)
    }

    /// The same reference with a digest pin (tag kept).
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            digest: Some(digest),
            ..self.clone()
        }
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Layout repository path for a registry domain and repository.
pub fn layout_repo(domain: &str, repository: &str) -> String {
    format!("{}/{}", domain_dir(domain), repository)
}

/// A registry domain as one path component of a layout repository (`:` → `_`).
pub fn domain_dir(domain: &str) -> String {
    normalize_domain(domain).replace(':', "_")
}

/// `index.docker.io`/`registry-1.docker.io` → `docker.io`; lowercase.
pub fn normalize_domain(domain: &str) -> String {
    let d = domain.to_ascii_lowercase();
    match d.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_string()
        }
        _ => d,
    }
}

/// Whether a path component looks like a registry domain.
pub fn looks_like_domain(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

/// Distribution's repository name grammar: `/`-separated components of lowercase
/// alphanumerics joined by `.`, `_`, `__` or runs of `-`.
pub fn valid_repository(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.split('/').all(valid_component)
}

fn valid_component(c: &str) -> bool {
    sealer_image_cache::reference::valid_path_component(c)
}

#[cfg(test)]
#[path = "tests/reference.rs"]
mod tests;
