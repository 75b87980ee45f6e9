//! Running passes against fresh clusters and recording, per app, every object the steps created
//! and every image kubelets pulled.

use super::runner::{CommandRunner, CommandSpec, Stream};
use super::spec::{LaunchSpec, Pass, Step, plan};
use crate::cluster::{ClusterFactory, ObservedPull, SettleOutcome};
use crate::error::LaunchError;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Options of an observe run.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// How long to wait for workloads to settle after the steps (real clusters).
    pub observe_timeout: Duration,
    /// Also observe apps that are defined but not launched, each in its own pass.
    pub unlaunched_apps: bool,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        ObserveOptions {
            observe_timeout: Duration::from_secs(120),
            unlaunched_apps: true,
        }
    }
}

/// Progress of an observe run (never printed to stdout by this crate).
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    PassStarted {
        pass: &'a str,
        backend: &'a str,
    },
    StepStarted {
        pass: &'a str,
        step: &'a Step,
    },
    Output {
        pass: &'a str,
        step: &'a Step,
        stream: Stream,
        line: &'a str,
    },
    Settled {
        pass: &'a str,
        outcome: &'a SettleOutcome,
    },
}

pub type ProgressFn<'a> = &'a (dyn Fn(Progress<'_>) + Send + Sync);

/// An object the build created or changed, with the app and step that did it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedObject {
    pub pass: String,
    pub app: Option<String>,
    /// The command after which the object appeared (None: appeared while settling).
    pub step: Option<String>,
    pub object: Value,
}

/// A pull, attributed to the app whose object owns the pod.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributedPull {
    pub pass: String,
    pub app: Option<String>,
    pub pull: ObservedPull,
}

/// Everything one pass recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassRecording {
    pub pass: String,
    pub backend: String,
    pub objects: Vec<RecordedObject>,
    pub pulls: Vec<AttributedPull>,
    pub settle: SettleOutcome,
}

