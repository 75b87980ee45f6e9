//! Running phases on hosts: connections, bounded parallelism, progress records, events.

pub(crate) mod check;
pub(crate) mod clean;
pub(crate) mod install;
pub(crate) mod kube;
pub(crate) mod launch;
pub(crate) mod registry;
pub(crate) mod scripts;

use crate::clusterfile::ResolvedHost;
use crate::error::{HostFailure, RuntimeError};
use crate::options::RuntimeOptions;
use crate::plan::Phase;
use crate::report::{Event, Reporter};
use crate::ssh::{Host, HostConnector, HostSpec, SshError};
use crate::state::{Progress, StateStore};
use futures::StreamExt;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// One connection per host for the duration of a command.
pub(crate) struct Connections {
    connector: Arc<dyn HostConnector>,
    open: tokio::sync::Mutex<HashMap<IpAddr, Arc<dyn Host>>>,
}

impl Connections {
    pub fn new(connector: Arc<dyn HostConnector>) -> Self {
        Connections {
            connector,
            open: tokio::sync::Mutex::new(HashMap::new()),
        }
    }
    pub async fn get(&self, spec: &HostSpec) -> Result<Arc<dyn Host>, SshError> {
        if let Some(h) = self.open.lock().await.get(&spec.ip) {
            return Ok(h.clone());
        }
        let h = self.connector.connect(spec).await?;
        self.open.lock().await.insert(spec.ip, h.clone());
        Ok(h)
    }
    /// Bytes sent to each connected host so far.
    pub async fn bytes_sent(&self) -> u64 {
        self.open
            .lock()
            .await
            .values()
            .map(|h| h.bytes_sent())
            .sum()
    }
}

/// Shared machinery of one command.
pub(crate) struct Engine<'a> {
    pub opts: &'a RuntimeOptions,
    pub reporter: &'a dyn Reporter,
    pub state: &'a StateStore,
    pub conns: Connections,
    pub cluster: String,
    pub progress: Mutex<Progress>,
}

/// The work of one phase on one host; returns a short detail for the progress line.
pub(crate) type HostJob<'s> = Box<
    dyn Fn(ResolvedHost, Arc<dyn Host>) -> BoxFuture<'s, Result<String, SshError>>
        + Send
        + Sync
        + 's,
>;

/// The work of one phase on a batch of connected hosts; one result per host, in order.
pub(crate) type BatchJob<'s> = Box<
    dyn Fn(Vec<(ResolvedHost, Arc<dyn Host>)>) -> BoxFuture<'s, Vec<Result<String, SshError>>>
        + Send
        + Sync
        + 's,
>;

impl<'a> Engine<'a> {
    pub fn done(&self, ip: IpAddr, key: &str) -> bool {
        self.progress
            .lock()
            .map(|p| p.host_done(&ip.to_string(), key))
            .unwrap_or(false)
    }

    pub fn cluster_done(&self, key: &str) -> bool {
        self.progress
            .lock()
            .map(|p| p.cluster_done(key))
            .unwrap_or(false)
    }

    fn save(&self) -> Result<(), RuntimeError> {
        let snapshot = self
            .progress
            .lock()
            .map(|p| p.clone())
            .map_err(|_| RuntimeError::Invalid("progress lock poisoned".into()))?;
        self.state.save_progress(&self.cluster, &snapshot)
    }

    pub fn mark(&self, ip: IpAddr, key: &str) -> Result<(), RuntimeError> {
        if let Ok(mut p) = self.progress.lock() {
            p.mark_host(&ip.to_string(), key);
        }
        self.save()
    }

    pub fn mark_cluster(&self, key: &str) -> Result<(), RuntimeError> {
        if let Ok(mut p) = self.progress.lock() {
            p.cluster.insert(key.to_string());
        }
        self.save()
    }

    pub fn forget_hosts(&self, ips: &[IpAddr]) -> Result<(), RuntimeError> {
        if let Ok(mut p) = self.progress.lock() {
            for ip in ips {
                p.hosts.remove(&ip.to_string());
            }
        }
        self.save()
    }

    pub fn event(&self, e: Event) {
        self.reporter.event(&e);
    }

