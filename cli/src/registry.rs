//! Registry commands (pull, push, login, logout, registry serve) and the registry-backed
//! pieces of `build`: pulling a missing base image and embedding container images.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use sealer_image_cache::Store;
use sealer_image_cache::sealer_meta::Platform;
use sealer_registry_shim::client::{
    Client, ClientConfig, PullOptions, PushOptions, StoreSink, StoreSource,
};
use sealer_registry_shim::embed::embed_images;
use sealer_registry_shim::reference::{ImageReference, normalize_domain};
use sealer_solver::embed::{ImageEmbedder, ResolvedImage};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Registry settings shared by build, pull and push.
#[derive(Debug, Clone, Args, Default)]
pub struct RegistryOptions {
    /// A registry (HOST[:PORT]) that may use plain HTTP or unverified TLS (repeatable;
    /// loopback registries never need it). Also read from the config file's
    /// `insecure_registries`.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]", global = true)]
    pub insecure: Vec<String>,
    /// Fetch a registry domain's images from another endpoint, e.g.
    /// `docker.io=http://127.0.0.1:5001` (repeatable; config file key `endpoints`).
    #[arg(long = "registry-endpoint", value_name = "DOMAIN=URL", global = true)]
    pub endpoints: Vec<String>,
    /// Registry config file (JSON: `{"insecure_registries": [..], "endpoints": {..}}`).
    /// Default: $SEALER_REGISTRY_CONFIG, else ~/.sealer/registries.json when present.
    #[arg(long = "registry-config", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(serde::Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    insecure_registries: Vec<String>,
    #[serde(default)]
    endpoints: HashMap<String, String>,
}

impl RegistryOptions {
    pub fn client(&self) -> Result<Client> {
        let mut cfg = ClientConfig::default();
        let file = self
            .config
            .clone()
            .or_else(|| std::env::var_os("SEALER_REGISTRY_CONFIG").map(PathBuf::from))
            .or_else(|| {
                let p = PathBuf::from(std::env::var_os("HOME")?).join(".sealer/registries.json");
                p.is_file().then_some(p)
            });
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read registry config {}", path.display()))?;
            let parsed: ConfigFile = serde_json::from_str(&text)
                .with_context(|| format!("registry config {} is not valid", path.display()))?;
            cfg.insecure_registries.extend(parsed.insecure_registries);
            for (domain, url) in parsed.endpoints {
                cfg.endpoints.insert(normalize_domain(&domain), url);
            }
        }
        cfg.insecure_registries
            .extend(self.insecure.iter().cloned());
        for pair in &self.endpoints {
            let (domain, url) = pair
                .split_once('=')
                .ok_or_else(|| anyhow!("--registry-endpoint {pair:?}: expected DOMAIN=URL"))?;
            // Keyed by normalized domain so a flag replaces a config-file entry
            // (`registry-1.docker.io` and `docker.io` are one registry).
            cfg.endpoints
                .insert(normalize_domain(domain), url.to_string());
        }
        Ok(Client::new(cfg)?)
    }
}

fn shim_platform(p: &Platform) -> sealer_registry_shim::platform::Platform {
    sealer_registry_shim::platform::Platform::new(&p.os, &p.architecture, &p.variant)
}

/// The registry client behind the solver's embed steps (called on blocking threads).
pub struct RegistryEmbedder {
    pub client: Client,
    pub handle: tokio::runtime::Handle,
    /// `--locked`: reference → digest from Kubefile.lock; tags are not resolved.
    pub pins: Option<std::collections::BTreeMap<String, String>>,
}

impl ImageEmbedder for RegistryEmbedder {
    fn resolve(&self, reference: &str, platform: &Platform) -> Result<ResolvedImage, String> {
        let r = ImageReference::parse(reference).map_err(|e| e.to_string())?;
        if let Some(pins) = &self.pins {
            let digest = pins.get(&r.to_string()).ok_or_else(|| {
                format!("--locked: {r} ({platform}) is not pinned in Kubefile.lock; rebuild without --locked to update the lockfile")
            })?;
            return Ok(ResolvedImage {
                reference: r.to_string(),
                digest: digest.clone(),
            });
        }
        let digest = self
            .handle
            .block_on(self.client.resolve(&r))
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{r} is not in the registry (manifest unknown)"))?;
        Ok(ResolvedImage {
            reference: r.to_string(),
            digest: digest.to_string(),
        })
    }

