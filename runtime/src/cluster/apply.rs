//! `apply` (and `run`, `join`): diff the desired Clusterfile against the applied one and act.

use super::{Outcome, Runtime};
use crate::clusterfile::RunArgs;
use crate::clusterfile::{
    Clusterfile, HostGroup, ROLE_MASTER, ROLE_NODE, ResolvedHost, master0, resolve_hosts,
};
use crate::engine::Engine;
use crate::engine::clean::Clean;
use crate::engine::install::{Install, Mode};
use crate::error::RuntimeError;
use crate::layout::Layout;
use crate::options::{AppOptions, ApplyOptions};
use crate::plan::{HostPlan, Phase, Plan, StepState};
use crate::rootfs::Manifest;
use crate::state::Progress;
use sealer_image_cache::sealer_meta::ImageType;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;

impl Runtime {
    /// Make the hosts match `desired`: install a new cluster, add and remove hosts of a
    /// running one, or finish an interrupted install (finished phases are skipped).
    pub async fn apply(
        &self,
        desired: Clusterfile,
        opts: &ApplyOptions,
    ) -> Result<Outcome, RuntimeError> {
        desired.validate()?;
        let name = desired.name().to_string();
        let current = self.state.load_applied(&name)?;
        let hosts = resolve_hosts(&desired.cluster)?;
        let (mode, targets, removed) = match &current {
            None => (Mode::Fresh, hosts.clone(), Vec::new()),
            Some(cur) => {
                compatible(cur, &desired)?;
                let cur_hosts = resolve_hosts(&cur.cluster)?;
                let added: Vec<ResolvedHost> = hosts
                    .iter()
                    .filter(|h| !cur_hosts.iter().any(|c| c.ip == h.ip))
                    .cloned()
                    .collect();
                let removed: Vec<ResolvedHost> = cur_hosts
                    .iter()
                    .filter(|c| !hosts.iter().any(|h| h.ip == c.ip))
                    .cloned()
                    .collect();
                (Mode::ScaleUp, added, removed)
            }
        };
        if mode == Mode::ScaleUp && targets.is_empty() && removed.is_empty() {
            let plan = Plan {
                cluster: name,
                summary: vec!["the applied Clusterfile already matches".into()],
                ..Default::default()
            };
            self.reporter.plan(&plan);
            return Ok(Outcome {
                plan,
                executed: false,
                bytes_sent: 0,
            });
        }
        let image = self.images.image(&desired.cluster.spec.image)?;
        if image.extension.image_type == ImageType::AppInstaller {
            return Err(RuntimeError::Invalid(format!(
                "image {} is an app-installer image: install it onto a running cluster (run_app), not as a cluster",
                image.name
            )));
        }
        let fp = fingerprint(&image.id, &desired)?;
        let mut progress = self.state.load_progress(&name)?;
        if mode == Mode::Fresh && progress.fingerprint != fp {
            progress = Progress {
                fingerprint: fp,
                ..Default::default()
            };
        }
        let eng = self.engine(&name, progress);
        let root = image.rootfs.clone();
        let manifest = tokio::task::spawn_blocking(move || Manifest::scan(&root))
            .await
            .map_err(|e| RuntimeError::Invalid(format!("rootfs scan task failed: {e}")))?
            .map_err(|source| RuntimeError::Rootfs {
                image: image.name.clone(),
                source,
            })?;
        let install = Install::new(&eng, &desired, &image, Arc::new(manifest), &targets, mode)?;
        let (mut rows, cluster_steps) = install.plan(&targets);
        rows.extend(removed.iter().map(clean_row));
        let mut summary = Vec::new();
        match mode {
            Mode::Fresh => summary.push(format!(
                "install image {} on {} host(s), master0 {}",
                image.name,
                hosts.len(),
                install.master0().ip
            )),
            Mode::ScaleUp => summary.extend(
                targets
                    .iter()
                    .map(|h| format!("join {} ({})", h.ip, h.roles.join(","))),
            ),
        }
        summary.extend(removed.iter().map(|h| {
            format!(
                "remove {} ({}){}",
                h.ip,
                h.roles.join(","),
                if opts.prune { ", pruning its data" } else { "" }
            )
        }));
        let plan = Plan {
            cluster: name.clone(),
            summary,
            hosts: rows,
            cluster_steps,
        };
        self.reporter.plan(&plan);
        if opts.dry_run || plan.is_empty() {
            let executed = false;
            if !opts.dry_run && current.is_none() {
                // Everything was done by an interrupted run that did not get to save the state.
                self.save_applied(&eng, &desired).await?;
            }
            return Ok(Outcome {
                plan,
                executed,
                bytes_sent: 0,
            });
        }
        if !removed.is_empty() {
            let current = current.as_ref().unwrap_or(&desired);
            self.clean_hosts(
                &eng,
                current,
                &image.extension.env,
                &image.rootfs,
                removed.clone(),
                false,
                opts.prune,
            )
            .await?;
            eng.forget_hosts(&removed.iter().map(|h| h.ip).collect::<Vec<_>>())?;
        }
        install.run(&targets).await?;
        self.save_applied(&eng, &desired).await?;
        Ok(Outcome {
            plan,
            executed: true,
            bytes_sent: eng.conns.bytes_sent().await,
        })
    }

