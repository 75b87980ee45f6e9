//! The build's observe step, backed by the build-cluster crate: passes run against a
//! temporary cluster (embedded API server or a real one via kubeconfig) with commands in a
//! bubblewrap sandbox, then discovery merges what the cluster recorded with a static scan.

use futures::future::BoxFuture;
use sealer_build_cluster::cluster::ClusterFactory;
use sealer_build_cluster::discover::{
    Report, ReportBuilder, StaticInput, discover, from_recordings, scan_static,
};
use sealer_build_cluster::launch::{
    CommandOutcome, CommandRunner, CommandSpec, LaunchSpec, ObserveOptions, OutputFn, Pass,
    ProcessRunner, Progress, plan, run_pass,
};
use sealer_solver::observe::{ObserveOp, Observer, PassPlan};
use sealer_solver::progress::Stream;
use sealer_solver::sandbox::LazyBubblewrap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Runs launch commands under bubblewrap: host root read-only, the rootfs and the pass's work
/// dir writable, private /tmp and pid namespace, host network (to reach the API server).
pub struct BwrapRunner {
    pub bwrap: Option<PathBuf>,
    pub rootfs: PathBuf,
    pub work_dir: PathBuf,
}

impl CommandRunner for BwrapRunner {
    fn run<'a>(
        &'a self,
        cmd: &'a CommandSpec,
        output: OutputFn<'a>,
    ) -> BoxFuture<'a, std::io::Result<CommandOutcome>> {
        let Some(bwrap) = &self.bwrap else {
            return ProcessRunner.run(cmd, output);
        };
        let mut args: Vec<String> = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(["--tmpfs".into(), "/tmp".into()]);
        for dir in [&self.rootfs, &self.work_dir] {
            let d = dir.to_string_lossy().to_string();
            args.extend(["--bind".into(), d.clone(), d]);
        }
        args.extend(["--chdir".into(), cmd.cwd.to_string_lossy().to_string()]);
        args.extend(
            [
                "--unshare-pid",
                "--unshare-ipc",
                "--unshare-uts",
                "--die-with-parent",
                "--",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        args.push(cmd.program.clone());
        args.extend(cmd.args.iter().cloned());
        let mut env = cmd.env.clone();
        env.push(("HOME".into(), self.work_dir.to_string_lossy().to_string()));
        let wrapped = CommandSpec {
            program: bwrap.to_string_lossy().to_string(),
            args,
            cwd: cmd.cwd.clone(),
            env,
        };
        Box::pin(async move { ProcessRunner.run(&wrapped, output).await })
    }
}

/// The solver's [`Observer`], implemented with build-cluster.
pub struct ClusterObserver {
    pub factory: Box<dyn ClusterFactory>,
    pub handle: tokio::runtime::Handle,
    pub options: ObserveOptions,
    pub bwrap: Arc<LazyBubblewrap>,
    pub helm: Option<PathBuf>,
}

fn spec_of(op: &ObserveOp) -> Result<LaunchSpec, String> {
    let value: serde_json::Value =
        serde_json::from_str(&op.extension).map_err(|e| e.to_string())?;
    LaunchSpec::from_extension_json(&value).map_err(|e| e.to_string())
}

fn passes(rootfs: &Path, op: &ObserveOp) -> Result<Vec<Pass>, String> {
    plan(rootfs, &spec_of(op)?, op.unlaunched_apps).map_err(|e| e.to_string())
}

impl Observer for ClusterObserver {
    fn plan(&self, rootfs: &Path, op: &ObserveOp) -> Result<Vec<PassPlan>, String> {
        let root = rootfs.to_string_lossy().to_string();
        passes(rootfs, op)?
            .into_iter()
            .enumerate()
            .map(|(index, pass)| {
                let material = serde_json::to_string(&pass)
                    .map_err(|e| e.to_string())?
                    .replace(&root, "<rootfs>");
                Ok(PassPlan {
                    index,
                    name: pass.name,
                    app: pass.app,
                    material,
                })
            })
            .collect()
    }