    /// Fetch by the resolved digest (so the content is exactly what was resolved, even if
    /// the tag moves meanwhile), then link the tag in the layout.
    fn fetch(&self, image: &ResolvedImage, platform: &Platform, root: &Path) -> Result<(), String> {
        let r = ImageReference::parse(&image.reference).map_err(|e| e.to_string())?;
        let pinned = format!("{}/{}@{}", r.domain, r.repository, image.digest);
        self.handle
            .block_on(embed_images(
                std::slice::from_ref(&pinned),
                &shim_platform(platform),
                &self.client,
                root,
            ))
            .map_err(|e| e.to_string())?;
        if let Some(tag) = &r.tag {
            let digest = sealer_registry_shim::digest::Digest::parse(&image.digest)
                .map_err(|e| e.to_string())?;
            sealer_registry_shim::distribution_layout::Layout::new(root)
                .tag(&r.layout_repo(), tag, &digest)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Pull `name` into the store (one platform of an index) and return the stored name.
pub async fn pull_into(
    store: &Store,
    client: &Client,
    name: &str,
    platform: &Platform,
) -> Result<String> {
    let r = ImageReference::parse(name)?;
    let sink = Arc::new(StoreSink::new(store.clone(), r.name()));
    let opts = PullOptions {
        platform: Some(shim_platform(platform)),
        all_platforms: false,
    };
    let pulled = client
        .pull(&r, &opts, sink)
        .await
        .with_context(|| format!("cannot pull {r}"))?;
    eprintln!(
        "pulled {r}: {} ({} blobs fetched, {} bytes; {} already present)",
        pulled.digest, pulled.blobs_fetched, pulled.bytes_fetched, pulled.blobs_present
    );
    Ok(r.to_string())
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Serve a distribution-layout directory (an image's `registry/` tree) over the OCI
    /// distribution API.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory holding `docker/registry/v2` (an unpacked image's `registry/` tree).
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "image",
        conflicts_with = "image"
    )]
    pub dir: Option<PathBuf>,
    /// Serve the embedded registry of this cluster image in the store (`--root`) instead,
    /// read-only; its rootfs is unpacked once into the store, verified against its diffIDs.
    #[arg(long, value_name = "NAME")]
    pub image: Option<String>,
    /// With `--image` naming a multi-platform index: the platform whose registry to serve
    /// (`linux/arm64`) [default: this host's].
    #[arg(long, value_name = "OS/ARCH", requires = "image")]
    pub platform: Option<String>,
    #[arg(long, default_value = "127.0.0.1:5000")]
    pub addr: SocketAddr,
    /// Refuse pushes.
    #[arg(long)]
    pub read_only: bool,
    /// htpasswd file (bcrypt) requiring Basic auth.
    #[arg(long)]
    pub htpasswd: Option<PathBuf>,
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Pull-through proxy config (upstream registries for misses).
    #[arg(long)]
    pub proxy: Option<PathBuf>,
    /// JSON-lines access log.
    #[arg(long)]
    pub access_log: Option<PathBuf>,
}

/// A handle to block on from synchronous code: the current runtime when called from one of
/// its blocking sections, else a process-wide runtime made on first use.
pub fn runtime_handle() -> tokio::runtime::Handle {
    static GLOBAL: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    tokio::runtime::Handle::try_current().unwrap_or_else(|_| {
        GLOBAL
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| panic!("cannot start an async runtime: {e}"))
            })
            .handle()
            .clone()
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn serve(args: ServeArgs, store_root: &Path) -> Result<()> {
    // Holds the store lease (no prune underneath us) while serving an image's registry.
    let mut _provider = None;
    let (dir, read_only) = match (&args.dir, &args.image) {
        (Some(dir), _) => (dir.clone(), args.read_only),
        (None, Some(name)) => {
            let store = Store::open(store_root)
                .with_context(|| format!("cannot open store {}", store_root.display()))?;
            let mut provider = crate::image_provider::StoreImageProvider::new(store);
            if let Some(p) = &args.platform {
                provider = provider.for_platform(Platform::parse(p).map_err(anyhow::Error::msg)?);
            }
            let info = sealer_runtime::ImageProvider::image(&provider, name)
                .with_context(|| format!("cannot unpack {name} from {}", store_root.display()))?;
            let dir = info.rootfs.join("registry");
            if !dir.join("docker/registry/v2").is_dir() {
                bail!(
                    "{name} embeds no container images (its rootfs has no registry/): list images in the Kubefile (imageList, manifests, charts) and rebuild"
                );
            }
            _provider = Some(provider);
            (dir, true)
        }
        (None, None) => bail!("give --dir DIR or --image NAME"),
    };
    let mut cfg = sealer_registry_shim::server::ServeConfig::new(&dir);
    cfg.addr = args.addr;
    cfg.read_only = read_only;
    cfg.htpasswd = args.htpasswd;
    cfg.tls = args.tls_cert.zip(args.tls_key);
    cfg.access_log = args.access_log;
    if let Some(p) = &args.proxy {
        cfg.proxy = Some(
            sealer_registry_shim::proxy::ProxyConfig::from_file(p)
                .with_context(|| format!("proxy config {}", p.display()))?,
        );
    }
    runtime()?.block_on(async {
        let handle = sealer_registry_shim::server::serve(cfg)
            .await
            .context("cannot start the registry")?;
        eprintln!("serving {} on {}", dir.display(), handle.url());
        tokio::select! {
            _ = handle.wait() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(())
    })
}

pub fn pull(root: &Path, opts: &RegistryOptions, name: &str, platform: Option<&str>) -> Result<()> {
    let store = Store::open(root)?;
    let _lease = store.lease()?;
    let platform = match platform {
        Some(p) => Platform::parse(p).map_err(anyhow::Error::msg)?,
        None => Platform::host(),
    };
    let client = opts.client()?;
    let stored = runtime()?.block_on(pull_into(&store, &client, name, &platform))?;
    let desc = store
        .resolve(&stored)?
        .ok_or_else(|| anyhow!("pulled {stored} but the store does not list it"))?;
    println!("{}", desc.digest());
    Ok(())
}

pub fn push(root: &Path, opts: &RegistryOptions, name: &str, target: Option<&str>) -> Result<()> {
    let store = Store::open(root)?;
    let desc = store
        .resolve(name)?
        .ok_or_else(|| anyhow!("image {name:?} is not in the local store"))?;
    let target = ImageReference::parse(target.unwrap_or(name))?;
    let client = opts.client()?;
    let root_digest = sealer_registry_shim::digest::Digest::parse(desc.digest().as_ref())?;
    let source = Arc::new(StoreSource { store });
    let report =
        runtime()?.block_on(client.push(&target, source, &root_digest, &PushOptions::default()))?;
    eprintln!(
        "pushed {target}: {} uploaded ({} bytes), {} mounted, {} already there",
        report.uploaded.len(),
        report.bytes_uploaded,
        report.mounted.len(),
        report.skipped.len()
    );
    println!("{}", report.digest);
    Ok(())
}

pub fn login(
    opts: &RegistryOptions,
    registry: &str,
    user: &str,
    password: Option<String>,
) -> Result<()> {
    let password = match password {
        Some(p) => p,
        None => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
    };
    if password.is_empty() {
        bail!("empty password: pass -p or --password-stdin");
    }
    let client = opts.client()?;
    let written = runtime()?.block_on(client.login(registry, user, &password))?;
    eprintln!(
        "login succeeded; credentials stored in {}",
        written.join(", ")
    );
    Ok(())
}

pub fn logout(opts: &RegistryOptions, registry: &str) -> Result<()> {
    let client = opts.client()?;
    if !runtime()?.block_on(client.logout(registry))? {
        bail!("not logged in to {registry}");
    }
    Ok(())
}
