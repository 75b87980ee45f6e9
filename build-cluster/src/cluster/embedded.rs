//! [`Cluster`] backed by the in-process API server.

use super::{Cluster, ObservedPull, SettleOutcome, tool_env};
use crate::apiserver::{ApiServer, ServerConfig};
use crate::error::ClusterError;
use futures::future::BoxFuture;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fresh embedded API server with its kubeconfig in a work dir.
pub struct EmbeddedCluster {
    work_dir: PathBuf,
    kubeconfig: PathBuf,
    config: ServerConfig,
    server: Option<ApiServer>,
}

impl EmbeddedCluster {
    pub fn new(work_dir: &Path) -> EmbeddedCluster {
        EmbeddedCluster::with_config(work_dir, ServerConfig::default())
    }

    pub fn with_config(work_dir: &Path, config: ServerConfig) -> EmbeddedCluster {
        EmbeddedCluster {
            work_dir: work_dir.to_path_buf(),
            kubeconfig: work_dir.join("kubeconfig"),
            config,
            server: None,
        }
    }

    /// The running server (after `start`).
    pub fn server(&self) -> Option<&ApiServer> {
        self.server.as_ref()
    }
}

impl Cluster for EmbeddedCluster {
    fn backend(&self) -> String {
        "embedded".into()
    }

    fn start(&mut self) -> BoxFuture<'_, Result<(), ClusterError>> {
        Box::pin(async move {
            std::fs::create_dir_all(&self.work_dir).map_err(|source| ClusterError::Io {
                path: self.work_dir.clone(),
                source,
            })?;
            let server = ApiServer::start(self.config.clone())
                .await
                .map_err(ClusterError::Start)?;
            server
                .write_kubeconfig(&self.kubeconfig)
                .map_err(|source| ClusterError::Io {
                    path: self.kubeconfig.clone(),
                    source,
                })?;
            self.server = Some(server);
            Ok(())
        })
    }

    fn kubeconfig(&self) -> Option<&Path> {
        self.server.as_ref().map(|_| self.kubeconfig.as_path())
    }

    fn env(&self) -> Vec<(String, String)> {
        tool_env(&self.kubeconfig, &self.work_dir)
    }

    fn objects(&self) -> BoxFuture<'_, Result<Vec<Value>, ClusterError>> {
        Box::pin(async move {
            self.server
                .as_ref()
                .map(ApiServer::snapshot)
                .ok_or(ClusterError::NotStarted)
        })
    }

    fn settle(&self, _timeout: Duration) -> BoxFuture<'_, Result<SettleOutcome, ClusterError>> {
        // Every workload is marked ready the moment it is stored.
        Box::pin(async {
            Ok(SettleOutcome {
                settled: true,
                waited: Duration::ZERO,
                pending: Vec::new(),
            })
        })
    }

    fn pulls(&self) -> BoxFuture<'_, Result<Vec<ObservedPull>, ClusterError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn stop(&mut self) -> BoxFuture<'_, Result<(), ClusterError>> {
        Box::pin(async move {
            if let Some(server) = self.server.take() {
                server.stop().await;
            }
            Ok(())
        })
    }
}
