//! `sealer run / apply / join / delete / exec`: the runtime stage behind sealer's flags.
//!
//! Every command reports its plan (hosts × phases) before acting: on stderr normally, on stdout
//! with `--dry-run` (then the plan is the command's output and nothing else happens).

mod exec;
mod flags;
mod report;

pub use flags::{ApplyCmd, CommonArgs, DeleteCmd, ExecCmd, JoinCmd, RunCmd};

use crate::image_provider::StoreImageProvider;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use report::{CliReporter, explain};
use sealer_image_cache::Store;
use sealer_runtime::clusterfile::expand_ip_list;
use sealer_runtime::ssh::{SshConnector, SshOptions};
use sealer_runtime::{
    ApplyOptions, Clusterfile, Outcome, RegistryCommand, RunArgs, Runtime, RuntimeOptions,
    StateStore,
};
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The cluster commands, flattened into sealer's top-level commands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Install a cluster image onto hosts over SSH (an app-installer image goes onto the
    /// running cluster instead).
    Run(RunCmd),
    /// Make the hosts match a Clusterfile: install, add or remove hosts, or finish an
    /// interrupted run; an applied Clusterfile applied again changes nothing.
    Apply(ApplyCmd),
    /// Add masters or nodes to a running cluster.
    Join(JoinCmd),
    /// Remove hosts from a cluster (`--masters`/`--nodes`) or the whole cluster (`--all`).
    Delete(DeleteCmd),
    /// Run a shell command on the cluster's hosts (all, or those with the given roles).
    Exec(ExecCmd),
}

impl ClusterCommand {
    fn common(&self) -> &CommonArgs {
        match self {
            ClusterCommand::Run(c) => &c.common,
            ClusterCommand::Apply(c) => &c.common,
            ClusterCommand::Join(c) => &c.common,
            ClusterCommand::Delete(c) => &c.common,
            ClusterCommand::Exec(c) => &c.common,
        }
    }
    fn dry_run(&self) -> bool {
        match self {
            ClusterCommand::Run(c) => c.dry_run,
            ClusterCommand::Apply(c) => c.dry_run,
            ClusterCommand::Join(c) => c.dry_run,
            ClusterCommand::Delete(c) => c.dry_run,
            ClusterCommand::Exec(c) => c.dry_run,
        }
    }
}

/// Run one cluster command against the store at `root`.
pub fn run(root: &Path, cmd: ClusterCommand) -> Result<()> {
    let store =
        Store::open(root).with_context(|| format!("cannot open store {}", root.display()))?;
    let common = cmd.common();
    let state_dir = common
        .state_dir
        .clone()
        .unwrap_or_else(|| store.root().join("clusters"));
    let mut ssh = SshOptions {
        accept_new_host_keys: common.accept_new_host_keys,
        connect_timeout: Duration::from_secs(common.connect_timeout.max(1)),
        ..Default::default()
    };
    if let Some(k) = &common.known_hosts {
        ssh.known_hosts = std::path::absolute(k).unwrap_or_else(|_| k.clone());
    }
    let opts = RuntimeOptions {
        parallelism: common.parallelism as usize,
        registry: RegistryCommand {
            binary: common
                .registry_binary
                .as_ref()
                .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())),
            ..Default::default()
        },
        ..Default::default()
    };
    let dry_run = cmd.dry_run();
    let rt = Runtime::new(
        Arc::new(SshConnector::new(ssh)),
        Arc::new(StoreImageProvider::new(store)),
        StateStore::new(state_dir),
        opts,
        Arc::new(CliReporter::new(dry_run)),
    );
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    tokio_rt.block_on(dispatch(&rt, cmd))
}

