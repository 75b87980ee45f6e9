//! `sealer build`: Kubefile → graph → solve → export, per platform, with the store leased
//! throughout; several platforms make an OCI index under the tag.

mod lock;
mod platforms;
mod steps;

use crate::adapters::{DiskContext, StoreResolver};
use crate::args::{BuildArgs, BuildMode, LayerCompression, parse_pairs};
use crate::observe::ClusterObserver;
use crate::progress::renderer;
use crate::registry::{RegistryEmbedder, RegistryOptions};
use anyhow::{Context, Result, bail};
use sealer_build_cluster::launch::ObserveOptions;
use sealer_frontend::{CompileOptions, compile};
use sealer_image_cache::Store;
use sealer_image_cache::sealer_meta::{ImageType, Platform};
use sealer_registry_shim::client::Client;
use sealer_snapshotter::{Compression, TarOptions};
use sealer_solver::checksum::ChecksumCache;
use sealer_solver::context::LocalContext;
use sealer_solver::embed::{EXTRA_CONTAINER_IMAGES, EXTRA_RESOLVED_IMAGES};
use sealer_solver::export::{ExportOptions, export};
use sealer_solver::graph::Op;
use sealer_solver::observe::EXTRA_REPORT;
use sealer_solver::progress::{Event, ProgressSink};
use sealer_solver::sandbox::{LazyBubblewrap, Sandbox};
use sealer_solver::{SolveOptions, Solver, Worker};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use steps::*;

/// A Kubefile diagnostic, reported by main with miette's renderer.
#[derive(Debug)]
pub struct KubefileError(pub sealer_frontend::Diagnostic);

impl std::fmt::Display for KubefileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
impl std::error::Error for KubefileError {}

/// Everything shared by the per-platform builds.
struct Session<'a> {
    args: &'a BuildArgs,
    store: Arc<Store>,
    client: Client,
    runtime: tokio::runtime::Runtime,
    progress: Arc<dyn ProgressSink>,
    context_dir: &'a Path,
    source: String,
    kubefile: std::path::PathBuf,
    lock: Option<lock::Lockfile>,
    /// `--cache-from` records, read once for all platforms.
    imported: Option<Arc<sealer_solver::import::ImportedCache>>,
    /// The RUN sandbox, probed on first use and shared by every platform's worker.
    bwrap: Arc<LazyBubblewrap>,
}

/// One platform's result.
struct Built {
    platform: Platform,
    manifest_digest: String,
    manifest_size: u64,
    base: BTreeMap<String, String>,
    images: BTreeMap<String, String>,
}

pub fn run(root: &Path, registry: &RegistryOptions, args: BuildArgs) -> Result<()> {
    let context_dir = args.context.clone();
    let kubefile = args
        .file
        .clone()
        .unwrap_or_else(|| context_dir.join("Kubefile"));
    let source = std::fs::read_to_string(&kubefile)
        .with_context(|| format!("cannot read Kubefile {}", kubefile.display()))?;
    let platforms = platforms::parse(args.platform.as_deref())?;
    let lock_path = lock::path_for(&kubefile);
    let lock = if args.locked {
        Some(lock::load(&lock_path)?.with_context(|| {
            format!(
                "--locked needs {}; build once without --locked to write it",
                lock_path.display()
            )
        })?)
    } else {
        None
    };
    let store = Arc::new(
        Store::open(root).with_context(|| format!("cannot open store {}", root.display()))?,
    );
    let _lease = store.lease()?;
    let client = registry.client()?;
    let cache_from = args
        .cache_from
        .iter()
        .map(|s| crate::cache_io::parse_spec(s, false))
        .collect::<Result<Vec<_>>>()?;
    let imported = crate::cache_io::import(&cache_from, &client).map(Arc::new);
    let progress: Arc<dyn ProgressSink> = Arc::from(renderer(args.progress));
    let bwrap = {
        let progress = progress.clone();
        Arc::new(LazyBubblewrap::new(move || {
            progress.event(Event::Note {
                message: "warning: bubblewrap (bwrap) is not usable here; RUN steps execute unsandboxed on the host".into(),
            })
        }))
    };
    let session = Session {
        args: &args,
        store,
        client,
        runtime: tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
        progress,
        context_dir: &context_dir,
        source,
        kubefile,
        lock,
        imported,
        bwrap,
    };
    let mut built = Vec::new();
    for platform in &platforms {
        match session.build_platform(platform, platforms.len() == 1)? {
            Some(b) => built.push(b),
            None => return Ok(()), // --print-graph
        }
    }
    let name = args.tag.clone().unwrap_or_default();
    let digest = if platforms.len() == 1 {
        built[0].manifest_digest.clone()
    } else {
        let children: Vec<_> = built
            .iter()
            .map(|b| {
                (
                    b.platform.clone(),
                    b.manifest_digest.clone(),
                    b.manifest_size,
                )
            })
            .collect();
        platforms::tag_index(&session.store, &name, &children)?
    };
    if !args.locked {
        let mut lockfile = lock::load(&lock_path).ok().flatten().unwrap_or_default();
        lockfile.version = 1;
        for b in &built {
            lockfile.base.extend(b.base.clone());
            lockfile
                .images
                .insert(b.platform.to_string(), b.images.clone());
        }
        if let Err(e) = lock::save(&lock_path, &lockfile) {
            session.note(format!("warning: {e:#}"));
        }
    }
    println!("{digest}");
    Ok(())
}

