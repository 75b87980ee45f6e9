//! `sealer run / apply / join / delete / exec`: the runtime stage behind sealer's flags.
//!
//! Every command reports its plan (hosts × phases) before acting: on stderr normally, on stdout
//! with `--dry-run` (then the plan is the command's output and nothing else happens).

mod report;

use crate::image_provider::StoreImageProvider;
use anyhow::{Context, Result, bail};
use clap::{ArgGroup, Args, Subcommand};
use report::{CliReporter, explain, plan_text};
use sealer_image_cache::Store;
use sealer_runtime::clusterfile::{expand_ip_list, resolve_hosts};
use sealer_runtime::ssh::{SshConnector, SshOptions};
use sealer_runtime::{
    ApplyOptions, Clusterfile, HostPlan, Outcome, Phase, Plan, RegistryCommand, RunArgs, Runtime,
    RuntimeOptions, StateStore, StepState,
};
use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
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

/// Flags every cluster command shares.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// known_hosts file every host key is checked against [default: ~/.ssh/known_hosts].
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// Record the keys of hosts not yet in the known_hosts file (first-use pinning); a changed
    /// key is always refused.
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// Where applied Clusterfiles and install progress are kept [default: <root>/clusters].
    #[arg(long, value_name = "DIR", env = "SEALER_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Hosts worked on at the same time.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub parallelism: u32,
    /// Seconds to wait for an SSH connection.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Program copied to the registry hosts and started as
    /// `PROGRAM registry serve --root DIR --addr 0.0.0.0:PORT` [default: this sealer binary].
    #[arg(long, value_name = "FILE", env = "SEALER_REGISTRY_BINARY")]
    pub registry_binary: Option<PathBuf>,
}

/// SSH flags shaping the hosts of a new cluster.
#[derive(Debug, Args)]
pub struct SshArgs {
    /// SSH user [default: root].
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,
    /// SSH password.
    #[arg(
        short = 'p',
        long = "passwd",
        visible_alias = "password",
        value_name = "PASSWORD"
    )]
    pub passwd: Option<String>,
    /// SSH private key file [default: ~/.ssh/id_ed25519, ~/.ssh/id_rsa].
    #[arg(long = "pk", value_name = "FILE", conflicts_with = "passwd")]
    pub pk: Option<PathBuf>,
    /// Passphrase of the private key.
    #[arg(long = "pk-passwd", value_name = "PASSPHRASE")]
    pub pk_passwd: Option<String>,
    /// SSH port [default: 22].
    #[arg(long)]
    pub port: Option<u16>,
}

#[derive(Debug, Args)]
pub struct RunCmd {
    /// Cluster image (kube-installer), or an app-installer image for the running cluster.
    pub image: String,
    /// Master IPs: a list and/or ranges, e.g. 10.0.0.2,10.0.0.5-10.0.0.7.
    #[arg(short = 'm', long, value_name = "IPS")]
    pub masters: Option<String>,
    /// Node IPs: a list and/or ranges.
    #[arg(short = 'n', long, value_name = "IPS")]
    pub nodes: Option<String>,
    #[command(flatten)]
    pub ssh: SshArgs,
    /// Cluster env, K=V (repeatable); overrides the image's env.
    #[arg(short = 'e', long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Commands launched on master0 instead of the image's CMDS/LAUNCH (repeatable).
    #[arg(long = "cmds", value_name = "CMD")]
    pub cmds: Vec<String>,
    /// Apps launched instead of the image's LAUNCH list (comma-separated or repeated).
    #[arg(long = "apps", value_name = "APP", value_delimiter = ',')]
    pub apps: Vec<String>,
    /// Cluster name [default: my-cluster; for an app image: the only installed cluster].
    #[arg(long = "cluster", visible_alias = "cluster-name", value_name = "NAME")]
    pub cluster: Option<String>,
    /// Print the plan and stop.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct ApplyCmd {
    /// The Clusterfile (`-` reads stdin).
    #[arg(
        short = 'f',
        long = "Clusterfile",
        visible_alias = "file",
        value_name = "FILE"
    )]
    pub clusterfile: PathBuf,
    /// Print the plan and stop.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("hosts").required(true).multiple(true).args(["masters", "nodes"])))]