    fn run_pass(
        &self,
        rootfs: &Path,
        work_dir: &Path,
        op: &ObserveOp,
        plan: &PassPlan,
        log: &mut dyn FnMut(Stream, String),
    ) -> Result<String, String> {
        let pass = passes(rootfs, op)?
            .into_iter()
            .nth(plan.index)
            .ok_or_else(|| format!("pass {} vanished while planning", plan.name))?;
        std::fs::create_dir_all(work_dir).map_err(|e| e.to_string())?;
        let runner = BwrapRunner {
            bwrap: self.bwrap.program(),
            rootfs: rootfs.to_path_buf(),
            work_dir: work_dir.to_path_buf(),
        };
        let lines: Mutex<Vec<(Stream, String)>> = Mutex::new(Vec::new());
        let progress = |p: Progress<'_>| {
            let line = match p {
                Progress::PassStarted { pass, backend } => {
                    (Stream::Stdout, format!("{pass} on {backend}"))
                }
                Progress::StepStarted { step, .. } => {
                    (Stream::Stdout, format!("$ {}", step.display))
                }
                Progress::Output { stream, line, .. } => {
                    let s = match stream {
                        sealer_build_cluster::launch::Stream::Stdout => Stream::Stdout,
                        sealer_build_cluster::launch::Stream::Stderr => Stream::Stderr,
                    };
                    (s, line.to_string())
                }
                Progress::Settled { outcome, .. } => (Stream::Stdout, settle_line(outcome)),
            };
            if let Ok(mut l) = lines.lock() {
                l.push(line);
            }
        };
        let recording = self.handle.block_on(run_pass(
            rootfs,
            work_dir,
            &pass,
            self.factory.as_ref(),
            &runner,
            &self.options,
            &progress,
        ));
        for (stream, line) in lines.into_inner().unwrap_or_default() {
            log(stream, line);
        }
        let recording = recording.map_err(|e| e.to_string())?;
        let report = discover(&[recording], None).map_err(|e| e.to_string())?;
        serde_json::to_string(&report).map_err(|e| e.to_string())
    }

    fn finish(
        &self,
        rootfs: &Path,
        work_dir: &Path,
        op: &ObserveOp,
        pass_reports: &[String],
    ) -> Result<(String, Vec<(String, String)>), String> {
        let mut builder: ReportBuilder = from_recordings(&[]);
        for json in pass_reports {
            let report: Report = serde_json::from_str(json).map_err(|e| e.to_string())?;
            for image in report.images {
                for p in image.provenance {
                    builder.add(image.reference.clone(), p);
                }
            }
            for u in report.unresolved {
                builder.unresolved(&u.text, &u.reason, u.provenance);
            }
        }
        let mut lists = Vec::new();
        for (i, content) in op.image_lists.iter().enumerate() {
            let path = work_dir.join(format!("image-list-{i}"));
            std::fs::write(&path, content).map_err(|e| e.to_string())?;
            lists.push(path);
        }
        let statics = StaticInput {
            rootfs: rootfs.to_path_buf(),
            apps: spec_of(op)?.applications,
            image_lists: lists,
            helm: self.helm.clone(),
            work_dir: work_dir.join("static"),
        };
        builder.merge(scan_static(&statics).map_err(|e| e.to_string())?);
        let report = builder.finish();
        let embed: Vec<(String, String)> = report
            .references(op.include_indirect)
            .into_iter()
            .map(|r| {
                let app = report
                    .find(&r)
                    .and_then(|f| f.provenance.iter().find_map(|p| p.app.clone()))
                    .unwrap_or_default();
                (r, app)
            })
            .collect();
        Ok((report.to_json_pretty(), embed))
    }
}

/// One progress line for how the new pods settled.
fn settle_line(outcome: &sealer_build_cluster::cluster::SettleOutcome) -> String {
    let waited = outcome.waited.as_secs_f64();
    if outcome.settled {
        format!("pods settled after {waited:.1}s")
    } else {
        format!(
            "observe timeout after {waited:.1}s; still in progress: {}",
            outcome.pending.join(", ")
        )
    }
}
