//! http(s) downloads for ADD/APP URL sources (reqwest, rustls with ring).

use sealer_solver::fetch::{FetchError, UrlFetcher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct HttpFetcher {
    client: reqwest::Client,
}

impl Default for HttpFetcher {
    fn default() -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        HttpFetcher { client }
    }
}

impl UrlFetcher for HttpFetcher {
    fn fetch(&self, url: &str, dir: &Path) -> Result<PathBuf, FetchError> {
        let failed = |message: String| FetchError::Failed {
            url: url.to_string(),
            message,
        };
        let write_err = |source| FetchError::Write {
            url: url.to_string(),
            path: dir.to_path_buf(),
            source,
        };
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| failed("no async runtime to download with".into()))?;
        std::fs::create_dir_all(dir).map_err(write_err)?;
        let mut file = tempfile::Builder::new()
            .prefix("download-")
            .tempfile_in(dir)
            .map_err(write_err)?;
        handle.block_on(async {
            let mut response = self
                .client
                .get(url)
                .send()
                .await
                .map_err(|e| failed(e.to_string()))?;
            if !response.status().is_success() {
                return Err(failed(format!("server answered {}", response.status())));
            }
            while let Some(chunk) = response.chunk().await.map_err(|e| failed(e.to_string()))? {
                file.write_all(&chunk).map_err(write_err)?;
            }
            Ok(())
        })?;
        let (_, path) = file.keep().map_err(|e| write_err(e.error))?;
        Ok(path)
    }
}