impl Session<'_> {
    fn note(&self, message: String) {
        self.progress.event(Event::Note { message });
    }

    fn build_platform(&self, platform: &Platform, tag: bool) -> Result<Option<Built>> {
        let args = self.args;
        let context = LocalContext::new(self.context_dir).with_context(|| {
            format!(
                "build context {} is not a readable directory",
                self.context_dir.display()
            )
        })?;
        let options = CompileOptions {
            file_name: self.kubefile.display().to_string(),
            build_args: parse_pairs("--build-arg", &args.build_args).map_err(anyhow::Error::msg)?,
            platform: platform.clone(),
            image_type: args
                .image_type
                .parse::<ImageType>()
                .map_err(anyhow::Error::msg)?,
            labels: parse_pairs("--label", &args.labels).map_err(anyhow::Error::msg)?,
        };
        let resolver = StoreResolver {
            store: &self.store,
            puller: Some((&self.client, &self.runtime)),
        };
        let mut compiled = compile(&self.source, &options, &DiskContext(&context), &resolver)
            .map_err(KubefileError)?;
        add_launch_steps(
            &mut compiled.definition,
            LaunchSteps {
                images: read_lists(&args.image_lists)?,
                ignored: read_lists(&args.ignored_image_lists)?,
                list_texts: read_list_texts(&args.image_lists)?,
                backend: observe_backend(&args.cluster)?,
                include_indirect: !args.no_indirect_images,
                lite: args.build_mode == BuildMode::Lite,
            },
        );
        for warning in &compiled.warnings {
            self.note(format!("warning: {warning}"));
        }
        if args.print_graph {
            println!("{}", serde_json::to_string_pretty(&compiled.definition)?);
            return Ok(None);
        }
        let Some(name) = args.tag.clone() else {
            bail!("--tag is required to build an image");
        };
        let graph = &compiled.definition.graph;
        platforms::check_foreign_run(graph, platform)?;
        let base = self.base_digests(graph)?;
        let worker = Arc::new(self.worker(platform, context)?);
        let solver = Solver::new(
            worker.clone(),
            self.progress.clone(),
            SolveOptions {
                no_cache: args.no_cache,
                max_parallel: args.jobs,
            },
        );
        let solved = self.runtime.block_on(solver.solve(graph))?;
        if let Err(e) = worker.checksums.save() {
            self.note(format!("warning: cannot save the checksum cache: {e}"));
        }
        let sde = source_date_epoch()?;
        let exported = export(
            &self.store,
            graph,
            &compiled.definition.image,
            &solved,
            &ExportOptions {
                name: name.clone(),
                annotations: parse_pairs("--annotation", &args.annotations)
                    .map_err(anyhow::Error::msg)?,
                source_date_epoch: sde,
                sealer_version: env!("CARGO_PKG_VERSION").to_string(),
                container_images: json_extra(&solved.extra, EXTRA_CONTAINER_IMAGES),
                tag,
            },
        )?;
        self.note(format!(
            "built {name} for {platform}: {} ({} steps ran, {} cached)",
            exported.manifest_digest,
            solved.executed.len(),
            graph.vertices.len() - solved.executed.len()
        ));
        let explain_tag = format!("{name}@{platform}");
        if args.explain_cache {
            for line in crate::explain::explain(&self.store, &explain_tag, graph, &solved) {
                self.note(format!("explain: {line}"));
            }
        }
        if let Err(e) = crate::explain::record(&self.store, &explain_tag, graph, &solved) {
            self.note(format!(
                "warning: cannot record cache keys for --explain-cache: {e}"
            ));
        }
        self.export_cache(&worker, graph, &solved)?;
        if let Some(path) = &args.report {
            let report = solved
                .extras
                .values()
                .find_map(|e| e.get(EXTRA_REPORT).cloned())
                .unwrap_or_else(|| r#"{"images":[],"unresolved":[]}"#.to_string());
            std::fs::write(path, report)
                .with_context(|| format!("cannot write report {}", path.display()))?;
        }
        Ok(Some(Built {
            platform: platform.clone(),
            manifest_digest: exported.manifest_digest,
            manifest_size: exported.manifest.len() as u64,
            base,
            images: json_extra(&solved.extra, EXTRA_RESOLVED_IMAGES),
        }))
    }

    /// `FROM` references and the manifest digests they resolve to; with `--locked`, they must
    /// match the lockfile.
    fn base_digests(
        &self,
        graph: &sealer_solver::graph::Definition,
    ) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for (_, v) in &graph.vertices {
            if let Op::Image { reference, .. } = &v.op {
                let Some(desc) = self.store.resolve(reference)? else {
                    continue;
                };
                let digest = desc.digest().to_string();
                if let Some(pinned) = self.lock.as_ref().and_then(|l| l.base.get(reference))
                    && pinned != &digest
                {
                    bail!(
                        "--locked: base image {reference} is {digest} here but Kubefile.lock pins {pinned}"
                    );
                }
                out.insert(reference.clone(), digest);
            }
        }
        Ok(out)
    }

    fn worker(&self, platform: &Platform, context: LocalContext) -> Result<Worker> {
        let args = self.args;
        let sandbox: Arc<dyn Sandbox> = self.bwrap.clone();
        let compression = match args.compression {
            LayerCompression::Zstd => Compression::Zstd { level: 3 },
            LayerCompression::Gzip => Compression::Gzip { level: 6 },
        };
        let checksums = ChecksumCache::load(&checksum_cache_path(&self.store, context.root()));
        let pins = self.lock.as_ref().map(|l| {
            l.images
                .get(&platform.to_string())
                .cloned()
                .unwrap_or_default()
        });
        Ok(Worker::new(
            self.store.clone(),
            crate::snapshots::pick(&self.store)?,
            sandbox,
            Arc::new(crate::fetch::HttpFetcher::default()),
            context,
            checksums,
            compression,
            TarOptions {
                source_date_epoch: source_date_epoch()?,
            },
        )
        .with_embedder(Arc::new(RegistryEmbedder {
            client: self.client.clone(),
            handle: self.runtime.handle().clone(),
            pins,
        }))
        .with_imported_opt(self.imported.clone())
        .with_observer(Arc::new(ClusterObserver {
            factory: cluster_factory(&args.cluster)?,
            handle: self.runtime.handle().clone(),
            options: ObserveOptions {
                observe_timeout: std::time::Duration::from_secs(args.observe_timeout),
                unlaunched_apps: true,
            },
            bwrap: self.bwrap.clone(),
            helm: sealer_solver::sandbox::which("helm"),
        })))
    }

    fn export_cache(
        &self,
        worker: &Worker,
        graph: &sealer_solver::graph::Definition,
        solved: &sealer_solver::Solved,
    ) -> Result<()> {
        let cache_to = self
            .args
            .cache_to
            .iter()
            .map(|s| crate::cache_io::parse_spec(s, true))
            .collect::<Result<Vec<_>>>()?;
        if cache_to.is_empty() {
            return Ok(());
        }
        let mut records = BTreeMap::new();
        for key in worker.touched_keys() {
            if let Some(r) = self.store.cache_record(&key)? {
                records.insert(key, r);
            }
        }
        let output_key = graph
            .output
            .as_ref()
            .and_then(|o| solved.keys.get(o))
            .cloned()
            .unwrap_or_default();
        crate::cache_io::export(&cache_to, &self.client, &self.store, &records, &output_key)
    }
}

/// A JSON value stored in a step's extra metadata, or the type's default.
fn json_extra<T: serde::de::DeserializeOwned + Default>(
    extra: &BTreeMap<String, String>,
    key: &str,
) -> T {
    extra
        .get(key)
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}
