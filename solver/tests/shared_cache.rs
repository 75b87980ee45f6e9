//! A cold builder fed records from another builder's store (what `--cache-from` does):
//! nothing runs, every blob crosses once even though prefetch and lookups race for it, and
//! blobs that fail verification are never trusted.

use sealer_image_cache::Store;
use sealer_snapshotter::{Compression, CopySnapshotter, TarOptions};
use sealer_solver::checksum::ChecksumCache;
use sealer_solver::context::LocalContext;
use sealer_solver::fetch::FakeFetcher;
use sealer_solver::graph::{
    CopyOp, CopySource, Definition, Network, Op, RunOp, Vertex, VertexDigest, VertexInfo,
};
use sealer_solver::import::{BlobProvider, ImportedCache};
use sealer_solver::progress::{Event, RecordingProgress};
use sealer_solver::sandbox::FakeSandbox;
use sealer_solver::{SolveOptions, Solved, Solver, Worker};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex};

fn vertex(d: &mut Definition, op: Op, inputs: Vec<VertexDigest>, name: &str) -> VertexDigest {
    d.add(
        Vertex { op, inputs },
        VertexInfo {
            name: name.into(),
            location: None,
        },
    )
}

fn copy(src: &str) -> Op {
    Op::Copy(CopyOp {
        sources: vec![CopySource::Context { path: src.into() }],
        dest: "data/".into(),
        extract_archives: false,
    })
}

/// scratch → COPY a → COPY b → RUN → COPY c
fn graph() -> Definition {
    let mut d = Definition::default();
    let s = vertex(&mut d, Op::Scratch, vec![], "FROM scratch");
    let a = vertex(&mut d, copy("a.bin"), vec![s], "COPY a");
    let b = vertex(&mut d, copy("b.bin"), vec![a], "COPY b");
    let r = vertex(
        &mut d,
        Op::Run(RunOp {
            args: vec!["true".into()],
            env: vec![],
            network: Network::Host,
        }),
        vec![b],
        "RUN",
    );
    let c = vertex(&mut d, copy("c.bin"), vec![r], "COPY c");
    d.output = Some(c);
    d
}

struct Builder {
    _tmp: tempfile::TempDir,
    store: Arc<Store>,
    ctx: std::path::PathBuf,
    state: std::path::PathBuf,
    sandbox: Arc<FakeSandbox>,
}

/// A builder with its own store and its own copy of the same context.
fn builder() -> Builder {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    for (name, size) in [("a.bin", 300_000), ("b.bin", 200_000), ("c.bin", 100_000)] {
        let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(ctx.join(name), bytes).unwrap();
    }
    Builder {
        store: Arc::new(Store::open(&tmp.path().join("store")).unwrap()),
        state: tmp.path().join("snapshots"),
        ctx,
        _tmp: tmp,
        sandbox: Arc::new(FakeSandbox::default()),
    }
}

