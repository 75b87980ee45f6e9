//! `sealer build`: Kubefile → graph → solve → export, with the store leased throughout.

use crate::adapters::{DiskContext, StoreResolver};
use crate::args::{BuildArgs, BuildMode, LayerCompression, parse_pairs};
use crate::observe::ClusterObserver;
use crate::progress::renderer;
use crate::registry::{RegistryEmbedder, RegistryOptions};
use anyhow::{Context, Result, bail};
use sealer_build_cluster::cluster::{ClusterFactory, EmbeddedFactory, KubeconfigFactory};
use sealer_build_cluster::launch::ObserveOptions;
use sealer_frontend::{CompileOptions, compile};
use sealer_image_cache::Store;
use sealer_image_cache::sealer_meta::{ImageType, Platform};
use sealer_snapshotter::{Compression, TarOptions};
use sealer_solver::checksum::ChecksumCache;
use sealer_solver::context::LocalContext;
use sealer_solver::embed::{EXTRA_CONTAINER_IMAGES, EmbedOp, parse_image_list};
use sealer_solver::export::{ExportOptions, export};
use sealer_solver::graph::{Op, Vertex, VertexInfo};
use sealer_solver::observe::{EXTRA_REPORT, ObserveOp};
use sealer_solver::progress::{Event, ProgressSink};
use sealer_solver::sandbox::{Bubblewrap, Sandbox, Unsandboxed};
use sealer_solver::spec::BuildDefinition;
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

