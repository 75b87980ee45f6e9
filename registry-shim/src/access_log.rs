//! Machine-readable access log: one JSON object per line, for every request served and
//! every upstream fetch. The build cluster reads it to learn what was pulled.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One log line.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct AccessRecord {
    /// RFC 3339 UTC time the request finished.
    pub time: String,
    /// `request` (served to a client) or `upstream` (fetched from an upstream registry).
    pub kind: &'static str,
    pub method: String,
    pub path: String,
    /// Repository in the layout (`docker.io/library/nginx`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// containerd's `?ns=` parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<String>,
    /// Tag or digest from a manifest request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Content digest served or fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub status: u16,
    /// Body bytes sent (requests) or received (upstream fetches).
    pub bytes: u64,
    /// `hit` (served from the layout) or `miss` (fetched upstream first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<&'static str>,
    /// Upstream registry and endpoint involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot open access log {path}: {source}")]
pub struct AccessLogError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Appends records to a file; cheap to clone.
#[derive(Clone, Debug)]
pub struct AccessLog {
    file: Arc<Mutex<File>>,
}

impl AccessLog {
    pub fn open(path: &Path) -> Result<Self, AccessLogError> {
        let err = |source| AccessLogError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(err)?;
        Ok(Self {
            file: Arc::new(Mutex::new(file)),
        })
    }

    /// Write one record (one `write(2)` of a whole line; errors are ignored: logging must
    /// never fail a request).
    pub fn write(&self, mut rec: AccessRecord) {
        if rec.time.is_empty() {
            rec.time = crate::timefmt::now_rfc3339();
        }
        let Ok(mut line) = serde_json::to_vec(&rec) else {
            return;
        };
        line.push(b'\n');
        if let Ok(mut f) = self.file.lock() {
            let _ = f.write_all(&line);
        }
    }
}

/// Parse a log file back (tests, the build cluster).
pub fn read_records(path: &Path) -> std::io::Result<Vec<serde_json::Value>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}
