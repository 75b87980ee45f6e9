//! Installing an `app-installer` image onto a running cluster: its rootfs goes to the masters,
//! its images join the running registry, its apps launch on master0.

use super::{Outcome, Runtime};
use crate::clusterfile::{ResolvedHost, master0, resolve_hosts};
use crate::engine::install::host_env;
use crate::engine::launch::launch_plan;
use crate::engine::registry::{
    configure_mirrors, hosts_lines, mirror_domains, registry_endpoints, registry_hosts,
    start_registry,
};
use crate::engine::scripts::run_launch_cmd;
use crate::error::{HostFailure, RuntimeError};
use crate::layout::Layout;
use crate::options::AppOptions;
use crate::plan::{HostPlan, Phase, Plan, StepState};
use crate::rootfs::{Manifest, Overlay, distribute};
use crate::ssh::{ExecRequest, ShellQuote, run_checked};
use crate::state::AppRecord;
use sealer_image_cache::sealer_meta::ImageType;
use std::sync::Arc;

impl Runtime {
    /// Install an app-installer image onto the running cluster `name`.
    pub async fn run_app(
        &self,
        name: Option<&str>,
        image: &str,
        opts: &AppOptions,
    ) -> Result<Outcome, RuntimeError> {
        let cf = self.applied(name)?;
        let cluster = cf.name().to_string();
        let info = self.images.image(image)?;
        if info.extension.image_type != ImageType::AppInstaller {
            return Err(RuntimeError::Invalid(format!(
                "image {} is a {} image: run it as a cluster (apply), not onto one",
                info.name,
                info.extension.image_type.as_str()
            )));
        }
        let id = app_id(&info.id, &info.name);
        let hosts = resolve_hosts(&cf.cluster)?;
        let m0 = master0(&hosts)
            .cloned()
            .ok_or_else(|| RuntimeError::Invalid(format!("cluster {cluster} has no master")))?;
        let masters: Vec<ResolvedHost> = hosts.iter().filter(|h| h.is_master()).cloned().collect();
        let reg_hosts = registry_hosts(&cf, &hosts);
        let launch = launch_plan(&info.extension, &opts.cmds, &opts.apps, &[])
            .map_err(|e| RuntimeError::Invalid(format!("image {}: {e}", info.name)))?;
        let eng = self.engine(&cluster, self.state.load_progress(&cluster)?);
        let key = |step: &str| format!("app:{id}:{step}");
        let (k_dist, k_reg, k_mirror) = (key("distribute"), key("registry"), key("mirrors"));
        let state = |ip, k: &str| {
            if eng.done(ip, k) {
                StepState::Done
            } else {
                StepState::Run
            }
        };
        let rows: Vec<HostPlan> = hosts
            .iter()
            .map(|h| {
                let mut steps = Vec::new();
                if h.is_master() {
                    steps.push((Phase::Distribute, state(h.ip, &k_dist)));
                }
                let reg = if reg_hosts.iter().any(|r| r.ip == h.ip) {
                    state(h.ip, &k_reg)
                } else {
                    StepState::Done
                };
                let mir = state(h.ip, &k_mirror);
                let registry = if reg == StepState::Run || mir == StepState::Run {
                    StepState::Run
                } else {
                    StepState::Done
                };
                steps.push((Phase::Registry, registry));
                if steps.iter().any(|(_, s)| *s == StepState::Run) {
                    steps.insert(0, (Phase::Check, StepState::Run));
                }
                HostPlan {
                    ip: h.ip,
                    roles: h.roles.clone(),
                    steps,
                }
            })
            .collect();
        let cluster_steps: Vec<(String, StepState)> = launch
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let s = if eng.cluster_done(&key(&format!("launch:{i}"))) {
                    StepState::Done
                } else {
                    StepState::Run
                };
                (format!("launch `{}`", c.label), s)
            })
            .collect();
        let plan = Plan {
            cluster: cluster.clone(),
            summary: vec![format!(
                "install app image {} onto cluster {cluster} ({} master(s))",
                info.name,
                masters.len()
            )],
            hosts: rows,
            cluster_steps,
        };
        self.reporter.plan(&plan);
        if opts.dry_run || plan.is_empty() {
            return Ok(Outcome {
                plan,
                executed: false,
                bytes_sent: 0,
            });
        }
        let root = info.rootfs.clone();
        let manifest = tokio::task::spawn_blocking(move || Manifest::scan(&root))
            .await
            .map_err(|e| RuntimeError::Invalid(format!("rootfs scan task failed: {e}")))?
            .map_err(|source| RuntimeError::Rootfs {
                image: info.name.clone(),
                source,
            })?;
        let manifest = Arc::new(manifest);
        let layout = Layout::new(cf.data_root(), &cluster);
        let timeout = self.opts.command_timeout;
        let pending = |p: Phase| -> Vec<ResolvedHost> {
            plan.hosts
                .iter()
                .filter(|r| r.steps.contains(&(p, StepState::Run)))
                .filter_map(|r| hosts.iter().find(|h| h.ip == r.ip).cloned())
                .collect()
        };
        let platform = info.platform.clone();
        eng.run_on(
            Phase::Check,
            None,
            pending(Phase::Check),
            Box::new(|h, c| {
                let (eng, platform) = (&eng, &platform);
                Box::pin(async move {
                    crate::engine::check::check_host(eng.opts, platform, &h, &*c).await
                })
            }),
        )
        .await?;
        let (layout_ref, manifest_ref, id_ref) = (&layout, &manifest, &id);
        eng.run_on(
            Phase::Distribute,
            Some(&k_dist),
            masters.clone(),
            Box::new(move |_h, c| {
                Box::pin(async move {
                    let dest = layout_ref.app_rootfs(&*c, id_ref);
                    let mk = format!("{}sealer_mkdir {}", layout_ref.prelude(&*c), dest.sq());
                    run_checked(&*c, ExecRequest::new(mk), "create the app directory").await?;
                    let st =
                        distribute(&*c, &dest, manifest_ref, &Overlay::default(), timeout).await?;
                    Ok(format!("{} of {} files sent", st.files_sent, st.files))
                })
            }),
        )
        .await?;
        let (domain, port, _) = cf.registry();
        let opts_ref = &self.opts;
        let (domain_ref, cf_ref) = (&domain, &cf);
        eng.run_on(
            Phase::Registry,
            Some(&k_reg),
            reg_hosts.clone(),
            Box::new(move |_h, c| {
                Box::pin(async move {
                    let rootfs = layout_ref.rootfs(&*c);
                    let app = layout_ref.app_rootfs(&*c, id_ref);
                    let merge = format!(
                        "if [ -d {a}/registry ]; then mkdir -p {r}/registry && cp -a -n {a}/registry/. {r}/registry/; fi",
                        a = app.sq(),
                        r = rootfs.sq()
                    );
                    run_checked(&*c, ExecRequest::new(merge), "add the app's images to the registry")
                        .await?;
                    start_registry(opts_ref, layout_ref, &*c, &rootfs, domain_ref, port).await
                })
            }),
        )
        .await?;
        let local = format!("{domain}:{port}");
        let domains = mirror_domains(&info.container_images, &local);
        let (endpoints, lines) = (
            registry_endpoints(cf_ref, &hosts),
            hosts_lines(cf_ref, &hosts),
        );
        let (domains_ref, endpoints_ref, lines_ref, local_ref) =
            (&domains, &endpoints, &lines, &local);
        eng.run_on(
            Phase::Registry,
            Some(&k_mirror),
            hosts.clone(),
            Box::new(move |_h, c| {
                Box::pin(async move {
                    configure_mirrors(
                        layout_ref,
                        &*c,
                        domains_ref,
                        endpoints_ref,
                        local_ref,
                        lines_ref,
                    )
                    .await?;
                    Ok(format!("{} mirror domain(s)", domains_ref.len()))
                })
            }),
        )
        .await?;
        if plan.cluster_steps.iter().any(|(_, s)| *s == StepState::Run) {
            let conn = eng.conns.get(&m0.spec).await.map_err(|e| {
                RuntimeError::Hosts(vec![HostFailure {
                    host: m0.spec.display_name(),
                    phase: Phase::Launch,
                    message: e.to_string(),
                    connect: true,
                }])
            })?;
            let dir = layout.app_rootfs(&*conn, &id);
            let env = host_env(&cf, &info.extension.env, m0.ip, &m0)?;
            for (i, cmd) in launch.iter().enumerate() {
                let k = key(&format!("launch:{i}"));
                if eng.cluster_done(&k) {
                    continue;
                }
                run_launch_cmd(&eng, &m0, &*conn, &dir, &env, cmd).await?;
                eng.mark_cluster(&k)?;
            }
        }
        let mut apps = self.state.load_apps(&cluster)?;
        if !apps.iter().any(|a| a.id == id) {
            apps.push(AppRecord {
                image: info.name.clone(),
                id,
            });
            self.state.save_apps(&cluster, &apps)?;
        }
        Ok(Outcome {
            plan,
            executed: true,
            bytes_sent: eng.conns.bytes_sent().await,
        })
    }
}

/// A directory-safe short id for an app image.
fn app_id(id: &str, name: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    if hex.len() >= 12 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return hex[..12].to_string();
    }
    let src = if id.is_empty() { name } else { id };
    src.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
