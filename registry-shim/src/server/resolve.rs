//! Map a request's repository name (and containerd's `?ns=<registry>`) to a repository in
//! the layout, where repositories are stored as `<registry-domain>/<path>`.

use crate::distribution_layout::Layout;
use crate::reference::{domain_dir, layout_repo, looks_like_domain};

/// What the proxy can fetch: the domains (as layout directory names) of configured
/// upstreams, and the upstream for names that carry no domain.
#[derive(Clone, Debug, Default)]
pub struct ProxyDomains {
    pub domains: Vec<String>,
    pub default: Option<String>,
}

impl ProxyDomains {
    fn covers(&self, dir: &str) -> bool {
        self.domains.iter().any(|d| d == dir)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    Repo(String),
    /// Several registries hold this path and the request did not say which.
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
}

/// Resolve for reading (GET/HEAD).
///
/// * with `ns`: `<ns>/<name>` when stored or proxied; else `<name>` as-is when stored (layouts
///   written without domains); else `<ns>/<name>` (which then 404s).
/// * without `ns`: `<name>` when stored; else the unique `<domain>/<name>`; else a proxied
///   `<name>` whose first component is an upstream; else `<default-upstream>/<name>`.
pub fn for_read(layout: &Layout, name: &str, ns: Option<&str>, proxy: &ProxyDomains) -> Resolved {
    if let Some(ns) = ns {
        let cand = layout_repo(ns, name);
        if layout.repo_exists(&cand) || proxy.covers(&domain_dir(ns)) || !layout.repo_exists(name) {
            return Resolved::Repo(cand);
        }
        return Resolved::Repo(name.to_string());
    }
    if layout.repo_exists(name) {
        return Resolved::Repo(name.to_string());
    }
    let candidates: Vec<String> = layout
        .top_level_dirs()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| looks_like_domain_dir(d))
        .map(|d| format!("{d}/{name}"))
        .filter(|r| layout.repo_exists(r))
        .collect();
    match candidates.len() {
        1 => return Resolved::Repo(candidates.into_iter().next().unwrap_or_default()),
        0 => {}
        _ => {
            return Resolved::Ambiguous {
                name: name.to_string(),
                candidates,
            };
        }
    }
    let first = name.split('/').next().unwrap_or("");
    if proxy.covers(first) {
        return Resolved::Repo(name.to_string());
    }
    if let Some(def) = &proxy.default {
        return Resolved::Repo(layout_repo(def, name));
    }
    Resolved::Repo(name.to_string())
}

/// Resolve for writing (push): `<ns>/<name>` with `ns`, else the name exactly.
pub fn for_write(name: &str, ns: Option<&str>) -> String {
    match ns {
        Some(ns) => layout_repo(ns, name),
        None => name.to_string(),
    }
}

/// A top-level layout directory that stands for a registry domain (`docker.io`,
/// `127.0.0.1_5000`, `localhost`).
fn looks_like_domain_dir(d: &str) -> bool {
    looks_like_domain(d)
        || d.rsplit_once('_')
            .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
#[path = "../tests/server_resolve.rs"]
mod tests;
