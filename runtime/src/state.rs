//! Local state: the applied Clusterfile and per-host phase progress, one directory per cluster.

use crate::clusterfile::Clusterfile;
use crate::error::RuntimeError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Finished steps of an install, so a rerun skips them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Identity of the install the records belong to (image id + Clusterfile minus hosts).
    pub fingerprint: String,
    /// Host IP → finished step keys (`distribute`, `app:<id>:distribute`, ...).
    pub hosts: BTreeMap<String, BTreeSet<String>>,
    /// Cluster-wide finished steps (`launch:0`, ...).
    pub cluster: BTreeSet<String>,
}

impl Progress {
    pub fn host_done(&self, ip: &str, step: &str) -> bool {
        self.hosts.get(ip).is_some_and(|s| s.contains(step))
    }
    pub fn mark_host(&mut self, ip: &str, step: &str) {
        self.hosts
            .entry(ip.to_string())
            .or_default()
            .insert(step.to_string());
    }
    pub fn cluster_done(&self, step: &str) -> bool {
        self.cluster.contains(step)
    }
}

/// App images installed onto a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRecord {
    pub image: String,
    pub id: String,
}

/// `<dir>/<cluster>/{Clusterfile,progress.json,apps.json}`.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StateStore { dir: dir.into() }
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn cluster_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Names of clusters with an applied Clusterfile.
    pub fn clusters(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("Clusterfile").is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        out.sort();
        out
    }

    pub fn load_applied(&self, name: &str) -> Result<Option<Clusterfile>, RuntimeError> {
        let path = self.cluster_dir(name).join("Clusterfile");
        match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(state_err(&path, e)),
            Ok(text) => Clusterfile::parse(&text)
                .map(Some)
                .map_err(|e| RuntimeError::State {
                    path,
                    message: e.to_string(),
                }),
        }
    }

    pub fn save_applied(&self, cf: &Clusterfile) -> Result<(), RuntimeError> {
        let path = self.cluster_dir(cf.name()).join("Clusterfile");
        write_atomic(&path, cf.to_yaml()?.as_bytes())
    }

    pub fn load_progress(&self, name: &str) -> Result<Progress, RuntimeError> {
        self.load_json(&self.cluster_dir(name).join("progress.json"))
    }

    pub fn save_progress(&self, name: &str, p: &Progress) -> Result<(), RuntimeError> {
        self.save_json(&self.cluster_dir(name).join("progress.json"), p)
    }

    pub fn load_apps(&self, name: &str) -> Result<Vec<AppRecord>, RuntimeError> {
        self.load_json(&self.cluster_dir(name).join("apps.json"))
    }

    pub fn save_apps(&self, name: &str, apps: &[AppRecord]) -> Result<(), RuntimeError> {
        self.save_json(&self.cluster_dir(name).join("apps.json"), &apps)
    }

    /// Forget a cluster entirely.
    pub fn remove(&self, name: &str) -> Result<(), RuntimeError> {
        let d = self.cluster_dir(name);
        match std::fs::remove_dir_all(&d) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(state_err(&d, e)),
            _ => Ok(()),
        }
    }

    fn load_json<T: serde::de::DeserializeOwned + Default>(
        &self,
        path: &Path,
    ) -> Result<T, RuntimeError> {
        match std::fs::read(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
            Err(e) => Err(state_err(path, e)),
            Ok(b) => serde_json::from_slice(&b).map_err(|e| RuntimeError::State {
                path: path.to_path_buf(),
                message: format!("{e} (delete the file to start over)"),
            }),
        }
    }

    fn save_json<T: Serialize + ?Sized>(&self, path: &Path, v: &T) -> Result<(), RuntimeError> {
        let bytes = serde_json::to_vec_pretty(v).map_err(|e| RuntimeError::State {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        write_atomic(path, &bytes)
    }
}

fn state_err(path: &Path, e: std::io::Error) -> RuntimeError {
    RuntimeError::State {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RuntimeError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| state_err(dir, e))?;
    let tmp = path.with_extension("tmp");
    // The Clusterfile may hold SSH passwords: owner-only.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| state_err(&tmp, e))?;
    f.write_all(bytes).map_err(|e| state_err(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| state_err(path, e))
}
