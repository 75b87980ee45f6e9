//! The flags of the cluster commands (sealer's names and short options).

use clap::{ArgGroup, Args};
use std::path::PathBuf;

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
    /// `PROGRAM registry serve --dir DIR --addr 0.0.0.0:PORT` [default: this sealer binary].
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
