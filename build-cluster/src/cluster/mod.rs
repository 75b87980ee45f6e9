//! The temporary cluster the launch steps run against, behind the [`Cluster`] trait:
//! [`EmbeddedCluster`] (the in-process API server; default, needs nothing installed) and
//! [`KubeconfigCluster`] (a real cluster reached through a kubeconfig, e.g. kind or k3s, which
//! also shows what kubelets actually pull).

mod embedded;
mod kubeconfig;
mod listing;
mod observe;

pub use embedded::EmbeddedCluster;
pub use kubeconfig::KubeconfigCluster;
pub use observe::{pulls_from_event, pulls_from_pod};

use crate::error::ClusterError;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a kubelet did with an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PullOutcome {
    /// Pulled (a container status carries its image ID, or a `Pulled` event).
    Pulled,
    /// Already on the node (`already present on machine`).
    Present,
    /// A pull started (`Pulling` event).
    Pulling,
    /// A pull failed (ErrImagePull, ImagePullBackOff, `Failed` events …).
    Failed,
}

/// One image a kubelet pulled or tried to pull.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObservedPull {
    /// The image as the pod asked for it (or as the kubelet reported it).
    pub image: String,
    /// The resolved `repo@sha256:…`, when the kubelet reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    pub namespace: String,
    pub pod: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub outcome: PullOutcome,
    /// `containerStatus` or `event`.
    pub source: String,
}

/// How waiting for the workloads ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettleOutcome {
    /// All new pods reached a final state (running and ready, finished, or stuck on a pull).
    pub settled: bool,
    pub waited: Duration,
    /// `namespace/pod` of pods still in progress when the observe timeout passed.
    pub pending: Vec<String>,
}

/// A cluster the launch steps run against.
pub trait Cluster: Send + Sync {
    /// Identifies the backend in cache keys: `embedded` or `kubeconfig:<path>`.
    fn backend(&self) -> String;

    fn start(&mut self) -> BoxFuture<'_, Result<(), ClusterError>>;

    /// The kubeconfig the steps use (after `start`).
    fn kubeconfig(&self) -> Option<&Path>;

    /// Environment for commands run against the cluster: `KUBECONFIG` plus kubectl's and helm's
    /// cache/config homes inside the cluster's work dir.
    fn env(&self) -> Vec<(String, String)>;

    /// Every object in the cluster that the build created or changed (the recording).
    fn objects(&self) -> BoxFuture<'_, Result<Vec<Value>, ClusterError>>;

    /// Wait until new workloads settle or `timeout` passes.
    fn settle(&self, timeout: Duration) -> BoxFuture<'_, Result<SettleOutcome, ClusterError>>;

    /// Images kubelets pulled or tried to pull since `start` (always empty when embedded).
    fn pulls(&self) -> BoxFuture<'_, Result<Vec<ObservedPull>, ClusterError>>;

    fn stop(&mut self) -> BoxFuture<'_, Result<(), ClusterError>>;
}

/// Makes a fresh cluster for each observe pass.
pub trait ClusterFactory: Send + Sync {
    /// The backend id of the clusters it makes (see [`Cluster::backend`]).
    fn backend(&self) -> String;
    /// A cluster keeping its files (kubeconfig, caches) in `work_dir`.
    fn create(&self, work_dir: &Path) -> Box<dyn Cluster>;
}

/// Fresh embedded clusters.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedFactory {
    pub config: crate::apiserver::ServerConfig,
}

impl ClusterFactory for EmbeddedFactory {
    fn backend(&self) -> String {
        "embedded".into()
    }
    fn create(&self, work_dir: &Path) -> Box<dyn Cluster> {
        Box::new(EmbeddedCluster::with_config(work_dir, self.config.clone()))
    }
}

/// The same real cluster for every pass.
#[derive(Debug, Clone)]
pub struct KubeconfigFactory {
    pub kubeconfig: PathBuf,
}

impl ClusterFactory for KubeconfigFactory {
    fn backend(&self) -> String {
        format!("kubeconfig:{}", self.kubeconfig.display())
    }
    fn create(&self, work_dir: &Path) -> Box<dyn Cluster> {
        Box::new(KubeconfigCluster::new(&self.kubeconfig, work_dir))
    }
}

/// kubectl/helm cache and config homes under `work_dir`, so builds never touch `~/.kube` or
/// `~/.cache/helm` and a stale discovery cache never outlives its cluster.
pub(crate) fn tool_env(kubeconfig: &Path, work_dir: &Path) -> Vec<(String, String)> {
    let p = |sub: &str| work_dir.join(sub).display().to_string();
    vec![
        ("KUBECONFIG".into(), kubeconfig.display().to_string()),
        ("KUBECACHEDIR".into(), p("kube-cache")),
        ("HELM_CACHE_HOME".into(), p("helm/cache")),
        ("HELM_CONFIG_HOME".into(), p("helm/config")),
        ("HELM_DATA_HOME".into(), p("helm/data")),
    ]
}
