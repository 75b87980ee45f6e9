//! Instrumented pieces for the observe benchmark: a cluster factory that keeps each embedded
//! server's request counters when its pass ends, and a command runner that times the clients.

use futures::future::BoxFuture;
use sealer_build_cluster::apiserver::{ServerConfig, ServerStats};
use sealer_build_cluster::cluster::{
    Cluster, ClusterFactory, EmbeddedCluster, ObservedPull, SettleOutcome,
};
use sealer_build_cluster::error::ClusterError;
use sealer_build_cluster::launch::{CommandOutcome, CommandRunner, CommandSpec, OutputFn};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Embedded clusters whose server stats are collected as each pass stops its cluster.
#[derive(Clone, Default)]
pub struct StatsFactory {
    pub collected: Arc<Mutex<Vec<ServerStats>>>,
}

impl StatsFactory {
    pub fn total(&self) -> ServerStats {
        let v = self.collected.lock().map(|v| v.clone()).unwrap_or_default();
        v.iter().fold(ServerStats::default(), |a, s| ServerStats {
            requests: a.requests + s.requests,
            busy: a.busy + s.busy,
        })
    }
}

impl ClusterFactory for StatsFactory {
    fn backend(&self) -> String {
        "embedded".into()
    }
    fn create(&self, work_dir: &Path) -> Box<dyn Cluster> {
        let config = ServerConfig {
            trace: false,
            ..ServerConfig::default()
        };
        Box::new(StatsCluster {
            inner: EmbeddedCluster::with_config(work_dir, config),
            collected: self.collected.clone(),
        })
    }
}

struct StatsCluster {
    inner: EmbeddedCluster,
    collected: Arc<Mutex<Vec<ServerStats>>>,
}

impl Cluster for StatsCluster {
    fn backend(&self) -> String {
        self.inner.backend()
    }
    fn start(&mut self) -> BoxFuture<'_, Result<(), ClusterError>> {
        self.inner.start()
    }
    fn kubeconfig(&self) -> Option<&Path> {
        self.inner.kubeconfig()
    }
    fn env(&self) -> Vec<(String, String)> {
        self.inner.env()
    }
    fn objects(&self) -> BoxFuture<'_, Result<Vec<Value>, ClusterError>> {
        self.inner.objects()
    }
    fn settle(&self, timeout: Duration) -> BoxFuture<'_, Result<SettleOutcome, ClusterError>> {
        self.inner.settle(timeout)
    }
    fn pulls(&self) -> BoxFuture<'_, Result<Vec<ObservedPull>, ClusterError>> {
        self.inner.pulls()
    }
    fn stop(&mut self) -> BoxFuture<'_, Result<(), ClusterError>> {
        if let (Some(server), Ok(mut v)) = (self.inner.server(), self.collected.lock()) {
            v.push(server.stats());
        }
        self.inner.stop()
    }
}

/// Runs commands like the inner runner and adds up their wall time.
pub struct TimingRunner<R> {
    pub inner: R,
    pub spent: Mutex<(u64, Duration)>,
}

impl<R> TimingRunner<R> {
    pub fn new(inner: R) -> Self {
        TimingRunner {
            inner,
            spent: Mutex::new((0, Duration::ZERO)),
        }
    }
    /// Commands run and their summed wall time.
    pub fn spent(&self) -> (u64, Duration) {
        self.spent.lock().map(|g| *g).unwrap_or_default()
    }
}

impl<R: CommandRunner> CommandRunner for TimingRunner<R> {
    fn run<'a>(
        &'a self,
        cmd: &'a CommandSpec,
        output: OutputFn<'a>,
    ) -> BoxFuture<'a, std::io::Result<CommandOutcome>> {
        Box::pin(async move {
            let t = Instant::now();
            let out = self.inner.run(cmd, output).await;
            if let Ok(mut g) = self.spent.lock() {
                g.0 += 1;
                g.1 += t.elapsed();
            }
            out
        })
    }
}

/// CPU time (user + system) of this process and of its waited-for children so far.
pub fn cpu_times() -> (Duration, Duration) {
    let get = |who: libc::c_int| {
        // SAFETY: rusage is plain data, zero-initialised; getrusage only writes into it.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer to a local rusage.
        if unsafe { libc::getrusage(who, &mut u) } != 0 {
            return Duration::ZERO;
        }
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec.max(0) as u64)
                + Duration::from_micros(t.tv_usec.max(0) as u64)
        };
        tv(u.ru_utime) + tv(u.ru_stime)
    };
    (get(libc::RUSAGE_SELF), get(libc::RUSAGE_CHILDREN))
}
