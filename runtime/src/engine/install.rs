//! Installing a cluster image on hosts: the phase sequence, its plan, and shared context.

use super::Engine;
use super::launch::{LaunchCmd, launch_plan};
use crate::clusterfile::{Clusterfile, PluginSpec, ResolvedHost, master0, merge_env, parse_env};
use crate::error::RuntimeError;
use crate::image::ImageInfo;
use crate::layout::Layout;
use crate::plan::{HostPlan, Phase, StepState};
use crate::rootfs::{Manifest, Overlay};
use crate::ssh::Host;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

/// A first install, or hosts added to a running cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Fresh,
    ScaleUp,
}

/// Everything the install phases share.
pub(crate) struct Install<'a> {
    pub eng: &'a Engine<'a>,
    pub cf: &'a Clusterfile,
    /// Every host of the desired cluster.
    pub hosts: Vec<ResolvedHost>,
    pub image: &'a ImageInfo,
    pub manifest: Arc<Manifest>,
    pub overlays: HashMap<IpAddr, Overlay>,
    pub layout: Layout,
    pub plugins: Vec<PluginSpec>,
    pub mode: Mode,
    pub launch: Vec<LaunchCmd>,
}

impl<'a> Install<'a> {
    /// Prepare an install: everything that can fail locally fails here, before any host changes.
    pub fn new(
        eng: &'a Engine<'a>,
        cf: &'a Clusterfile,
        image: &'a ImageInfo,
        manifest: Arc<Manifest>,
        targets: &[ResolvedHost],
        mode: Mode,
    ) -> Result<Install<'a>, RuntimeError> {
        let hosts = crate::clusterfile::resolve_hosts(&cf.cluster)?;
        let layout = Layout::new(cf.data_root(), cf.name());
        let mut plugins = super::scripts::rootfs_plugins(&image.rootfs)?;
        plugins.extend(cf.plugins.iter().map(|p| p.spec.clone()));
        let app = cf.application.as_ref().map(|a| &a.spec);
        let cmds = if cf.cluster.spec.cmd.is_empty() {
            app.map(|a| a.cmds.clone()).unwrap_or_default()
        } else {
            cf.cluster.spec.cmd.clone()
        };
        let apps = if cf.cluster.spec.app_names.is_empty() {
            app.map(|a| a.launch_apps.clone()).unwrap_or_default()
        } else {
            cf.cluster.spec.app_names.clone()
        };
        let configs = app.map(|a| a.configs.clone()).unwrap_or_default();
        let launch = launch_plan(&image.extension, &cmds, &apps, &configs)
            .map_err(|e| RuntimeError::Invalid(format!("image {}: {e}", image.name)))?;
        let mut inst = Install {
            eng,
            cf,
            hosts,
            image,
            manifest,
            overlays: HashMap::new(),
            layout,
            plugins,
            mode,
            launch,
        };
        for h in targets {
            let env = inst.host_env(h)?;
            let ov = Overlay::build(&inst.manifest, &cf.configs, &configs, &env)
                .map_err(|e| RuntimeError::Invalid(format!("host {}: {e}", h.ip)))?;
            inst.overlays.insert(h.ip, ov);
        }
        Ok(inst)
    }

    pub fn master0(&self) -> &ResolvedHost {
        // `Clusterfile::validate` guarantees a master.
        master0(&self.hosts).unwrap_or(&self.hosts[0])
    }

    pub fn is_registry_host(&self, h: &ResolvedHost) -> bool {
        super::registry::registry_hosts(self.cf, &self.hosts)
            .iter()
            .any(|r| r.ip == h.ip)
    }

    /// Whether the (effective) rootfs has a file.
    pub fn has(&self, rel: &str) -> bool {
        self.manifest.get(rel).is_some()
    }

    /// Env for scripts on `h`: image env < Clusterfile env < host env, plus sealer's own keys.
    pub fn host_env(&self, h: &ResolvedHost) -> Result<BTreeMap<String, String>, RuntimeError> {
        host_env(self.cf, &self.image.extension.env, self.master0().ip, h)
    }

    fn launch_key(i: usize) -> String {
        format!("launch:{i}")
    }

    /// Plan rows for `targets`, marking recorded steps as done.
    pub fn plan(&self, targets: &[ResolvedHost]) -> (Vec<HostPlan>, Vec<(String, StepState)>) {
        let mut rows = Vec::new();
        let launch_cmds: &[LaunchCmd] = match self.mode {
            Mode::Fresh => &self.launch,
            Mode::ScaleUp => &[],
        };
        let launch: Vec<(String, StepState)> = launch_cmds
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let s = if self.eng.cluster_done(&Self::launch_key(i)) {
                    StepState::Done
                } else {
                    StepState::Run
                };
                (format!("launch `{}`", c.label), s)
            })
            .collect();
        let launch_pending = launch.iter().any(|(_, s)| *s == StepState::Run);
        let mut kube_join_pending = false;
        for h in targets {
            let mut steps = Vec::new();
            for p in Phase::INSTALL {
                let s = if self.eng.done(h.ip, p.name()) {
                    StepState::Done
                } else {
                    if p == Phase::Kube && h.ip != self.master0().ip {
                        kube_join_pending = true;
                    }
                    StepState::Run
                };
                steps.push((p, s));
            }
            let any = steps.iter().any(|(_, s)| *s == StepState::Run);
            if any {
                steps.insert(0, (Phase::Check, StepState::Run));
            }
            rows.push(HostPlan {
                ip: h.ip,
                roles: h.roles.clone(),
                steps,
            });
        }
        let m0 = self.master0();
        let needs_m0 = launch_pending || (kube_join_pending && self.has("bin/kubeadm"));
        match rows.iter_mut().find(|r| r.ip == m0.ip) {
            Some(r) if needs_m0 && r.steps.first().map(|s| s.0) != Some(Phase::Check) => {
                r.steps.insert(0, (Phase::Check, StepState::Run))
            }
            None if needs_m0 => rows.insert(
                0,
                HostPlan {
                    ip: m0.ip,
                    roles: m0.roles.clone(),
                    steps: vec![(Phase::Check, StepState::Run)],
                },
            ),
            _ => {}
        }
        (rows, launch)
    }

    /// Run every pending phase on `targets`, then the launch commands on master0.
    pub async fn run(&self, targets: &[ResolvedHost]) -> Result<(), RuntimeError> {
        let (rows, launch) = self.plan(targets);
        let host = |ip: IpAddr| self.hosts.iter().find(|h| h.ip == ip).cloned();
        let runs = |p: Phase| -> Vec<ResolvedHost> {
            rows.iter()
                .filter(|r| r.steps.contains(&(p, StepState::Run)))
                .filter_map(|r| host(r.ip))
                .collect()
        };
        let check = runs(Phase::Check);
        if !check.is_empty() {
            self.eng
                .run_on(
                    Phase::Check,
                    None,
                    check,
                    Box::new(|h, c| {
                        Box::pin(async move {
                            super::check::check_host(self.eng.opts, &self.image.platform, &h, &*c)
                                .await
                        })
                    }),
                )
                .await?;
        }
        for phase in Phase::INSTALL {
            let mut hosts = runs(phase);
            if phase == Phase::Kube && self.mode == Mode::Fresh {
                let m0 = self.master0().ip;
                if let Some(pos) = hosts.iter().position(|h| h.ip == m0) {
                    let first = vec![hosts.remove(pos)];
                    self.run_phase(phase, first).await?;
                }
            }
            self.run_phase(phase, hosts).await?;
        }
        if launch.iter().any(|(_, s)| *s == StepState::Run) {
            let m0 = self.master0().clone();
            let conn = self.eng.conns.get(&m0.spec).await.map_err(|e| {
                RuntimeError::Hosts(vec![crate::error::HostFailure {
                    host: m0.spec.display_name(),
                    phase: Phase::Launch,
                    message: e.to_string(),
                    connect: true,
                }])
            })?;
            let rootfs = self.layout.rootfs(&*conn);
            let env = self.host_env(&m0)?;
            for (i, cmd) in self.launch.iter().enumerate() {
                let key = Self::launch_key(i);
                if self.eng.cluster_done(&key) {
                    continue;
                }
                super::scripts::run_launch_cmd(self.eng, &m0, &*conn, &rootfs, &env, cmd).await?;
                self.eng.mark_cluster(&key)?;
            }
        }
        Ok(())
    }

    async fn run_phase(&self, phase: Phase, hosts: Vec<ResolvedHost>) -> Result<(), RuntimeError> {
        if hosts.is_empty() {
            return Ok(());
        }
        if phase == Phase::Distribute {
            return self
                .eng
                .run_batch(
                    phase,
                    Some(phase.name()),
                    hosts,
                    Box::new(move |batch| Box::pin(self.distribute_hosts(batch))),
                )
                .await;
        }
        self.eng
            .run_on(
                phase,
                Some(phase.name()),
                hosts,
                Box::new(move |h, c| {
                    Box::pin(async move { self.host_phase(phase, &h, &*c).await })
                }),
            )
            .await
    }

    async fn host_phase(
        &self,
        phase: Phase,
        h: &ResolvedHost,
        c: &dyn Host,
    ) -> Result<String, crate::ssh::SshError> {
        match phase {
            Phase::Registry => self.registry_host(h, c).await,
            Phase::Init => self.init_host(h, c).await,
            Phase::Kube => self.kube_host(h, c).await,
            Phase::Hooks => self.hooks_host(h, c).await,
            _ => Ok(String::new()),
        }
    }

    /// Distribute the rootfs to a batch of hosts: one read of the source tree, streamed to
    /// every host that lacks the same entries; each host gets its own rendered overlay.
    async fn distribute_hosts(
        &self,
        batch: Vec<(ResolvedHost, Arc<dyn Host>)>,
    ) -> Vec<Result<String, crate::ssh::SshError>> {
        use crate::rootfs::{Target, distribute_all};
        use crate::ssh::{ExecRequest, ShellQuote, run_checked};
        let mkdirs = batch.iter().map(|(_, c)| async move {
            let rootfs = self.layout.rootfs(&**c);
            let mk = format!("{}sealer_mkdir {}", self.layout.prelude(&**c), rootfs.sq());
            run_checked(&**c, ExecRequest::new(mk), "create the rootfs directory").await
        });
        let made = futures::future::join_all(mkdirs).await;
        let mut results: Vec<Option<Result<String, crate::ssh::SshError>>> = Vec::new();
        let mut targets = Vec::new();
        let mut slots = Vec::new();
        for (i, ((h, c), mk)) in batch.iter().zip(made).enumerate() {
            match mk {
                Err(e) => results.push(Some(Err(e))),
                Ok(_) => {
                    results.push(None);
                    slots.push(i);
                    targets.push(Target {
                        host: c.clone(),
                        dest: self.layout.rootfs(&**c),
                        overlay: self.overlays.get(&h.ip).cloned().unwrap_or_default(),
                    });
                }
            }
        }
        let sent = distribute_all(&targets, &self.manifest, self.eng.opts.command_timeout).await;
        for (slot, r) in slots.into_iter().zip(sent) {
            results[slot] = Some(r.map(|st| {
                format!(
                    "{} of {} files sent, {} bytes",
                    st.files_sent, st.files, st.bytes_sent
                )
            }));
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Ok(String::new())))
            .collect()
    }
}