    /// `sealer run`: a kube-installer image becomes a cluster on the given hosts (an apply of
    /// the Clusterfile the flags describe); an app-installer image is installed onto the running
    /// cluster (`args.cluster_name`, or the only one), where host flags are not allowed.
    pub async fn run(&self, args: &RunArgs, opts: &ApplyOptions) -> Result<Outcome, RuntimeError> {
        let info = self.images.image(&args.image)?;
        if info.extension.image_type == ImageType::AppInstaller {
            if !args.masters.trim().is_empty() || !args.nodes.trim().is_empty() {
                return Err(RuntimeError::Invalid(format!(
                    "image {} is an app-installer image: it runs onto an existing cluster, without --masters/--nodes",
                    info.name
                )));
            }
            let app = AppOptions {
                dry_run: opts.dry_run,
                cmds: args.cmds.clone(),
                apps: args.apps.clone(),
            };
            return self
                .run_app(args.cluster_name.as_deref(), &args.image, &app)
                .await;
        }
        self.apply(args.to_clusterfile()?, opts).await
    }

    /// Add masters and nodes to a running cluster (with the cluster's SSH settings).
    pub async fn join(
        &self,
        name: Option<&str>,
        masters: &[IpAddr],
        nodes: &[IpAddr],
        opts: &ApplyOptions,
    ) -> Result<Outcome, RuntimeError> {
        let mut desired = self.applied(name)?;
        let existing = resolve_hosts(&desired.cluster)?;
        for ip in masters.iter().chain(nodes) {
            if existing.iter().any(|h| h.ip == *ip) {
                return Err(RuntimeError::Invalid(format!(
                    "{ip} is already a host of cluster {}",
                    desired.name()
                )));
            }
        }
        for (ips, role) in [(masters, ROLE_MASTER), (nodes, ROLE_NODE)] {
            if !ips.is_empty() {
                desired.cluster.spec.hosts.push(HostGroup {
                    ips: ips.iter().map(|i| i.to_string()).collect(),
                    roles: vec![role.to_string()],
                    ..Default::default()
                });
            }
        }
        self.apply(desired, opts).await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn clean_hosts(
        &self,
        eng: &Engine<'_>,
        cf: &Clusterfile,
        image_env: &std::collections::BTreeMap<String, String>,
        rootfs: &std::path::Path,
        targets: Vec<ResolvedHost>,
        uninstall: bool,
        prune: bool,
    ) -> Result<(), RuntimeError> {
        let mut plugins = crate::engine::scripts::rootfs_plugins(rootfs)?;
        plugins.extend(cf.plugins.iter().map(|p| p.spec.clone()));
        let clean = Clean {
            eng,
            cf,
            hosts: resolve_hosts(&cf.cluster)?,
            layout: Layout::new(cf.data_root(), cf.name()),
            plugins,
            image_env: image_env.clone(),
            uninstall,
            prune,
        };
        clean.run(targets).await
    }
}

pub(super) fn clean_row(h: &ResolvedHost) -> HostPlan {
    HostPlan {
        ip: h.ip,
        roles: h.roles.clone(),
        steps: vec![
            (Phase::Check, StepState::Run),
            (Phase::Clean, StepState::Run),
        ],
    }
}

/// Identity of an install: the image plus everything in the Clusterfile except hosts and SSH.
fn fingerprint(image_id: &str, cf: &Clusterfile) -> Result<String, RuntimeError> {
    let mut c = cf.clone();
    c.cluster.spec.hosts.clear();
    c.cluster.spec.ssh = Default::default();
    let mut h = Sha256::new();
    h.update(image_id.as_bytes());
    h.update(b"\n");
    h.update(c.to_yaml()?.as_bytes());
    Ok(hex::encode(h.finalize()))
}

/// A running cluster can gain and lose hosts (and change SSH settings); anything else is refused.
fn compatible(cur: &Clusterfile, desired: &Clusterfile) -> Result<(), RuntimeError> {
    let (a, b) = (&cur.cluster.spec, &desired.cluster.spec);
    let mut changed = Vec::new();
    let checks: [(&str, bool); 9] = [
        ("spec.image", a.image == b.image),
        ("spec.env", a.env == b.env),
        ("spec.cmd", a.cmd == b.cmd),
        ("spec.cmd_args", a.cmd_args == b.cmd_args),
        ("spec.appNames", a.app_names == b.app_names),
        (
            "spec.containerRuntime",
            a.container_runtime == b.container_runtime,
        ),
        ("spec.hostAliases", a.host_aliases == b.host_aliases),
        ("spec.registry", a.registry == b.registry),
        ("spec.dataRoot", cur.data_root() == desired.data_root()),
    ];
    changed.extend(
        checks
            .iter()
            .filter(|(_, same)| !same)
            .map(|(n, _)| n.to_string()),
    );
    if cur.configs != desired.configs {
        changed.push("Config documents".into());
    }
    if cur.plugins != desired.plugins {
        changed.push("Plugin documents".into());
    }
    if cur.application != desired.application {
        changed.push("the Application document".into());
    }
    let (ch, dh) = (
        resolve_hosts(&cur.cluster)?,
        resolve_hosts(&desired.cluster)?,
    );
    for h in &dh {
        if let Some(c) = ch.iter().find(|c| c.ip == h.ip)
            && c.roles != h.roles
        {
            changed.push(format!("the roles of {}", h.ip));
        }
        if let Some(c) = ch.iter().find(|c| c.ip == h.ip)
            && (c.labels != h.labels || c.taints != h.taints)
        {
            changed.push(format!(
                "the labels or taints of {} (on a running node, use kubectl label/taint)",
                h.ip
            ));
        }
    }
    if master0(&ch).map(|h| h.ip) != master0(&dh).map(|h| h.ip) {
        changed.push("master0 (the first master)".into());
    }
    if changed.is_empty() {
        Ok(())
    } else {
        Err(RuntimeError::Invalid(format!(
            "cluster {} is running; changing {} is not supported: only hosts can be added or removed (delete the cluster and run it again to change the rest)",
            cur.name(),
            changed.join(", ")
        )))
    }
}
