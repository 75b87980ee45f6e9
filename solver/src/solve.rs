//! The scheduler: keys for every vertex first (content checksums in parallel), then only the
//! vertices the output needs and the cache lacks run, each as soon as its inputs are ready.
//!
//! Lazy like BuildKit: when the output's key hits, no intermediate result is loaded at all.
//! A per-key file lock makes identical work requested by two processes run once.

use crate::graph::{Definition, GraphError, Location, Vertex, VertexDigest};
use crate::keys::{KeyParts, cache_key};
use crate::progress::{Event, ProgressSink};
use crate::worker::{Chain, StepError, StepResult, Worker};
use sealer_image_cache::{CacheRecord, StoreError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

#[derive(Debug, thiserror::Error)]
pub enum SolveError {
    #[error("{}{name}: {error}", location_prefix(.location))]
    Step {
        name: String,
        location: Option<Location>,
        /// Shown in the message itself (not as a `source`), so reports do not repeat it.
        error: Box<StepError>,
    },
    #[error("invalid build graph: {0}")]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a build step panicked or was cancelled: {0}")]
    Join(String),
    #[error("cannot read the build cache: {0}")]
    Cache(Box<StepError>),
}

fn location_prefix(location: &Option<Location>) -> String {
    location
        .as_ref()
        .map(|l| format!("{}:{}:{}: ", l.file, l.line, l.column))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Default)]
pub struct SolveOptions {
    /// Ignore existing cache records (still write new ones).
    pub no_cache: bool,
    /// How many steps may execute at once.
    pub max_parallel: usize,
}

/// What a solve produced.
#[derive(Debug, Clone)]
pub struct Solved {
    pub chain: Chain,
    /// Metadata of the output step (see [`StepResult::extra`]).
    pub extra: BTreeMap<String, String>,
    pub keys: BTreeMap<VertexDigest, String>,
    pub key_parts: BTreeMap<VertexDigest, KeyParts>,
    /// Vertices that ran, in completion order.
    pub executed: Vec<VertexDigest>,
    pub cached: Vec<VertexDigest>,
    /// Chain length of each vertex's result, where known (from a result or a cache record).
    pub layer_counts: BTreeMap<VertexDigest, usize>,
    /// Metadata of every vertex whose result or record is known.
    pub extras: BTreeMap<VertexDigest, BTreeMap<String, String>>,
}

pub struct Solver {
    worker: Arc<Worker>,
    progress: Arc<dyn ProgressSink>,
    options: SolveOptions,
}

impl Solver {
    pub fn new(
        worker: Arc<Worker>,
        progress: Arc<dyn ProgressSink>,
        options: SolveOptions,
    ) -> Self {
        Solver {
            worker,
            progress,
            options,
        }
    }

    pub async fn solve(&self, def: &Definition) -> Result<Solved, SolveError> {
        def.validate()?;
        let output = def.output.clone().ok_or(GraphError::NoOutput)?;
        for (step, (digest, _)) in def.vertices.iter().enumerate() {
            self.progress.event(Event::Planned {
                vertex: digest.clone(),
                step: step + 1,
                name: def.name(digest),
            });
        }
        let key_parts = self.compute_keys(def).await?;
        let keys: BTreeMap<VertexDigest, String> = key_parts
            .iter()
            .map(|(d, p)| {
                let v = def.vertex(d).map(|v| &v.op);
                let key = v
                    .map(|op| cache_key(op, &p.inputs, p.content.as_deref(), &p.output))
                    .unwrap_or_default();
                (d.clone(), key)
            })
            .collect();

        // Walk back from the output: a hit stops the walk (its inputs are not needed).
        let mut results: HashMap<VertexDigest, StepResult> = HashMap::new();
        let mut to_run: HashSet<VertexDigest> = HashSet::new();
        let mut cached = Vec::new();
        let mut stack = vec![output.clone()];
        while let Some(d) = stack.pop() {
            if results.contains_key(&d) || to_run.contains(&d) {
                continue;
            }
            if let Some(hit) = self.lookup(&keys[&d])? {
                results.insert(d.clone(), hit);
                cached.push(d.clone());
                continue;
            }
            to_run.insert(d.clone());
            if let Some(v) = def.vertex(&d) {
                stack.extend(v.inputs.iter().cloned());
            }
        }
        // Vertices neither needed nor run were made unnecessary by a later hit: report them
        // as cached too, so an unchanged rebuild shows every step CACHED.
        for (d, _) in &def.vertices {
            if !to_run.contains(d) {
                self.progress.event(Event::Cached {
                    vertex: d.clone(),
                    key: keys[d].clone(),
                });
            }
        }
        let executed = self.run_pending(def, &keys, &mut results, to_run).await?;
        let mut layer_counts = BTreeMap::new();
        let mut extras = BTreeMap::new();
        for (d, _) in &def.vertices {
            let known = match results.get(d) {
                Some(result) => Some((result.chain.len(), result.extra.clone())),
                None => self
                    .worker
                    .record_meta(&keys[d])
                    .map_err(|e| SolveError::Cache(Box::new(e)))?
                    .map(|r| (r.layers.len(), r.extra)),
            };
            if let Some((n, extra)) = known {
                layer_counts.insert(d.clone(), n);
                if !extra.is_empty() {
                    extras.insert(d.clone(), extra);
                }
            }
        }
        let output = results.remove(&output).unwrap_or_default();
        Ok(Solved {
            chain: output.chain,
            extra: output.extra,
            keys,
            key_parts,
            executed,
            cached,
            layer_counts,
            extras,
        })
    }