/// Env for scripts on `h`: image env < Clusterfile env < host env, plus sealer's own keys.
pub(crate) fn host_env(
    cf: &Clusterfile,
    image_env: &BTreeMap<String, String>,
    master0: IpAddr,
    h: &ResolvedHost,
) -> Result<BTreeMap<String, String>, RuntimeError> {
    let cluster = parse_env(&cf.cluster.spec.env)
        .map_err(|e| RuntimeError::Invalid(format!("spec.env: {e}")))?;
    let mut env = merge_env([image_env, &cluster, &h.env]);
    let (domain, port, _) = cf.registry();
    let builtins = [
        ("SEALER_CLUSTER", cf.name().to_string()),
        ("SEALER_HOST_IP", h.ip.to_string()),
        ("SEALER_HOST_ROLES", h.roles.join(",")),
        ("SEALER_MASTER0", master0.to_string()),
        ("SEALER_DATA_ROOT", cf.data_root().to_string()),
        ("SEALER_REGISTRY_DOMAIN", domain.clone()),
        ("SEALER_REGISTRY_PORT", port.to_string()),
        ("LocalRegistryDomain", domain),
        ("LocalRegistryPort", port.to_string()),
    ];
    for (k, v) in builtins {
        env.entry(k.to_string()).or_insert(v);
    }
    Ok(env)
}