fn solve(b: &Builder, imported: Option<Arc<ImportedCache>>) -> (Solved, Arc<RecordingProgress>) {
    let worker = Worker::new(
        b.store.clone(),
        Arc::new(CopySnapshotter::new(&b.state).unwrap()),
        b.sandbox.clone(),
        Arc::new(FakeFetcher::default()),
        LocalContext::new(&b.ctx).unwrap(),
        ChecksumCache::in_memory(),
        Compression::Zstd { level: 3 },
        TarOptions {
            source_date_epoch: 0,
        },
    )
    .with_imported_opt(imported);
    let progress = Arc::new(RecordingProgress::default());
    let solver = Solver::new(
        Arc::new(worker),
        progress.clone(),
        SolveOptions {
            no_cache: false,
            max_parallel: 4,
        },
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    (rt.block_on(solver.solve(&graph())).unwrap(), progress)
}

/// Serves blobs out of another store, counting transfers; optionally corrupting them.
struct StoreBlobs {
    source: Arc<Store>,
    corrupt: bool,
    transfers: Mutex<HashMap<String, usize>>,
}

impl BlobProvider for StoreBlobs {
    fn fetch(&self, digest: &str, _size: u64, store: &Store) -> Result<bool, String> {
        *self
            .transfers
            .lock()
            .unwrap()
            .entry(digest.to_string())
            .or_default() += 1;
        let d = digest.parse().map_err(|e| format!("{e}"))?;
        let mut bytes = std::fs::read(self.source.blob_path(&d)).map_err(|e| e.to_string())?;
        if self.corrupt {
            bytes[0] ^= 0xff;
        }
        let mut w = store.blob_writer().map_err(|e| e.to_string())?;
        w.write_all(&bytes).map_err(|e| e.to_string())?;
        w.finish(Some(&d)).map_err(|e| e.to_string())?;
        Ok(true)
    }
    fn describe(&self) -> String {
        "another builder's store".into()
    }
}

/// Builder A's records, served from A's store.
fn shared_cache(a: &Builder, corrupt: bool) -> (Arc<ImportedCache>, Arc<StoreBlobs>) {
    let records: HashMap<_, _> = a
        .store
        .cache_keys()
        .unwrap()
        .into_iter()
        .map(|k| {
            let r = a.store.cache_record(&k).unwrap().unwrap();
            (k, r)
        })
        .collect();
    let blobs = Arc::new(StoreBlobs {
        source: a.store.clone(),
        corrupt,
        transfers: Mutex::new(HashMap::new()),
    });
    struct Shared(Arc<StoreBlobs>);
    impl BlobProvider for Shared {
        fn fetch(&self, digest: &str, size: u64, store: &Store) -> Result<bool, String> {
            self.0.fetch(digest, size, store)
        }
        fn describe(&self) -> String {
            self.0.describe()
        }
    }
    let imported = ImportedCache::new(records, vec![Box::new(Shared(blobs.clone()))]);
    (Arc::new(imported), blobs)
}

#[test]
fn cold_builder_runs_nothing_and_fetches_each_blob_once() {
    let a = builder();
    let (built, _) = solve(&a, None);
    assert_eq!(built.executed.len(), 5);
    assert_eq!(a.sandbox.runs.lock().unwrap().len(), 1);

    let b = builder();
    let (cache, blobs) = shared_cache(&a, false);
    let (solved, progress) = solve(&b, Some(cache));
    assert!(solved.executed.is_empty(), "{:?}", solved.executed);
    assert!(
        b.sandbox.runs.lock().unwrap().is_empty(),
        "RUN must not run"
    );
    assert!(
        !progress
            .events()
            .iter()
            .any(|e| matches!(e, Event::Started { .. }))
    );
    assert_eq!(solved.chain, built.chain, "same layers as builder A");
    let transfers = blobs.transfers.lock().unwrap().clone();
    let wanted: BTreeMap<String, usize> =
        built.chain.iter().map(|l| (l.digest.clone(), 1)).collect();
    assert_eq!(
        transfers.into_iter().collect::<BTreeMap<_, _>>(),
        wanted,
        "every layer of the image fetched exactly once, nothing else"
    );
    for layer in &solved.chain {
        assert!(b.store.has_blob(&layer.digest.parse().unwrap()));
    }
}

#[test]
fn blobs_that_fail_verification_are_not_trusted() {
    let a = builder();
    let (built, _) = solve(&a, None);
    let b = builder();
    let (cache, blobs) = shared_cache(&a, true);
    let (solved, _) = solve(&b, Some(cache));
    assert!(
        !blobs.transfers.lock().unwrap().is_empty(),
        "the cache was consulted"
    );
    // Every layer was rebuilt locally; RUN added no layer of its own, so its record became
    // usable once its (now verified, locally built) layers were present.
    let mut ran: Vec<String> = solved.executed.iter().map(|d| graph().name(d)).collect();
    ran.sort();
    assert_eq!(ran, ["COPY a", "COPY b", "COPY c"]);
    assert_eq!(solved.chain, built.chain, "layers are reproducible");
    for key in b.store.cache_keys().unwrap() {
        let record = b.store.cache_record(&key).unwrap().unwrap();
        assert!(record.missing_layers(&b.store).is_empty());
    }
}
