//! `delete --nodes`, `delete --all` and `exec`.

use super::apply::clean_row;
use super::{Outcome, Runtime};
use crate::clusterfile::{ResolvedHost, expand_ip_list, master0, resolve_hosts};
use crate::error::RuntimeError;
use crate::options::ApplyOptions;
use crate::plan::{HostPlan, Phase, Plan, StepState};
use crate::ssh::{ExecOutput, ExecRequest};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;

impl Runtime {
    /// The image's env and rootfs, when the image is still available locally (for clean hooks).
    fn image_parts(&self, image: &str) -> (BTreeMap<String, String>, PathBuf) {
        match self.images.image(image) {
            Ok(i) => (i.extension.env, i.rootfs),
            Err(_) => (BTreeMap::new(), PathBuf::new()),
        }
    }

    /// Remove hosts from a running cluster: clean scripts, registry/mirror config removal, and
    /// with `prune` their data. master0 cannot be removed.
    pub async fn delete_nodes(
        &self,
        name: Option<&str>,
        ips: &[IpAddr],
        opts: &ApplyOptions,
    ) -> Result<Outcome, RuntimeError> {
        let cur = self.applied(name)?;
        let hosts = resolve_hosts(&cur.cluster)?;
        let m0 = master0(&hosts).map(|h| h.ip);
        let mut targets: Vec<ResolvedHost> = Vec::new();
        for ip in ips {
            let Some(h) = hosts.iter().find(|h| h.ip == *ip) else {
                return Err(RuntimeError::Invalid(format!(
                    "{ip} is not a host of cluster {}",
                    cur.name()
                )));
            };
            if Some(*ip) == m0 {
                return Err(RuntimeError::Invalid(format!(
                    "{ip} is master0 of cluster {}: it cannot be removed (delete --all removes the cluster)",
                    cur.name()
                )));
            }
            targets.push(h.clone());
        }
        let mut desired = cur.clone();
        for g in &mut desired.cluster.spec.hosts {
            let mut kept = Vec::new();
            for item in &g.ips {
                let expanded = expand_ip_list(item).map_err(RuntimeError::Invalid)?;
                if expanded.iter().any(|ip| ips.contains(ip)) {
                    kept.extend(
                        expanded
                            .iter()
                            .filter(|ip| !ips.contains(ip))
                            .map(|ip| ip.to_string()),
                    );
                } else {
                    kept.push(item.clone());
                }
            }
            g.ips = kept;
        }
        desired.cluster.spec.hosts.retain(|g| !g.ips.is_empty());
        let plan = Plan {
            cluster: cur.name().to_string(),
            summary: targets
                .iter()
                .map(|h| {
                    format!(
                        "remove {} ({}){}",
                        h.ip,
                        h.roles.join(","),
                        if opts.prune { ", pruning its data" } else { "" }
                    )
                })
                .collect(),
            hosts: targets.iter().map(clean_row).collect(),
            cluster_steps: Vec::new(),
        };
        self.reporter.plan(&plan);
        if opts.dry_run || targets.is_empty() {
            return Ok(Outcome {
                plan,
                executed: false,
                bytes_sent: 0,
            });
        }
        let eng = self.engine(cur.name(), self.state.load_progress(cur.name())?);
        let (env, rootfs) = self.image_parts(&cur.cluster.spec.image);
        self.clean_hosts(
            &eng,
            &cur,
            &env,
            &rootfs,
            targets.clone(),
            false,
            opts.prune,
        )
        .await?;
        eng.forget_hosts(&targets.iter().map(|h| h.ip).collect::<Vec<_>>())?;
        self.save_applied(&eng, &desired).await?;
        Ok(Outcome {
            plan,
            executed: true,
            bytes_sent: eng.conns.bytes_sent().await,
        })
    }

    /// Remove the whole cluster: every host is cleaned and pruned (left as before the run,
    /// apart from logs) and the local state is forgotten.
    pub async fn delete_all(
        &self,
        name: Option<&str>,
        opts: &ApplyOptions,
    ) -> Result<Outcome, RuntimeError> {
        let cur = self.applied(name)?;
        let hosts = resolve_hosts(&cur.cluster)?;
        let plan = Plan {
            cluster: cur.name().to_string(),
            summary: vec![format!(
                "delete cluster {} from {} host(s), removing its data",
                cur.name(),
                hosts.len()
            )],
            hosts: hosts.iter().map(clean_row).collect(),
            cluster_steps: Vec::new(),
        };
        self.reporter.plan(&plan);
        if opts.dry_run {
            return Ok(Outcome {
                plan,
                executed: false,
                bytes_sent: 0,
            });
        }
        let eng = self.engine(cur.name(), self.state.load_progress(cur.name())?);
        let (env, rootfs) = self.image_parts(&cur.cluster.spec.image);
        self.clean_hosts(&eng, &cur, &env, &rootfs, hosts, true, true)
            .await?;
        self.state.remove(cur.name())?;
        Ok(Outcome {
            plan,
            executed: true,
            bytes_sent: eng.conns.bytes_sent().await,
        })
    }

    /// Run `command` on the hosts having one of `roles` (all hosts when empty), in parallel.
    /// Returns each host's output in Clusterfile order; a non-zero exit is not an error here.
    pub async fn exec(
        &self,
        name: Option<&str>,
        roles: &[String],
        command: &str,
    ) -> Result<Vec<(String, ExecOutput)>, RuntimeError> {
        let cur = self.applied(name)?;
        let hosts: Vec<ResolvedHost> = resolve_hosts(&cur.cluster)?
            .into_iter()
            .filter(|h| roles.is_empty() || roles.iter().any(|r| h.has_role(r)))
            .collect();
        if hosts.is_empty() {
            return Err(RuntimeError::Invalid(format!(
                "no host of cluster {} has role {}",
                cur.name(),
                roles.join(" or ")
            )));
        }
        self.reporter.plan(&Plan {
            cluster: cur.name().to_string(),
            summary: vec![format!("exec `{command}`")],
            hosts: hosts
                .iter()
                .map(|h| HostPlan {
                    ip: h.ip,
                    roles: h.roles.clone(),
                    steps: vec![(Phase::Exec, StepState::Run)],
                })
                .collect(),
            cluster_steps: Vec::new(),
        });
        let eng = self.engine(cur.name(), Default::default());
        let outputs: Mutex<Vec<(IpAddr, String, ExecOutput)>> = Mutex::new(Vec::new());
        let timeout = self.opts.command_timeout;
        eng.run_on(
            Phase::Exec,
            None,
            hosts.clone(),
            Box::new(|h, c| {
                let outputs = &outputs;
                Box::pin(async move {
                    let out = c.exec(ExecRequest::new(command).timeout(timeout)).await?;
                    let status = out.status_text();
                    if let Ok(mut g) = outputs.lock() {
                        g.push((h.ip, c.name().to_string(), out));
                    }
                    Ok(status)
                })
            }),
        )
        .await?;
        let mut all = outputs.into_inner().unwrap_or_default();
        all.sort_by_key(|(ip, _, _)| hosts.iter().position(|h| h.ip == *ip));
        Ok(all.into_iter().map(|(_, n, o)| (n, o)).collect())
    }
}