fn uid(o: &Value) -> String {
    o.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn rv(o: &Value) -> String {
    o.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

struct Recorder {
    pass: String,
    seen: HashMap<String, String>,
    by_uid: HashMap<String, usize>,
    objects: Vec<RecordedObject>,
}

impl Recorder {
    /// Record objects that are new or changed since the last look.
    fn absorb(&mut self, objs: Vec<Value>, app: Option<&str>, step: Option<&str>) {
        for o in objs {
            let (u, r) = (uid(&o), rv(&o));
            if self.seen.get(&u) == Some(&r) {
                continue;
            }
            self.seen.insert(u.clone(), r);
            match self.by_uid.get(&u) {
                Some(i) => self.objects[*i].object = o,
                None => {
                    // Objects appearing while settling belong to the app of their owner.
                    let app = match (step, self.owner_app(&o)) {
                        (None, Some(owner_app)) => Some(owner_app),
                        _ => app.map(str::to_string),
                    };
                    self.by_uid.insert(u, self.objects.len());
                    self.objects.push(RecordedObject {
                        pass: self.pass.clone(),
                        app,
                        step: step.map(str::to_string),
                        object: o,
                    });
                }
            }
        }
    }

    fn owner_app(&self, o: &Value) -> Option<String> {
        let refs = o.pointer("/metadata/ownerReferences")?.as_array()?;
        refs.iter().filter_map(|r| r["uid"].as_str()).find_map(|u| {
            self.by_uid
                .get(u)
                .and_then(|i| self.objects[*i].app.clone())
        })
    }

    fn pod_app(&self, namespace: &str, pod: &str) -> Option<Option<String>> {
        self.objects
            .iter()
            .find(|r| {
                r.object["kind"] == "Pod"
                    && r.object["metadata"]["namespace"] == namespace
                    && r.object["metadata"]["name"] == pod
            })
            .map(|r| r.app.clone())
    }
}

fn step_env(step: &Step, rootfs: &Path, cluster_env: &[(String, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = step
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.extend(cluster_env.iter().cloned());
    let inherited = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    env.push((
        "PATH".into(),
        format!("{}:{inherited}", rootfs.join("bin").display()),
    ));
    env
}

/// Run one pass against a fresh cluster from `factory`, with its files in `work_dir`.
pub async fn run_pass(
    rootfs: &Path,
    work_dir: &Path,
    pass: &Pass,
    factory: &dyn ClusterFactory,
    runner: &dyn CommandRunner,
    opts: &ObserveOptions,
    progress: ProgressFn<'_>,
) -> Result<PassRecording, LaunchError> {
    std::fs::create_dir_all(work_dir).map_err(|source| LaunchError::WorkDir {
        path: work_dir.to_path_buf(),
        source,
    })?;
    let mut cluster = factory.create(work_dir);
    let backend = cluster.backend();
    progress(Progress::PassStarted {
        pass: &pass.name,
        backend: &backend,
    });
    cluster.start().await?;
    let result = async {
        let mut rec = Recorder {
            pass: pass.name.clone(),
            seen: HashMap::new(),
            by_uid: HashMap::new(),
            objects: Vec::new(),
        };
        for o in cluster.objects().await? {
            rec.seen.insert(uid(&o), rv(&o));
        }
        let cluster_env = cluster.env();
        for step in &pass.steps {
            progress(Progress::StepStarted {
                pass: &pass.name,
                step,
            });
            let cmd = CommandSpec {
                program: step.program.clone(),
                args: step.args.clone(),
                cwd: step.cwd.clone(),
                env: step_env(step, rootfs, &cluster_env),
            };
            let out = |stream: Stream, line: &str| {
                progress(Progress::Output {
                    pass: &pass.name,
                    step,
                    stream,
                    line,
                })
            };
            let outcome = runner
                .run(&cmd, &out)
                .await
                .map_err(|source| LaunchError::Spawn {
                    command: step.display.clone(),
                    source,
                })?;
            if !outcome.success {
                return Err(LaunchError::StepFailed {
                    app: step.app.clone(),
                    command: step.display.clone(),
                    status: outcome
                        .code
                        .map_or("killed by a signal".into(), |c| format!("exit code {c}")),
                    stderr_tail: outcome.stderr_tail,
                });
            }
            rec.absorb(
                cluster.objects().await?,
                step.app.as_deref(),
                Some(&step.display),
            );
        }
        let settle = cluster.settle(opts.observe_timeout).await?;
        progress(Progress::Settled {
            pass: &pass.name,
            outcome: &settle,
        });
        let default_app = pass
            .app
            .clone()
            .or_else(|| pass.steps.last().and_then(|s| s.app.clone()));
        rec.absorb(cluster.objects().await?, default_app.as_deref(), None);
        let pulls = cluster
            .pulls()
            .await?
            .into_iter()
            .map(|pull| AttributedPull {
                pass: pass.name.clone(),
                app: rec
                    .pod_app(&pull.namespace, &pull.pod)
                    .unwrap_or_else(|| default_app.clone()),
                pull,
            })
            .collect();
        Ok(PassRecording {
            pass: pass.name.clone(),
            backend: backend.clone(),
            objects: rec.objects,
            pulls,
            settle,
        })
    }
    .await;
    let stopped = cluster.stop().await;
    let recording = result?;
    stopped?;
    Ok(recording)
}

/// Plan and run every pass of an image's launch, each against a fresh cluster in
/// `work_dir/<n>-<pass>`.
pub async fn observe(
    rootfs: &Path,
    work_dir: &Path,
    spec: &LaunchSpec,
    factory: &dyn ClusterFactory,
    runner: &dyn CommandRunner,
    opts: &ObserveOptions,
    progress: ProgressFn<'_>,
) -> Result<Vec<PassRecording>, LaunchError> {
    let passes = plan(rootfs, spec, opts.unlaunched_apps)?;
    let mut out = Vec::new();
    for (i, pass) in passes.iter().enumerate() {
        let dir = work_dir.join(format!("{i}-{}", pass.name.replace([':', '/'], "-")));
        out.push(run_pass(rootfs, &dir, pass, factory, runner, opts, progress).await?);
    }
    Ok(out)
}
