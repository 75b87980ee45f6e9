//! Listing a repository's tags (`GET /v2/<repo>/tags/list`, following `Link` pagination).

use super::body::status_error;
use super::pull::pull_scope;
use super::transport::RETRY;
use super::{Client, ClientError};
use reqwest::StatusCode;

/// Pages are requested this large; registries may return fewer.
const PAGE: usize = 1000;
/// Upper bound on pages followed, against a registry that links in a loop.
const MAX_PAGES: usize = 1000;

#[derive(serde::Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl Client {
    /// Every tag of `repository` on `registry` (empty when the repository does not exist).
    pub async fn list_tags(
        &self,
        registry: &str,
        repository: &str,
    ) -> Result<Vec<String>, ClientError> {
        let ep = self.endpoint(registry).await?;
        let mut path = format!("/v2/{repository}/tags/list?n={PAGE}");
        let mut tags = Vec::new();
        for _ in 0..MAX_PAGES {
            let url = ep.url(&path);
            let resp = self
                .send(&ep, &pull_scope(repository), RETRY, &|h| Ok(h.get(&url)))
                .await?;
            match resp.status() {
                StatusCode::NOT_FOUND => return Ok(tags),
                s if s.is_success() => {}
                _ => return Err(status_error("GET", &url, resp).await),
            }
            let next = resp
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .map(|v| {
                    v.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string()
                });
            let body = resp.bytes().await.map_err(|e| ClientError::Unreachable {
                endpoint: ep.base.clone(),
                reason: e.to_string(),
            })?;
            let page: TagList =
                serde_json::from_slice(&body).map_err(|e| ClientError::Unreachable {
                    endpoint: ep.base.clone(),
                    reason: format!("tags/list is not JSON: {e}"),
                })?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(n) if n.starts_with("/v2/") => path = n,
                _ => return Ok(tags),
            }
        }
        Ok(tags)
    }
}