    /// Keys in graph order. Content checksums run a few at a time, earliest steps first, so
    /// keys become known one after another; each newly known key that hits a shared cache
    /// starts fetching its blobs while later steps are still being hashed.
    async fn compute_keys(
        &self,
        def: &Definition,
    ) -> Result<BTreeMap<VertexDigest, KeyParts>, SolveError> {
        let width = std::thread::available_parallelism().map_or(2, |n| n.get());
        let prefetch = !self.options.no_cache && self.worker.imported.is_some();
        let output_settings = self.worker.output_settings();
        let mut checks = JoinSet::new();
        let mut content = HashMap::new();
        let mut parts: BTreeMap<VertexDigest, KeyParts> = BTreeMap::new();
        let mut keys: HashMap<VertexDigest, String> = HashMap::new();
        let (mut started, mut keyed) = (0, 0);
        loop {
            while checks.len() < width
                && let Some((digest, vertex)) = def.vertices.get(started)
            {
                let worker = self.worker.clone();
                let (digest, op) = (digest.clone(), vertex.op.clone());
                checks.spawn_blocking(move || (digest, worker.content_checksum(&op)));
                started += 1;
            }
            // Vertices are in topological order: key every prefix whose content is known.
            while let Some((digest, vertex)) = def.vertices.get(keyed)
                && let Some(sum) = content.remove(digest)
            {
                let inputs: Vec<String> = vertex.inputs.iter().map(|i| keys[i].clone()).collect();
                let p = KeyParts {
                    op_digest: digest.0.clone(),
                    inputs,
                    content: sum,
                    output: output_settings.clone(),
                };
                let key = cache_key(&vertex.op, &p.inputs, p.content.as_deref(), &p.output);
                if prefetch {
                    self.worker.prefetch(&key);
                }
                keys.insert(digest.clone(), key);
                parts.insert(digest.clone(), p);
                keyed += 1;
            }
            let Some(joined) = checks.join_next().await else {
                break;
            };
            let (digest, result) = joined.map_err(|e| SolveError::Join(e.to_string()))?;
            let sum = result.map_err(|e| step_error(def, &digest, e))?;
            content.insert(digest, sum);
        }
        Ok(parts)
    }

    /// A cache record whose blobs are all present (or fetched from a shared cache).
    fn lookup(&self, key: &str) -> Result<Option<StepResult>, SolveError> {
        if self.options.no_cache {
            return Ok(None);
        }
        let worker = self.worker.clone();
        let key = key.to_string();
        // May fetch blobs from a shared cache: blocking work, off the async worker.
        let record = tokio::task::block_in_place(|| worker.cached_record(&key))
            .map_err(|e| SolveError::Cache(Box::new(e)))?;
        Ok(record.map(|record| StepResult {
            chain: record.layers,
            extra: record.extra,
        }))
    }

