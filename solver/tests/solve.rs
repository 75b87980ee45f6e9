//! The solver against a real store and the copying snapshotter, with a fake sandbox.

use sealer_image_cache::Store;
use sealer_snapshotter::{Compression, CopySnapshotter, TarOptions};
use sealer_solver::checksum::ChecksumCache;
use sealer_solver::context::LocalContext;
use sealer_solver::fetch::FakeFetcher;
use sealer_solver::graph::{
    CopyOp, CopySource, Definition, Network, Op, RunOp, Vertex, VertexInfo,
};
use sealer_solver::progress::{Event, RecordingProgress};
use sealer_solver::sandbox::FakeSandbox;
use sealer_solver::{SolveOptions, Solver, Worker};
use std::path::Path;
use std::sync::Arc;

fn info(name: &str) -> VertexInfo {
    VertexInfo {
        name: name.into(),
        location: None,
    }
}

fn copy(src: &str, dest: &str) -> Op {
    Op::Copy(CopyOp {
        sources: vec![CopySource::Context { path: src.into() }],
        dest: dest.into(),
        extract_archives: false,
    })
}

/// scratch → COPY a → COPY b → RUN
fn graph() -> Definition {
    let mut d = Definition::default();
    let s = d.add(
        Vertex {
            op: Op::Scratch,
            inputs: vec![],
        },
        info("FROM scratch"),
    );
    let a = d.add(
        Vertex {
            op: copy("a.yaml", "m/"),
            inputs: vec![s],
        },
        info("COPY a"),
    );
    let b = d.add(
        Vertex {
            op: copy("b.yaml", "m/"),
            inputs: vec![a],
        },
        info("COPY b"),
    );
    let r = d.add(
        Vertex {
            op: Op::Run(RunOp {
                args: vec!["/bin/sh".into(), "-c".into(), "true".into()],
                env: vec![],
                network: Network::Host,
            }),
            inputs: vec![b],
        },
        info("RUN"),
    );
    d.output = Some(r);
    d
}

struct Env {
    _tmp: tempfile::TempDir,
    store: Arc<Store>,
    ctx: std::path::PathBuf,
    state: std::path::PathBuf,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("a.yaml"), "a: 1\n").unwrap();
    std::fs::write(ctx.join("b.yaml"), "b: 1\n").unwrap();
    let store = Arc::new(Store::open(&tmp.path().join("store")).unwrap());
    let state = tmp.path().join("snapshots");
    Env {
        _tmp: tmp,
        store,
        ctx,
        state,
    }
}

fn solver(env: &Env, sandbox: Arc<FakeSandbox>, progress: Arc<RecordingProgress>) -> Solver {
    let worker = Worker::new(
        env.store.clone(),
        Arc::new(CopySnapshotter::new(&env.state).unwrap()),
        sandbox,
        Arc::new(FakeFetcher::default()),
        LocalContext::new(&env.ctx).unwrap(),
        ChecksumCache::in_memory(),
        Compression::Zstd { level: 3 },
        TarOptions {
            source_date_epoch: 0,
        },
    );
    Solver::new(
        Arc::new(worker),
        progress,
        SolveOptions {
            no_cache: false,
            max_parallel: 4,
        },
    )
}

fn started(p: &RecordingProgress) -> usize {
    p.events()
        .iter()
        .filter(|e| matches!(e, Event::Started { .. }))
        .count()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn second_solve_runs_nothing_and_a_change_reruns_dependents_only() {
    let env = env();
    let def = graph();
    let rt = rt();
    let sandbox = Arc::new(FakeSandbox::default());
    let p1 = Arc::new(RecordingProgress::default());
    let first = rt
        .block_on(solver(&env, sandbox.clone(), p1.clone()).solve(&def))
        .unwrap();
    assert_eq!(first.executed.len(), 4);
    assert_eq!(first.chain.len(), 2, "two COPY layers, RUN changed nothing");
    assert_eq!(sandbox.runs.lock().unwrap().len(), 1);

    let p2 = Arc::new(RecordingProgress::default());
    let second = rt
        .block_on(solver(&env, sandbox.clone(), p2.clone()).solve(&def))
        .unwrap();
    assert!(second.executed.is_empty());
    assert_eq!(started(&p2), 0);
    assert_eq!(second.chain, first.chain);
    assert_eq!(sandbox.runs.lock().unwrap().len(), 1, "RUN not repeated");

    std::fs::write(env.ctx.join("b.yaml"), "b: 2\n").unwrap();
    let p3 = Arc::new(RecordingProgress::default());
    let third = rt
        .block_on(solver(&env, sandbox.clone(), p3.clone()).solve(&def))
        .unwrap();
    let names: Vec<String> = third.executed.iter().map(|d| def.name(d)).collect();
    assert_eq!(names, vec!["COPY b", "RUN"]);
    assert_eq!(third.chain[0], first.chain[0], "COPY a layer reused");
    assert_ne!(third.chain[1], first.chain[1]);
}

#[test]
fn identical_work_requested_twice_at_once_runs_once() {
    let env = env();
    let def = graph();
    let rt = rt();
    let sandbox = Arc::new(FakeSandbox::default());
    let (s1, s2) = (
        solver(
            &env,
            sandbox.clone(),
            Arc::new(RecordingProgress::default()),
        ),
        solver(
            &env,
            sandbox.clone(),
            Arc::new(RecordingProgress::default()),
        ),
    );
    let (r1, r2) = rt.block_on(async { tokio::join!(s1.solve(&def), s2.solve(&def)) });
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!(r1.chain, r2.chain);
    assert_eq!(
        sandbox.runs.lock().unwrap().len(),
        1,
        "the RUN ran once for both"
    );
    assert_eq!(r1.executed.len() + r2.executed.len(), 4);
}

#[test]
fn missing_source_names_the_step() {
    let env = env();
    let mut def = graph();
    std::fs::remove_file(env.ctx.join("a.yaml")).unwrap();
    def.info.values_mut().for_each(|i| {
        i.location = Some(sealer_solver::graph::Location {
            file: "Kubefile".into(),
            line: 2,
            column: 1,
        })
    });
    let err = rt()
        .block_on(
            solver(
                &env,
                Arc::new(FakeSandbox::default()),
                Arc::new(RecordingProgress::default()),
            )
            .solve(&def),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("Kubefile:2:1"), "{err}");
    assert!(err.contains("a.yaml"), "{err}");
    assert!(Path::new(&env.ctx).exists());
}
