//! Downloads for ADD/APP http(s) sources, behind a trait (the CLI supplies the HTTP client).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("download of {url} failed: {message}")]
    Failed { url: String, message: String },
    #[error("cannot write the download of {url} to {path}: {source}")]
    Write {
        url: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Downloads a URL into a new file under `dir` and returns its path.
pub trait UrlFetcher: Send + Sync {
    fn fetch(&self, url: &str, dir: &Path) -> Result<PathBuf, FetchError>;
}

/// Serves fixed bodies by URL (tests).
#[derive(Default)]
pub struct FakeFetcher {
    pub bodies: HashMap<String, Vec<u8>>,
}

impl UrlFetcher for FakeFetcher {
    fn fetch(&self, url: &str, dir: &Path) -> Result<PathBuf, FetchError> {
        let body = self.bodies.get(url).ok_or_else(|| FetchError::Failed {
            url: url.to_string(),
            message: "404 Not Found".to_string(),
        })?;
        write_new(url, dir, body)
    }
}

/// Write bytes to a fresh file in `dir`.
pub fn write_new(url: &str, dir: &Path, body: &[u8]) -> Result<PathBuf, FetchError> {
    let err = |source| FetchError::Write {
        url: url.to_string(),
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let file = tempfile::Builder::new()
        .prefix("download-")
        .tempfile_in(dir)
        .map_err(err)?;
    std::fs::write(file.path(), body).map_err(err)?;
    let (_, path) = file.keep().map_err(|e| err(e.error))?;
    Ok(path)
}