    async fn run_pending(
        &self,
        def: &Definition,
        keys: &BTreeMap<VertexDigest, String>,
        results: &mut HashMap<VertexDigest, StepResult>,
        mut pending: HashSet<VertexDigest>,
    ) -> Result<Vec<VertexDigest>, SolveError> {
        let limit = self.options.max_parallel.max(1);
        let mut running: JoinSet<StepOutcome> = JoinSet::new();
        let mut executed = Vec::new();
        let mut in_flight = HashSet::new();
        loop {
            // Start every pending vertex whose inputs are ready, up to the limit.
            for (digest, vertex) in &def.vertices {
                if running.len() >= limit {
                    break;
                }
                if !pending.contains(digest) || in_flight.contains(digest) {
                    continue;
                }
                if !vertex.inputs.iter().all(|i| results.contains_key(i)) {
                    continue;
                }
                let inputs: Vec<StepResult> =
                    vertex.inputs.iter().map(|i| results[i].clone()).collect();
                in_flight.insert(digest.clone());
                self.spawn_step(&mut running, digest, vertex, inputs, keys[digest].clone());
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let (digest, result) = joined.map_err(|e| SolveError::Join(e.to_string()))?;
            match result {
                Ok((chain, ran)) => {
                    pending.remove(&digest);
                    in_flight.remove(&digest);
                    results.insert(digest.clone(), chain);
                    if ran {
                        executed.push(digest);
                    }
                }
                Err(e) => {
                    self.progress.event(Event::Failed {
                        vertex: digest.clone(),
                        error: e.to_string(),
                    });
                    running.abort_all();
                    return Err(step_error(def, &digest, e));
                }
            }
        }
        Ok(executed)
    }

    fn spawn_step(
        &self,
        running: &mut JoinSet<StepOutcome>,
        digest: &VertexDigest,
        vertex: &Vertex,
        inputs: Vec<StepResult>,
        key: String,
    ) {
        let worker = self.worker.clone();
        let progress = self.progress.clone();
        let digest = digest.clone();
        let op = vertex.op.clone();
        let no_cache = self.options.no_cache;
        running.spawn_blocking(move || {
            let started = Instant::now();
            // Another process may be building the same key: wait for it, then reuse.
            let _guard = lock_key(worker.store.root(), &key);
            if !no_cache && let Ok(Some(record)) = worker.cached_record(&key) {
                progress.event(Event::Cached {
                    vertex: digest.clone(),
                    key,
                });
                let hit = StepResult {
                    chain: record.layers,
                    extra: record.extra,
                };
                return (digest, Ok((hit, false)));
            }
            progress.event(Event::Started {
                vertex: digest.clone(),
            });
            let mut log = |stream, line| {
                progress.event(Event::Log {
                    vertex: digest.clone(),
                    stream,
                    line,
                })
            };
            let result = worker.execute(&op, &inputs, &mut log).and_then(|result| {
                let record = CacheRecord {
                    layers: result.chain.clone(),
                    created_by: op.kind().to_string(),
                    extra: result.extra.clone(),
                };
                worker.store.put_cache_record(&key, &record)?;
                worker.touch(&key);
                Ok((result, true))
            });
            if result.is_ok() {
                progress.event(Event::Completed {
                    vertex: digest.clone(),
                    duration: started.elapsed(),
                });
            }
            (digest, result)
        });
    }
}

/// A finished step: its chain, and whether it ran here (false: another process built it).
type StepOutcome = (VertexDigest, Result<(StepResult, bool), StepError>);

/// Exclusive per-key lock file; held while a step runs so two processes never build the same
/// key at once. Best effort: without it the work is merely duplicated, never corrupted.
fn lock_key(root: &std::path::Path, key: &str) -> Option<std::fs::File> {
    let dir = root.join("cache").join("locks");
    std::fs::create_dir_all(&dir).ok()?;
    let hex = key.strip_prefix("sha256:").unwrap_or(key);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("{hex}.lock")))
        .ok()?;
    file.lock().ok()?;
    Some(file)
}

fn step_error(def: &Definition, digest: &VertexDigest, e: StepError) -> SolveError {
    let info = def.info.get(digest);
    SolveError::Step {
        name: def.name(digest),
        location: info.and_then(|i| i.location.clone()),
        error: Box::new(e),
    }
}
