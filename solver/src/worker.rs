//! Executes single ops: content checksums for keys, and COPY/ADD/RUN/FROM results as layers.

use crate::checksum::{ChecksumCache, source_checksum};
use crate::context::{ContextPathError, LocalContext};
use crate::copy_plan::{CopyPlanError, plan_copy};
use crate::fetch::{FetchError, UrlFetcher};
use crate::graph::{CopyOp, CopySource, Op, RunOp};
use crate::progress::Stream;
use crate::sandbox::{RunSpec, Sandbox, SandboxError};
use sealer_image_cache::{LayerRef, Store, StoreError};
use sealer_snapshotter::{
    Compression, CopyDiff, DiffSource, LayerBlobRef, SnapshotError, Snapshotter, TarOptions,
    write_layer,
};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What a filesystem vertex resolves to: the layer chain of its root filesystem.
pub type Chain = Vec<LayerRef>;

/// A step's result: its root filesystem and metadata for later steps and the exporter
/// (e.g. `container_images`), persisted in the cache record's `extra`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepResult {
    pub chain: Chain,
    pub extra: BTreeMap<String, String>,
}

impl StepResult {
    pub fn of(chain: Chain) -> StepResult {
        StepResult {
            chain,
            extra: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Context(#[from] ContextPathError),
    #[error(transparent)]
    CopyPlan(#[from] CopyPlanError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "base image {reference:?} is not in the local store; pull it first (sealer pull {reference}) or build it"
    )]
    BaseImageMissing { reference: String },
    #[error("cannot embed image {reference}: {message}")]
    Embed { reference: String, message: String },
    #[error("this build has no registry client to embed container images with")]
    NoEmbedder,
    #[error("{message}")]
    Observe { message: String },
    #[error("this build has no cluster to observe the launch with")]
    NoObserver,
    #[error("base image {reference:?}: {message}")]
    BaseImage { reference: String, message: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Everything a step needs from the outside world.
pub struct Worker {
    pub store: Arc<Store>,
    pub snapshotter: Arc<dyn Snapshotter>,
    pub sandbox: Arc<dyn Sandbox>,
    pub fetcher: Arc<dyn UrlFetcher>,
    pub context: LocalContext,
    pub checksums: ChecksumCache,
    pub compression: Compression,
    pub tar: TarOptions,
    /// Fetches container images for embed steps.
    pub embedder: Option<Arc<dyn crate::embed::ImageEmbedder>>,
    /// Runs observe steps against a cluster.
    pub observer: Option<Arc<dyn crate::observe::Observer>>,
    /// Records from `--cache-from`.
    pub imported: Option<Arc<crate::import::ImportedCache>>,
    /// Keys hit or written by this build.
    pub(crate) touched: Mutex<std::collections::BTreeSet<String>>,
    /// URL downloads made while computing keys, reused by execution.
    downloads: Mutex<HashMap<String, PathBuf>>,
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<Store>,
        snapshotter: Arc<dyn Snapshotter>,
        sandbox: Arc<dyn Sandbox>,
        fetcher: Arc<dyn UrlFetcher>,
        context: LocalContext,
        checksums: ChecksumCache,
        compression: Compression,
        tar: TarOptions,
    ) -> Worker {
        Worker {
            store,
            snapshotter,
            sandbox,
            fetcher,
            context,
            checksums,
            compression,
            tar,
            embedder: None,
            observer: None,
            imported: None,
            touched: Mutex::new(Default::default()),
            downloads: Mutex::new(HashMap::new()),
        }
    }

    /// Give embed steps a registry client.
    pub fn with_embedder(mut self, embedder: Arc<dyn crate::embed::ImageEmbedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// Give observe steps a cluster.
    pub fn with_observer(mut self, observer: Arc<dyn crate::observe::Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Like [`Worker::with_imported`], when there is anything to import.
    pub fn with_imported_opt(self, imported: Option<Arc<crate::import::ImportedCache>>) -> Self {
        match imported {
            Some(i) => self.with_imported(i),
            None => self,
        }
    }

    /// Use records (and lazily their blobs) from shared caches.
    pub fn with_imported(mut self, imported: Arc<crate::import::ImportedCache>) -> Self {
        self.imported = Some(imported);
        self
    }

    /// A scratch directory inside the store (same filesystem), removed on drop.
    pub(crate) fn scratch_dir(&self) -> Result<tempfile::TempDir, StepError> {
        let dir = self.store.root().join("tmp");
        tempfile::tempdir_in(&dir).map_err(|source| StepError::Io { path: dir, source })
    }

    /// The settings that change produced bytes; part of every key.
    pub fn output_settings(&self) -> String {
        format!(
            "{}|sde={}",
            self.compression.media_type(),
            self.tar.source_date_epoch
        )
    }

    /// Checksum of the content an op reads (None for ops that read nothing).
    pub fn content_checksum(&self, op: &Op) -> Result<Option<String>, StepError> {
        match op {
            Op::Scratch | Op::Run(_) | Op::EmbedImages(_) | Op::Observe(_) => Ok(None),
            Op::Image {
                reference,
                platform,
            } => Ok(Some(self.resolve_base(reference, platform)?.0)),
            Op::Copy(copy) => self.copy_checksum(copy).map(Some),
        }
    }

    fn copy_checksum(&self, copy: &CopyOp) -> Result<String, StepError> {
        let mut parts = Vec::new();
        for source in &copy.sources {
            match source {
                CopySource::Context { path } => {
                    for rel in self.context.expand(path)? {
                        let host = self.context.resolve(&rel)?;
                        let sum = source_checksum(&self.checksums, &host)
                            .map_err(|source| StepError::Io { path: host, source })?;
                        parts.push(format!("{rel}={sum}"));
                    }
                }
                CopySource::Url { url } => {
                    let path = self.download(url)?;
                    let sum = crate::checksum::hash_file(&path)
                        .map_err(|source| StepError::Io { path, source })?;
                    parts.push(format!("{url}={sum}"));
                }
            }
        }
        Ok(parts.join("\n"))
    }

    fn download(&self, url: &str) -> Result<PathBuf, StepError> {
        if let Some(p) = self.downloads.lock().ok().and_then(|d| d.get(url).cloned()) {
            return Ok(p);
        }
        let dir = self.store.root().join("tmp");
        let path = self.fetcher.fetch(url, &dir)?;
        if let Ok(mut d) = self.downloads.lock() {
            d.insert(url.to_string(), path.clone());
        }
        Ok(path)
    }

    /// Resolve a base image in the store: (manifest digest, layer chain).
    pub fn resolve_base(
        &self,
        reference: &str,
        platform: &crate::graph::Platform,
    ) -> Result<(String, Chain), StepError> {
        let top = self
            .store
            .resolve(reference)?
            .ok_or_else(|| StepError::BaseImageMissing {
                reference: reference.to_string(),
            })?;
        let desc = self.store.platform_manifest(&top, platform)?;
        let (manifest, _) = self.store.manifest(&desc)?;
        let config_bytes = self.store.read_blob(manifest.config().digest(), 8 << 20)?;
        let config: serde_json::Value =
            serde_json::from_slice(&config_bytes).map_err(|e| StepError::BaseImage {
                reference: reference.to_string(),
                message: format!("config is not JSON: {e}"),
            })?;
        let diff_ids: Vec<String> = config["rootfs"]["diff_ids"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if diff_ids.len() != manifest.layers().len() {
            return Err(StepError::BaseImage {
                reference: reference.to_string(),
                message: "config diff_ids and manifest layers disagree".to_string(),
            });
        }
        let chain = manifest
            .layers()
            .iter()
            .zip(diff_ids)
            .map(|(l, diff_id)| LayerRef {
                media_type: l.media_type().to_string(),
                digest: l.digest().to_string(),
                size: l.size(),
                diff_id,
            })
            .collect();
        Ok((desc.digest().to_string(), chain))
    }

    /// Run one op on its input chain and return the resulting chain.
    pub fn execute(
        &self,
        op: &Op,
        inputs: &[StepResult],
        log: &mut dyn FnMut(Stream, String),
    ) -> Result<StepResult, StepError> {
        let parent = inputs.first().map(|r| r.chain.clone()).unwrap_or_default();
        match op {
            Op::Scratch => Ok(StepResult::default()),
            Op::Image {
                reference,
                platform,
            } => Ok(StepResult::of(self.resolve_base(reference, platform)?.1)),
            Op::Copy(copy) => {
                let mut chain = parent;
                if let Some(layer) = self.exec_copy(copy, &chain)? {
                    chain.push(layer);
                }
                Ok(StepResult::of(chain))
            }
            Op::Run(run) => {
                let mut chain = parent;
                if let Some(layer) = self.exec_run(run, &chain, log)? {
                    chain.push(layer);
                }
                Ok(StepResult::of(chain))
            }
            Op::EmbedImages(embed) => self.exec_embed(embed, inputs, log),
            Op::Observe(observe) => self.exec_observe(observe, inputs, log),
        }
    }

    fn exec_copy(&self, copy: &CopyOp, parent: &Chain) -> Result<Option<LayerRef>, StepError> {
        let scratch = self.scratch_dir()?;
        let mut urls = HashMap::new();
        for s in &copy.sources {
            if let CopySource::Url { url } = s {
                urls.insert(url.clone(), self.download(url)?);
            }
        }
        let parent_blobs = self.blob_refs(parent);
        let entries = plan_copy(copy, &self.context, &urls, &parent_blobs, scratch.path())?;
        let diff = CopyDiff::new(entries);
        self.write(&diff)
    }

    fn exec_run(
        &self,
        run: &RunOp,
        parent: &Chain,
        log: &mut dyn FnMut(Stream, String),
    ) -> Result<Option<LayerRef>, StepError> {
        let active = self.snapshotter.prepare(&self.blob_refs(parent))?;
        let spec = RunSpec {
            args: run.args.clone(),
            env: run.env.clone(),
            rootfs: active.rootfs().to_path_buf(),
            network: run.network,
        };
        let result = self.sandbox.run(&spec, log);
        let layer = match result {
            Ok(()) => {
                let diff = active.diff()?;
                self.write(diff.as_ref())
            }
            Err(e) => Err(e.into()),
        };
        active.release()?;
        layer
    }

    /// Turn chain entries into the blob files the snapshotter reads.
    pub fn blob_refs(&self, chain: &Chain) -> Vec<LayerBlobRef> {
        chain
            .iter()
            .map(|l| LayerBlobRef {
                diff_id: l.diff_id.clone(),
                media_type: l.media_type.clone(),
                path: self
                    .store
                    .root()
                    .join("blobs")
                    .join(l.digest.replacen(':', "/", 1)),
            })
            .collect()
    }

    pub(crate) fn write(&self, diff: &dyn DiffSource) -> Result<Option<LayerRef>, StepError> {
        self.write_with(diff, self.compression)
    }

    /// Write a layer with an explicit compression (embedded images are already compressed).
    pub(crate) fn write_with(
        &self,
        diff: &dyn DiffSource,
        compression: Compression,
    ) -> Result<Option<LayerRef>, StepError> {
        let writer = self.store.blob_writer()?;
        let (stats, writer) = write_layer(diff, compression, &self.tar, writer)?;
        if stats.entries == 0 {
            return Ok(None);
        }
        let (digest, size) = writer.finish(None)?;
        Ok(Some(LayerRef {
            media_type: compression.media_type().to_string(),
            digest: digest.to_string(),
            size,
            diff_id: stats.diff_id,
        }))
    }
}
