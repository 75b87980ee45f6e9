//! Running an image's launch exactly as `sealer run` would — CMDS lines, or the LAUNCHed apps
//! (kube → `kubectl apply -f`, helm → `helm install`, shell → `bash`, APPCMDS override) — with
//! the rootfs as working directory, `<rootfs>/bin` first on PATH, KUBECONFIG set and ENV/APPENV
//! exported, against a temporary cluster, recording what each app created.

mod exec;
mod runner;
mod spec;

pub use exec::{
    AttributedPull, ObserveOptions, PassRecording, Progress, ProgressFn, RecordedObject, observe,
    run_pass,
};
pub use runner::{
    CommandOutcome, CommandRunner, CommandSpec, OutputFn, ProcessRunner, STDERR_TAIL_LINES, Stream,
};
pub use spec::{AppKind, AppSpec, LaunchSection, LaunchSpec, Pass, Step, app_dir, app_steps, plan};
