//! The public runtime API: apply / join / delete / exec / app install, each planning first.

mod app;
mod apply;
mod delete;

use crate::clusterfile::Clusterfile;
use crate::engine::{Connections, Engine};
use crate::error::{HostFailure, RuntimeError};
use crate::image::ImageProvider;
use crate::layout::Layout;
use crate::options::RuntimeOptions;
use crate::plan::{Phase, Plan};
use crate::report::Reporter;
use crate::ssh::{ExecRequest, HostConnector, upload_bytes};
use crate::state::{Progress, StateStore};
use std::sync::{Arc, Mutex};

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The plan that was reported before acting.
    pub plan: Plan,
    /// False for a dry run or an empty plan.
    pub executed: bool,
    /// Bytes sent to hosts as command input (rootfs streams, uploads).
    pub bytes_sent: u64,
}

/// Installs and maintains clusters. One value serves many commands.
pub struct Runtime {
    connector: Arc<dyn HostConnector>,
    images: Arc<dyn ImageProvider>,
    state: StateStore,
    opts: RuntimeOptions,
    reporter: Arc<dyn Reporter>,
}

impl Runtime {
    pub fn new(
        connector: Arc<dyn HostConnector>,
        images: Arc<dyn ImageProvider>,
        state: StateStore,
        opts: RuntimeOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Self {
        Runtime {
            connector,
            images,
            state,
            opts,
            reporter,
        }
    }

    pub fn state(&self) -> &StateStore {
        &self.state
    }

    /// The named cluster, or the only one in the state dir.
    pub fn cluster_name(&self, name: Option<&str>) -> Result<String, RuntimeError> {
        if let Some(n) = name {
            return Ok(n.to_string());
        }
        let all = self.state.clusters();
        match all.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(RuntimeError::Invalid(format!(
                "no cluster is installed from this machine (state dir {})",
                self.state.dir().display()
            ))),
            many => Err(RuntimeError::Invalid(format!(
                "several clusters are installed ({}): name one",
                many.join(", ")
            ))),
        }
    }

    /// The applied Clusterfile of a cluster.
    pub fn applied(&self, name: Option<&str>) -> Result<Clusterfile, RuntimeError> {
        let name = self.cluster_name(name)?;
        self.state
            .load_applied(&name)?
            .ok_or_else(|| RuntimeError::NotInstalled {
                dir: self.state.cluster_dir(&name),
                name,
            })
    }

    fn engine(&self, cluster: &str, progress: Progress) -> Engine<'_> {
        Engine {
            opts: &self.opts,
            reporter: &*self.reporter,
            state: &self.state,
            conns: Connections::new(self.connector.clone()),
            cluster: cluster.to_string(),
            progress: Mutex::new(progress),
        }
    }

    /// Keep the applied Clusterfile locally and on master0 (`<dataRoot>/<cluster>/Clusterfile`).
    async fn save_applied(&self, eng: &Engine<'_>, cf: &Clusterfile) -> Result<(), RuntimeError> {
        self.state.save_applied(cf)?;
        let hosts = crate::clusterfile::resolve_hosts(&cf.cluster)?;
        let Some(m0) = crate::clusterfile::master0(&hosts) else {
            return Ok(());
        };
        let fail = |message: String| {
            RuntimeError::Hosts(vec![HostFailure {
                host: m0.spec.display_name(),
                phase: Phase::Launch,
                message: format!("saving the applied Clusterfile: {message}"),
                connect: false,
            }])
        };
        let conn = eng
            .conns
            .get(&m0.spec)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let layout = Layout::new(cf.data_root(), cf.name());
        let path = layout.clusterfile(&*conn);
        let mk = format!(
            "{}sealer_mkdir \"$(dirname {})\"",
            layout.prelude(&*conn),
            crate::ssh::ShellQuote::sq(path.as_str())
        );
        crate::ssh::run_checked(&*conn, ExecRequest::new(mk), "create the state dir")
            .await
            .map_err(|e| fail(e.to_string()))?;
        upload_bytes(&*conn, &path, cf.to_yaml()?.into_bytes(), 0o600)
            .await
            .map_err(|e| fail(e.to_string()))
    }
}