    /// Record one host's outcome of `phase`: mark `key` and report success, or turn the
    /// error into a failure naming host and phase.
    fn settle(
        &self,
        phase: Phase,
        key: Option<&str>,
        h: &ResolvedHost,
        res: Result<String, SshError>,
        connect: bool,
    ) -> Option<HostFailure> {
        let name = h.spec.display_name();
        match res {
            Ok(detail) => {
                let saved = match key {
                    Some(k) => self.mark(h.ip, k),
                    None => Ok(()),
                };
                if let Err(e) = saved {
                    return Some(HostFailure {
                        host: name,
                        phase,
                        message: e.to_string(),
                        connect: false,
                    });
                }
                self.event(Event::Finished {
                    host: name,
                    phase,
                    detail,
                });
                None
            }
            Err(e) => {
                let connect = connect || e.is_connect_failure();
                let message = e.to_string();
                self.event(Event::Failed {
                    host: name.clone(),
                    phase,
                    message: message.clone(),
                });
                Some(HostFailure {
                    host: name,
                    phase,
                    message,
                    connect,
                })
            }
        }
    }

    fn pending(&self, key: Option<&str>, hosts: Vec<ResolvedHost>) -> Vec<ResolvedHost> {
        hosts
            .into_iter()
            .filter(|h| key.is_none_or(|k| !self.done(h.ip, k)))
            .collect()
    }

    fn conclude(mut failures: Vec<HostFailure>) -> Result<(), RuntimeError> {
        failures.sort_by(|a, b| a.host.cmp(&b.host));
        if failures.is_empty() {
            Ok(())
        } else {
            Err(RuntimeError::Hosts(failures))
        }
    }

    /// Run `job` for `phase` on `hosts` in parallel (bounded). A host whose step `key` is
    /// recorded is skipped; a success is recorded under `key` right away. Any failure fails
    /// the phase after every host has finished.
    pub async fn run_on<'s>(
        &'s self,
        phase: Phase,
        key: Option<&'s str>,
        hosts: Vec<ResolvedHost>,
        job: HostJob<'s>,
    ) -> Result<(), RuntimeError> {
        let hosts = self.pending(key, hosts);
        let limit = self.opts.parallelism.max(1);
        let job = &job;
        let results: Vec<Option<HostFailure>> = futures::stream::iter(hosts)
            .map(|h| async move {
                self.event(Event::Started {
                    host: h.spec.display_name(),
                    phase,
                });
                let (res, connect) = match self.conns.get(&h.spec).await {
                    Err(e) => (Err(e), true),
                    Ok(conn) => (job(h.clone(), conn).await, false),
                };
                self.settle(phase, key, &h, res, connect)
            })
            .buffer_unordered(limit)
            .collect()
            .await;
        Self::conclude(results.into_iter().flatten().collect())
    }

    /// Like [`Engine::run_on`], but `job` gets a whole batch of connected hosts at once (up to
    /// the parallelism limit), so work can be shared between them (one read of the rootfs
    /// streamed to every host). It returns one result per host, in order.
    pub async fn run_batch<'s>(
        &'s self,
        phase: Phase,
        key: Option<&'s str>,
        hosts: Vec<ResolvedHost>,
        job: BatchJob<'s>,
    ) -> Result<(), RuntimeError> {
        let hosts = self.pending(key, hosts);
        let mut failures = Vec::new();
        for batch in hosts.chunks(self.opts.parallelism.max(1)) {
            for h in batch {
                self.event(Event::Started {
                    host: h.spec.display_name(),
                    phase,
                });
            }
            let conns =
                futures::future::join_all(batch.iter().map(|h| self.conns.get(&h.spec))).await;
            let mut connected = Vec::new();
            for (h, c) in batch.iter().zip(conns) {
                match c {
                    Ok(c) => connected.push((h.clone(), c)),
                    Err(e) => failures.extend(self.settle(phase, key, h, Err(e), true)),
                }
            }
            let hs: Vec<ResolvedHost> = connected.iter().map(|(h, _)| h.clone()).collect();
            let mut results = job(connected).await.into_iter();
            for h in &hs {
                let res = results.next().unwrap_or_else(|| {
                    Err(SshError::Other {
                        host: h.spec.display_name(),
                        message: "no result for this host".into(),
                    })
                });
                failures.extend(self.settle(phase, key, h, res, false));
            }
        }
        Self::conclude(failures)
    }
}
