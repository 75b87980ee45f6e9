//! [`Cluster`] backed by a real cluster reached through a kubeconfig (kind, k3s …), via the kube
//! crate. While the steps run and afterwards it watches Pods and Events and records every image a
//! kubelet pulled or tried to pull; `settle` waits until the new workloads settle.

use super::listing::{api_err, list_all, pod_settled, resource, uid, watch_pulls};
use super::observe::pulls_from_pod;
use super::{Cluster, ObservedPull, SettleOutcome, tool_env};
use crate::error::ClusterError;
use futures::future::BoxFuture;
use kube::api::{Api, DynamicObject, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

struct Running {
    client: Client,
    server: String,
    /// uid → generation of every object present before the build touched the cluster.
    baseline: Arc<HashMap<String, i64>>,
    pulls: Arc<Mutex<BTreeSet<ObservedPull>>>,
    tasks: Vec<JoinHandle<()>>,
}

/// A real cluster; the same one is reused by every pass.
pub struct KubeconfigCluster {
    kubeconfig: PathBuf,
    work_dir: PathBuf,
    quiet: Duration,
    poll: Duration,
    running: Option<Running>,
}

impl KubeconfigCluster {
    pub fn new(kubeconfig: &Path, work_dir: &Path) -> KubeconfigCluster {
        KubeconfigCluster {
            kubeconfig: kubeconfig.to_path_buf(),
            work_dir: work_dir.to_path_buf(),
            quiet: Duration::from_secs(2),
            poll: Duration::from_millis(500),
            running: None,
        }
    }

    /// How long the pod set must stay unchanged before `settle` calls it settled (default 2 s).
    pub fn with_quiet_period(mut self, quiet: Duration) -> KubeconfigCluster {
        self.quiet = quiet;
        self.poll = quiet.min(self.poll);
        self
    }

    fn running(&self) -> Result<&Running, ClusterError> {
        self.running.as_ref().ok_or(ClusterError::NotStarted)
    }

    async fn connect(&self) -> Result<(Client, String), ClusterError> {
        let err = |message: String| ClusterError::Kubeconfig {
            path: self.kubeconfig.clone(),
            message,
        };
        let kc = Kubeconfig::read_from(&self.kubeconfig).map_err(|e| err(e.to_string()))?;
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|e| err(e.to_string()))?;
        let server = config.cluster_url.to_string();
        // kube's TLS uses the process-wide provider: make it ring (the workspace's only one).
        // An error means one is installed already, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::try_from(config).map_err(|e| err(e.to_string()))?;
        Ok((client, server))
    }
}

impl Cluster for KubeconfigCluster {
    fn backend(&self) -> String {
        format!("kubeconfig:{}", self.kubeconfig.display())
    }