async fn dispatch(rt: &Runtime, cmd: ClusterCommand) -> Result<()> {
    match cmd {
        ClusterCommand::Run(c) => {
            let args = run_args(&c)?;
            let opts = ApplyOptions {
                dry_run: c.dry_run,
                prune: false,
            };
            let out = rt.run(&args, &opts).await.map_err(|e| explain("run", e))?;
            finished(rt, &out, c.dry_run);
        }
        ClusterCommand::Apply(c) => {
            let cf = read_clusterfile(&c.clusterfile)?;
            let opts = ApplyOptions {
                dry_run: c.dry_run,
                prune: false,
            };
            let out = rt.apply(cf, &opts).await.map_err(|e| explain("apply", e))?;
            finished(rt, &out, c.dry_run);
        }
        ClusterCommand::Join(c) => {
            let masters = ips("--masters", c.masters.as_deref())?;
            let nodes = ips("--nodes", c.nodes.as_deref())?;
            if masters.is_empty() && nodes.is_empty() {
                bail!("join: give at least one IP with --masters or --nodes");
            }
            let opts = ApplyOptions {
                dry_run: c.dry_run,
                prune: false,
            };
            let out = rt
                .join(c.cluster.as_deref(), &masters, &nodes, &opts)
                .await
                .map_err(|e| explain("join", e))?;
            finished(rt, &out, c.dry_run);
        }
        ClusterCommand::Delete(c) => {
            let opts = ApplyOptions {
                dry_run: c.dry_run,
                prune: c.prune || c.all,
            };
            let out = if c.all {
                rt.delete_all(c.cluster.as_deref(), &opts)
                    .await
                    .map_err(|e| explain("delete", e))?
            } else {
                let mut targets = ips("--masters", c.masters.as_deref())?;
                targets.extend(ips("--nodes", c.nodes.as_deref())?);
                if targets.is_empty() {
                    bail!("delete: give the IPs to remove with --masters/--nodes, or --all");
                }
                rt.delete_nodes(c.cluster.as_deref(), &targets, &opts)
                    .await
                    .map_err(|e| explain("delete", e))?
            };
            finished(rt, &out, c.dry_run);
        }
        ClusterCommand::Exec(c) => exec::exec(rt, c).await?,
    }
    Ok(())
}

/// The flags of `sealer run` as the runtime takes them (key paths made absolute, since the
/// Clusterfile is kept and used again from other directories).
fn run_args(c: &RunCmd) -> Result<RunArgs> {
    for pair in &c.env {
        if !matches!(pair.split_once('='), Some((k, _)) if !k.is_empty()) {
            bail!("--env {pair:?}: expected KEY=VALUE");
        }
    }
    let pk = match &c.ssh.pk {
        Some(p) => {
            let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
            if !abs.is_file() {
                bail!("--pk {}: no such key file", p.display());
            }
            Some(abs.to_string_lossy().into_owned())
        }
        None => None,
    };
    Ok(RunArgs {
        image: c.image.clone(),
        cluster_name: c.cluster.clone(),
        masters: c.masters.clone().unwrap_or_default(),
        nodes: c.nodes.clone().unwrap_or_default(),
        user: c.ssh.user.clone(),
        password: c.ssh.passwd.clone(),
        private_key: pk,
        private_key_password: c.ssh.pk_passwd.clone(),
        port: c.ssh.port,
        env: c.env.clone(),
        cmds: c.cmds.clone(),
        apps: c.apps.clone(),
    })
}

fn ips(flag: &str, text: Option<&str>) -> Result<Vec<IpAddr>> {
    expand_ip_list(text.unwrap_or_default()).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

fn read_clusterfile(path: &Path) -> Result<Clusterfile> {
    let text = if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the Clusterfile from stdin")?;
        s
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read Clusterfile {}", path.display()))?
    };
    Clusterfile::parse(&text).with_context(|| format!("invalid Clusterfile {}", path.display()))
}

/// One line on stderr saying what happened and where the state is.
fn finished(rt: &Runtime, out: &Outcome, dry_run: bool) {
    if dry_run {
        return;
    }
    let cluster = &out.plan.cluster;
    if !out.executed {
        // The plan already said "nothing to do".
        return;
    }
    let kept = rt.state().cluster_dir(cluster).join("Clusterfile");
    if kept.is_file() {
        eprintln!(
            "cluster {cluster}: done ({} bytes sent); applied Clusterfile: {}",
            out.bytes_sent,
            kept.display()
        );
    } else {
        eprintln!("cluster {cluster}: done ({} bytes sent)", out.bytes_sent);
    }
}

#[cfg(test)]
#[path = "tests/cluster_cmds.rs"]
mod tests;