pub struct JoinCmd {
    /// Master IPs to add.
    #[arg(short = 'm', long, value_name = "IPS")]
    pub masters: Option<String>,
    /// Node IPs to add.
    #[arg(short = 'n', long, value_name = "IPS")]
    pub nodes: Option<String>,
    /// Cluster name [default: the only installed cluster].
    #[arg(long = "cluster", visible_alias = "cluster-name", value_name = "NAME")]
    pub cluster: Option<String>,
    /// Print the plan and stop.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).multiple(true).args(["masters", "nodes", "all"])))]
pub struct DeleteCmd {
    /// Master IPs to remove (not master0).
    #[arg(short = 'm', long, value_name = "IPS", conflicts_with = "all")]
    pub masters: Option<String>,
    /// Node IPs to remove.
    #[arg(short = 'n', long, value_name = "IPS", conflicts_with = "all")]
    pub nodes: Option<String>,
    /// Remove the whole cluster: every host is cleaned and its data removed.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Also delete the removed hosts' data under the cluster's dataRoot.
    #[arg(long)]
    pub prune: bool,
    /// Cluster name [default: the only installed cluster].
    #[arg(long = "cluster", visible_alias = "cluster-name", value_name = "NAME")]
    pub cluster: Option<String>,
    /// Print the plan and stop.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct ExecCmd {
    /// Only hosts with one of these roles (comma-separated) [default: every host].
    #[arg(short = 'r', long, value_name = "ROLES", value_delimiter = ',')]
    pub roles: Vec<String>,
    /// Cluster name [default: the only installed cluster].
    #[arg(long = "cluster", visible_alias = "cluster-name", value_name = "NAME")]
    pub cluster: Option<String>,
    /// Print the plan and stop.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub common: CommonArgs,
    /// The command (run through `sh -c` on each host).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
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
        ClusterCommand::Exec(c) => exec(rt, c).await?,
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
        eprintln!("cluster {cluster}: nothing to do");
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

/// `sealer exec`: each host's stdout on stdout (under a `==> HOST <==` header when there are
/// several hosts), its stderr on stderr; fails naming the hosts where the command failed.
async fn exec(rt: &Runtime, c: ExecCmd) -> Result<()> {
    let command = c.command.join(" ");
    if c.dry_run {
        let cf = rt.applied(c.cluster.as_deref())?;
        let hosts = resolve_hosts(&cf.cluster)?;
        let plan = Plan {
            cluster: cf.name().to_string(),
            summary: vec![format!("exec `{command}`")],
            hosts: hosts
                .iter()
                .filter(|h| c.roles.is_empty() || c.roles.iter().any(|r| h.has_role(r)))
                .map(|h| HostPlan {
                    ip: h.ip,
                    roles: h.roles.clone(),
                    steps: vec![(Phase::Exec, StepState::Run)],
                })
                .collect(),
            cluster_steps: Vec::new(),
        };
        print!("{}", plan_text(&plan));
        return Ok(());
    }
    let outputs = rt
        .exec(c.cluster.as_deref(), &c.roles, &command)
        .await
        .map_err(|e| explain("exec", e))?;
    let several = outputs.len() > 1;
    let mut failed = Vec::new();
    let mut stdout = std::io::stdout().lock();
    for (host, out) in &outputs {
        if several {
            writeln!(stdout, "==> {host} <==")?;
        }
        stdout.write_all(&out.stdout)?;
        stdout.flush()?;
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            eprintln!("[{host}] {line}");
        }
        if !out.success() {
            failed.push(format!("{host} ({})", out.status_text()));
        }
    }
    if !failed.is_empty() {
        bail!("`{command}` failed on {}", failed.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