    fn start(&mut self) -> BoxFuture<'_, Result<(), ClusterError>> {
        Box::pin(async move {
            std::fs::create_dir_all(&self.work_dir).map_err(|source| ClusterError::Io {
                path: self.work_dir.clone(),
                source,
            })?;
            let (client, server) = self.connect().await?;
            let baseline: HashMap<String, i64> = list_all(&client, &server)
                .await?
                .iter()
                .map(|o| {
                    (
                        uid(o),
                        o.pointer("/metadata/generation")
                            .and_then(Value::as_i64)
                            .unwrap_or(0),
                    )
                })
                .collect();
            let baseline = Arc::new(baseline);
            let pulls = Arc::new(Mutex::new(BTreeSet::new()));
            let mut tasks = Vec::new();
            for (events, ar) in [
                (false, resource("", "v1", "Pod", "pods")),
                (true, resource("", "v1", "Event", "events")),
            ] {
                let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
                let rv = api
                    .list(&ListParams::default().limit(1))
                    .await
                    .map_err(|e| api_err(&server, "listing pods and events", e))?
                    .metadata
                    .resource_version
                    .unwrap_or_default();
                tasks.push(tokio::spawn(watch_pulls(
                    api,
                    rv,
                    events,
                    baseline.clone(),
                    pulls.clone(),
                )));
            }
            self.running = Some(Running {
                client,
                server,
                baseline,
                pulls,
                tasks,
            });
            Ok(())
        })
    }

    fn kubeconfig(&self) -> Option<&Path> {
        Some(&self.kubeconfig)
    }

    fn env(&self) -> Vec<(String, String)> {
        tool_env(&self.kubeconfig, &self.work_dir)
    }

    fn objects(&self) -> BoxFuture<'_, Result<Vec<Value>, ClusterError>> {
        Box::pin(async move {
            let r = self.running()?;
            let all = list_all(&r.client, &r.server).await?;
            Ok(all
                .into_iter()
                .filter(|o| match r.baseline.get(&uid(o)) {
                    None => true,
                    Some(generation) => {
                        o.pointer("/metadata/generation")
                            .and_then(Value::as_i64)
                            .unwrap_or(0)
                            > *generation
                    }
                })
                .collect())
        })
    }

    fn settle(&self, timeout: Duration) -> BoxFuture<'_, Result<SettleOutcome, ClusterError>> {
        Box::pin(async move {
            let r = self.running()?;
            let pods: Api<DynamicObject> =
                Api::all_with(r.client.clone(), &resource("", "v1", "Pod", "pods"));
            let start = Instant::now();
            let mut last_change = Instant::now();
            let mut last_sig = String::new();
            loop {
                let list = pods
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| api_err(&r.server, "listing pods", e))?;
                let new: Vec<Value> = list
                    .items
                    .iter()
                    .filter_map(|p| serde_json::to_value(p).ok())
                    .filter(|p| !r.baseline.contains_key(&uid(p)))
                    .collect();
                let sig: String = new
                    .iter()
                    .map(|p| format!("{}@{} ", uid(p), p["metadata"]["resourceVersion"]))
                    .collect();
                if sig != last_sig {
                    last_sig = sig;
                    last_change = Instant::now();
                }
                let pending: Vec<String> = new
                    .iter()
                    .filter(|p| !pod_settled(p))
                    .map(|p| {
                        format!(
                            "{}/{}",
                            p["metadata"]["namespace"].as_str().unwrap_or_default(),
                            p["metadata"]["name"].as_str().unwrap_or_default()
                        )
                    })
                    .collect();
                if pending.is_empty() && last_change.elapsed() >= self.quiet {
                    return Ok(SettleOutcome {
                        settled: true,
                        waited: start.elapsed(),
                        pending,
                    });
                }
                if start.elapsed() >= timeout {
                    return Ok(SettleOutcome {
                        settled: false,
                        waited: start.elapsed(),
                        pending,
                    });
                }
                tokio::time::sleep(self.poll).await;
            }
        })
    }

    fn pulls(&self) -> BoxFuture<'_, Result<Vec<ObservedPull>, ClusterError>> {
        Box::pin(async move {
            let r = self.running()?;
            // Container statuses are re-read once more so nothing that settled late is missed.
            let pods: Api<DynamicObject> =
                Api::all_with(r.client.clone(), &resource("", "v1", "Pod", "pods"));
            let mut set = r.pulls.lock().map(|s| s.clone()).unwrap_or_default();
            if let Ok(list) = pods.list(&ListParams::default()).await {
                for p in list
                    .items
                    .iter()
                    .filter_map(|p| serde_json::to_value(p).ok())
                {
                    if !r.baseline.contains_key(&uid(&p)) {
                        set.extend(pulls_from_pod(&p));
                    }
                }
            }
            Ok(set.into_iter().collect())
        })
    }

    fn stop(&mut self) -> BoxFuture<'_, Result<(), ClusterError>> {
        Box::pin(async move {
            if let Some(r) = self.running.take() {
                for t in r.tasks {
                    t.abort();
                }
            }
            Ok(())
        })
    }
}

impl Drop for KubeconfigCluster {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            for t in r.tasks {
                t.abort();
            }
        }
    }
}