pub fn run(root: &Path, registry: &RegistryOptions, args: BuildArgs) -> Result<()> {
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let client = registry.client()?;
    let cache_to = args
        .cache_to
        .iter()
        .map(|s| crate::cache_io::parse_spec(s, true))
        .collect::<Result<Vec<_>>>()?;
    let cache_from = args
        .cache_from
        .iter()
        .map(|s| crate::cache_io::parse_spec(s, false))
        .collect::<Result<Vec<_>>>()?;
    let images = read_lists(&args.image_lists)?;
    let ignored = read_lists(&args.ignored_image_lists)?;
    let options = CompileOptions {
        file_name: kubefile.display().to_string(),
        build_args,
        platform,
        image_type,
        labels,
    };
    let resolver = StoreResolver {
        store: &store,
        puller: Some((&client, &runtime)),
    };
    let mut compiled =
        compile(&source, &options, &DiskContext(&context), &resolver).map_err(KubefileError)?;
    let list_texts = read_list_texts(&args.image_lists)?;
    let backend = observe_backend(&args.cluster)?;
    add_launch_steps(
        &mut compiled.definition,
        LaunchSteps {
            images,
            ignored,
            list_texts,
            backend,
            include_indirect: !args.no_indirect_images,
            lite: args.build_mode == BuildMode::Lite,
        },
    );
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
    let imported = crate::cache_io::import(&cache_from, &client).map(Arc::new);
    let worker_client = client.clone();
    let embedder = Arc::new(RegistryEmbedder {
        client,
        handle: runtime.handle().clone(),
    });
    let worker = Arc::new(
        Worker::new(
            store.clone(),
            snapshotter,
            sandbox,
            Arc::new(crate::fetch::HttpFetcher::default()),
            context,
            checksums,
            compression,
            TarOptions { source_date_epoch },
        )
        .with_embedder(embedder)
        .with_imported_opt(imported)
        .with_observer(Arc::new(ClusterObserver {
            factory: cluster_factory(&args.cluster)?,
            handle: runtime.handle().clone(),
            options: ObserveOptions {
                observe_timeout: std::time::Duration::from_secs(args.observe_timeout),
                unlaunched_apps: true,
            },
            bwrap: sealer_solver::sandbox::which("bwrap")
                .filter(|_| Bubblewrap::detect().is_some()),
            helm: sealer_solver::sandbox::which("helm"),
        })),
    );
    let solver = Solver::new(
        worker.clone(),
        progress.clone(),
        SolveOptions {
            no_cache: args.no_cache,
            max_parallel: args.jobs,
        },
    );
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
            container_images: solved
                .extra
                .get(EXTRA_CONTAINER_IMAGES)
                .and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or_default(),
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
    if args.explain_cache {
        for line in crate::explain::explain(&store, &name, &compiled.definition.graph, &solved) {
            progress.event(Event::Note {
                message: format!("explain: {line}"),
            });
        }
    }
    if let Err(e) = crate::explain::record(&store, &name, &compiled.definition.graph, &solved) {
        progress.event(Event::Note {
            message: format!("warning: cannot record cache keys for --explain-cache: {e}"),
        });
    }
    if !cache_to.is_empty() {
        let mut records = std::collections::BTreeMap::new();
        for key in worker.touched_keys() {
            if let Some(r) = store.cache_record(&key)? {
                records.insert(key, r);
            }
        }
        let output_key = compiled
            .definition
            .graph
            .output
            .as_ref()
            .and_then(|o| solved.keys.get(o))
            .cloned()
            .unwrap_or_default();
        crate::cache_io::export(&cache_to, &worker_client, &store, &records, &output_key)?;
    }
    if let Some(path) = &args.report {
        let report = solved
            .extras
            .values()
            .find_map(|e| e.get(EXTRA_REPORT).cloned())
            .unwrap_or_else(|| r#"{"images":[],"unresolved":[]}"#.to_string());
        std::fs::write(path, report)
            .with_context(|| format!("cannot write report {}", path.display()))?;
    }
    println!("{}", exported.manifest_digest);
    Ok(())
}

/// What follows the filesystem steps.
struct LaunchSteps {
    images: Vec<String>,
    ignored: Vec<String>,
    list_texts: Vec<String>,
    backend: Option<String>,
    include_indirect: bool,
    lite: bool,
}

/// Append the observe step (when the image launches anything and a cluster is configured)
/// and the step that embeds container images.
fn add_launch_steps(def: &mut BuildDefinition, steps: LaunchSteps) {
    let graph = &mut def.graph;
    let Some(fs) = graph.output.clone() else {
        return;
    };
    let ext = &def.image.extension;
    let launches = !ext.launch.cmds.is_empty() || !ext.applications.is_empty();
    let mut inputs = vec![fs.clone()];
    if let (true, Some(backend)) = (launches, steps.backend) {
        let observe = graph.add(
            Vertex {
                op: Op::Observe(ObserveOp {
                    extension: serde_json::to_string(ext).unwrap_or_default(),
                    backend,
                    include_indirect: steps.include_indirect,
                    unlaunched_apps: true,
                    image_lists: steps.list_texts,
                }),
                inputs: vec![fs],
            },
            VertexInfo {
                name: "observe launch on a build cluster".to_string(),
                location: None,
            },
        );
        inputs.push(observe);
    }
    let name = if steps.lite {
        "list container images (lite)"
    } else {
        "embed container images"
    };
    let embed = graph.add(
        Vertex {
            op: Op::EmbedImages(EmbedOp {
                images: steps.images,
                ignored: steps.ignored,
                platform: def.image.platform.clone(),
                scan_image_lists: true,
                lite: steps.lite,
            }),
            inputs,
        },
        VertexInfo {
            name: name.to_string(),
            location: None,
        },
    );
    graph.output = Some(embed);
}

/// The `--cluster` value as it enters cache keys: a kubeconfig by content digest.
fn observe_backend(cluster: &str) -> Result<Option<String>> {
    match cluster {
        "none" => Ok(None),
        "embedded" => Ok(Some("embedded".into())),
        other => {
            let path = other.strip_prefix("kubeconfig=").ok_or_else(|| {
                anyhow::anyhow!("--cluster {other:?}: expected embedded, none or kubeconfig=PATH")
            })?;
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read kubeconfig {path}"))?;
            Ok(Some(format!(
                "kubeconfig:sha256:{}",
                hex::encode(Sha256::digest(&bytes))
            )))
        }
    }
}

fn cluster_factory(cluster: &str) -> Result<Box<dyn ClusterFactory>> {
    Ok(match cluster.strip_prefix("kubeconfig=") {
        Some(path) => Box::new(KubeconfigFactory {
            kubeconfig: path.into(),
        }),
        None => Box::new(EmbeddedFactory {
            config: Default::default(),
        }),
    })
}

fn read_list_texts(files: &[std::path::PathBuf]) -> Result<Vec<String>> {
    files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read image list {}", f.display()))
        })
        .collect()
}

/// Image references from list files (one per line, `#` comments).
fn read_lists(files: &[std::path::PathBuf]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read image list {}", f.display()))?;
        out.extend(parse_image_list(&text));
    }
    Ok(out)
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
