//! Command-line definitions (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "sealer",
    version,
    about = "Build, share and run Kubernetes cluster images",
    propagate_version = true
)]
pub struct Cli {
    /// Store directory (an OCI image layout). Default: /var/lib/sealer as root, else the XDG
    /// data directory.
    #[arg(long, global = true, env = "SEALER_ROOT")]
    pub root: Option<PathBuf>,

    #[command(flatten)]
    pub registry: crate::registry::RegistryOptions,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a cluster image from a Kubefile and a context directory.
    Build(BuildArgs),
    /// List images in the store.
    Images {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show an image's manifest, config and sealer metadata as JSON.
    Inspect {
        name: String,
        /// For a multi-platform image, the platform to show (default: this machine's).
        #[arg(long)]
        platform: Option<String>,
    },
    /// Give an image another name.
    Tag { source: String, target: String },
    /// Remove image names (blobs go with `prune`).
    Rmi {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Write images into one OCI archive.
    Save {
        /// Output file (`-` for stdout).
        #[arg(short, long)]
        output: PathBuf,
        /// Compress the whole archive (default for `.tar.zst` files).
        #[arg(long, value_enum)]
        compress: Option<ArchiveCompress>,
        /// Write numbered volumes of at most SIZE bytes (e.g. 650MiB, 4G); `load` reassembles.
        #[arg(long, value_name = "SIZE", value_parser = crate::bundle_cmds::parse_split_size)]
        split: Option<u64>,
        /// Delta bundle: leave out blobs listed in this inventory (`sealer inventory`).
        #[arg(long, value_name = "INVENTORY.json")]
        since: Option<PathBuf>,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// List the blob digests this store (and an embedded registry) holds, for `save --since`.
    Inventory {
        /// Output file (`-` for stdout).
        #[arg(short, long)]
        output: PathBuf,
        /// Also count the blobs of a distribution-layout registry directory.
        #[arg(long)]
        registry_dir: Option<PathBuf>,
    },
    /// Load images from an OCI archive written by `save`.
    Load {
        #[arg(short, long)]
        input: PathBuf,
    },
    /// Remove the build cache and every blob no image uses.
    Prune {
        /// Keep the build cache; remove only unreferenced blobs.
        #[arg(long)]
        keep_cache: bool,
    },
    /// Verify the store: every blob re-hashed, every image complete.
    Fsck,
    /// Pull an image from a registry into the store.
    Pull {
        name: String,
        /// Platform to pick from a multi-arch image (default: this machine's).
        #[arg(long)]
        platform: Option<String>,
    },
    /// Push an image from the store to a registry (blobs already there are skipped).
    Push {
        name: String,
        /// Push under another name (default: NAME).
        target: Option<String>,
    },
    /// Store credentials for a registry (Docker's config.json and sealer's auth.json).
    Login {
        registry: String,
        #[arg(short, long)]
        username: String,
        #[arg(short, long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove stored credentials for a registry.
    Logout { registry: String },
    /// The embedded registry.
    #[command(subcommand)]
    Registry(crate::registry::RegistryCommand),
    #[command(flatten)]
    Cluster(crate::cluster_cmds::ClusterCommand),
    /// Print version information.
    Version,
    /// Print shell completions.
    Completion { shell: clap_complete::Shell },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ArchiveCompress {
    None,
    Zstd,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LayerCompression {
    Zstd,
    Gzip,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum BuildMode {
    All,
    Lite,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ProgressMode {
    Auto,
    Tty,
    Plain,
    Json,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Kubefile path (default: CONTEXT/Kubefile).
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Image name.
    #[arg(short = 't', long = "tag", required_unless_present = "print_graph")]
    pub tag: Option<String>,
    /// Build arguments K=V.
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// Config labels K=V.
    #[arg(long = "label", value_name = "K=V")]
    pub labels: Vec<String>,
    /// Manifest annotations K=V.
    #[arg(long = "annotation", value_name = "K=V")]
    pub annotations: Vec<String>,
    /// kube-installer or app-installer.
    #[arg(long = "type", default_value = "kube-installer")]
    pub image_type: String,
    /// Target platforms, e.g. linux/amd64 or linux/amd64,linux/arm64 (an OCI index).
    #[arg(long)]
    pub platform: Option<String>,
    /// Do not use the build cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Layer compression.
    #[arg(long, value_enum, default_value = "zstd")]
    pub compression: LayerCompression,
    /// Progress output: auto (bars on a TTY, plain otherwise), tty, plain, json.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressMode,
    /// Print the build graph as JSON and stop.
    #[arg(long)]
    pub print_graph: bool,
    /// Files listing container images to embed (one reference per line).
    #[arg(long = "image-list", value_name = "FILE")]
    pub image_lists: Vec<PathBuf>,
    /// Files listing images never to embed.
    #[arg(long = "ignored-image-list", value_name = "FILE")]
    pub ignored_image_lists: Vec<PathBuf>,
    /// all: embed container images; lite: list them without downloading.
    #[arg(long = "build-mode", value_enum, default_value = "all")]
    pub build_mode: BuildMode,
    /// Cluster the launch is observed on: `embedded` (an in-process API server),
    /// `kubeconfig=PATH` (a real cluster), or `none` (no observation, static lists only).
    #[arg(long, default_value = "embedded")]
    pub cluster: String,
    /// How long to wait for workloads to settle on a real cluster, in seconds.
    #[arg(long, default_value_t = 120)]
    pub observe_timeout: u64,
    /// Do not embed images found only indirectly (ConfigMap data, arguments, env).
    #[arg(long)]
    pub no_indirect_images: bool,
    /// Write the image discovery report (JSON) here.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Export the build cache: `type=local,dest=DIR` or `type=registry,ref=REF`, with
    /// `,mode=max` (default: every record used) or `,mode=min` (the final step only).
    #[arg(long = "cache-to", value_name = "SPEC")]
    pub cache_to: Vec<String>,
    /// Import a build cache lazily: `type=local,src=DIR` or `type=registry,ref=REF`.
    #[arg(long = "cache-from", value_name = "SPEC")]
    pub cache_from: Vec<String>,
    /// Build from Kubefile.lock: pinned base and image digests, no tag resolution; fail when
    /// the build needs anything the lockfile does not pin.
    #[arg(long)]
    pub locked: bool,
    /// Say, for every step that missed the cache, what changed since the last build of this
    /// tag.
    #[arg(long)]
    pub explain_cache: bool,
    /// Steps that may run at once.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Build context directory.
    #[arg(default_value = ".")]
    pub context: PathBuf,
}

/// Split `K=V` pairs; the error names the bad argument.
pub fn parse_pairs(
    flag: &str,
    pairs: &[String],
) -> Result<std::collections::BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("{flag} {p:?}: expected KEY=VALUE")),
        })
        .collect()
}
