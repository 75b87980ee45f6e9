//! `sealer build`: Kubefile → graph → solve → export, with the store leased throughout.

use crate::adapters::{DiskContext, StoreResolver};
use crate::args::{BuildArgs, LayerCompression, parse_pairs};
use crate::progress::renderer;
use anyhow::{Context, Result, bail};
use sealer_frontend::{CompileOptions, compile};
use sealer_image_cache::Store;
use sealer_image_cache::sealer_meta::{ImageType, Platform};
use sealer_snapshotter::{Compression, TarOptions};
use sealer_solver::checksum::ChecksumCache;
use sealer_solver::context::LocalContext;
use sealer_solver::export::{ExportOptions, export};
use sealer_solver::progress::{Event, ProgressSink};
use sealer_solver::sandbox::{Bubblewrap, Sandbox, Unsandboxed};
use sealer_solver::{SolveOptions, Solver, Worker};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// A Kubefile diagnostic, reported by main with miette's renderer.
#[derive(Debug)]
pub struct KubefileError(pub sealer_frontend::Diagnostic);

impl std::fmt::Display for KubefileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
impl std::error::Error for KubefileError {}

pub fn run(root: &Path, args: BuildArgs) -> Result<()> {
    let context_dir = &args.context;
    let context = LocalContext::new(context_dir).with_context(|| {
        format!(
            "build context {} is not a readable directory",
            context_dir.display()
        )
    })?;
    let kubefile = args
        .file
        .clone()
        .unwrap_or_else(|| context_dir.join("Kubefile"));
    let source = std::fs::read_to_string(&kubefile)
        .with_context(|| format!("cannot read Kubefile {}", kubefile.display()))?;
    let platform = match &args.platform {
        Some(p) => Platform::parse(p).map_err(anyhow::Error::msg)?,
        None => Platform::host(),
    };
    let image_type: ImageType = args.image_type.parse().map_err(anyhow::Error::msg)?;
    let build_args = parse_pairs("--build-arg", &args.build_args).map_err(anyhow::Error::msg)?;
    let labels = parse_pairs("--label", &args.labels).map_err(anyhow::Error::msg)?;
    let annotations = parse_pairs("--annotation", &args.annotations).map_err(anyhow::Error::msg)?;

    let store = Arc::new(
        Store::open(root).with_context(|| format!("cannot open store {}", root.display()))?,
    );
    let _lease = store.lease()?;
    let options = CompileOptions {
        file_name: kubefile.display().to_string(),
        build_args,
        platform,
        image_type,
        labels,
    };
    let compiled = compile(
        &source,
        &options,
        &DiskContext(&context),
        &StoreResolver(&store),
    )
    .map_err(KubefileError)?;
    let progress: Arc<dyn ProgressSink> = Arc::from(renderer(args.progress));
    for warning in &compiled.warnings {
        progress.event(Event::Note {
            message: format!("warning: {warning}"),
        });
    }
    if args.print_graph {
        println!("{}", serde_json::to_string_pretty(&compiled.definition)?);
        return Ok(());
    }
    let Some(name) = args.tag.clone() else {
        bail!("--tag is required to build an image");
    };

    let source_date_epoch = source_date_epoch()?;
    let compression = match args.compression {
        LayerCompression::Zstd => Compression::Zstd { level: 3 },
        LayerCompression::Gzip => Compression::Gzip { level: 6 },
    };
    let sandbox: Arc<dyn Sandbox> = match Bubblewrap::detect() {
        Some(b) => Arc::new(b),
        None => {
            progress.event(Event::Note {
                message: "warning: bubblewrap (bwrap) is not usable here; RUN steps execute unsandboxed on the host".into(),
            });
            Arc::new(Unsandboxed)
        }
    };
    let snapshotter = crate::snapshots::pick(&store)?;
    let checksums = ChecksumCache::load(&checksum_cache_path(&store, context.root()));
    let worker = Arc::new(Worker::new(
        store.clone(),
        snapshotter,
        sandbox,
        Arc::new(crate::fetch::HttpFetcher::default()),
        context,
        checksums,
        compression,
        TarOptions { source_date_epoch },
    ));
    let solver = Solver::new(
        worker.clone(),
        progress.clone(),
        SolveOptions {
            no_cache: args.no_cache,
            max_parallel: args.jobs,
        },
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let solved = runtime.block_on(solver.solve(&compiled.definition.graph))?;
    if let Err(e) = worker.checksums.save() {
        progress.event(Event::Note {
            message: format!("warning: cannot save the checksum cache: {e}"),
        });
    }
    let exported = export(
        &store,
        &compiled.definition.graph,
        &compiled.definition.image,
        &solved,
        &ExportOptions {
            name: name.clone(),
            annotations,
            source_date_epoch,
            sealer_version: env!("CARGO_PKG_VERSION").to_string(),
            container_images: Vec::new(),
        },
    )?;
    progress.event(Event::Note {
        message: format!(
            "built {name}: {} ({} steps ran, {} cached)",
            exported.manifest_digest,
            solved.executed.len(),
            compiled.definition.graph.vertices.len() - solved.executed.len()
        ),
    });
    println!("{}", exported.manifest_digest);
    Ok(())
}

/// `SOURCE_DATE_EPOCH` if set (must be an integer), else 0.
fn source_date_epoch() -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a whole number of seconds")),
        _ => Ok(0),
    }
}

/// One checksum cache file per context directory.
fn checksum_cache_path(store: &Store, context_root: &Path) -> std::path::PathBuf {
    let id = hex::encode(Sha256::digest(context_root.to_string_lossy().as_bytes()));
    store
        .root()
        .join("cache")
        .join("checksums")
        .join(format!("{}.json", &id[..32]))
}
