//! Where RUN commands execute: a bubblewrap sandbox, or the bare host as a fallback.

use crate::graph::Network;
use crate::progress::Stream;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// A command to run with a root filesystem as its writable working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub rootfs: PathBuf,
    pub network: Network,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("command exited with {status}; last output:\n{tail}")]
    Failed { status: String, tail: String },
}

/// Runs RUN steps. Output lines go to `log` as they appear.
pub trait Sandbox: Send + Sync {
    fn run(&self, spec: &RunSpec, log: &mut dyn FnMut(Stream, String)) -> Result<(), SandboxError>;
    fn describe(&self) -> String;
}

/// Default PATH inside RUN (the rootfs `bin/` first, like sealer's launch).
fn path_var(rootfs: &Path) -> String {
    format!(
        "{}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        rootfs.display()
    )
}

fn base_env(spec: &RunSpec) -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".to_string(), path_var(&spec.rootfs)),
        ("HOME".to_string(), "/root".to_string()),
    ];
    for (k, v) in &spec.env {
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

/// bubblewrap: host root read-only, the rootfs bound writable and used as the working
/// directory, private /tmp, pid/ipc/uts namespaces, network shared unless `Network::None`.
pub struct Bubblewrap {
    pub program: PathBuf,
}

impl Bubblewrap {
    /// Find `bwrap` on PATH and check it can create a sandbox here.
    pub fn detect() -> Option<Bubblewrap> {
        let program = which("bwrap")?;
        let ok = Command::new(&program)
            .args([
                "--ro-bind",
                "/",
                "/",
                "--unshare-pid",
                "--die-with-parent",
                "true",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then_some(Bubblewrap { program })
    }

    fn command(&self, spec: &RunSpec) -> Command {
        let root = spec.rootfs.to_string_lossy().to_string();
        let mut cmd = Command::new(&self.program);
        cmd.args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]);
        cmd.args(["--tmpfs", "/tmp", "--bind", &root, &root, "--chdir", &root]);
        cmd.args([
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--die-with-parent",
        ]);
        if spec.network == Network::None {
            cmd.arg("--unshare-net");
        }
        cmd.arg("--");
        cmd.args(&spec.args);
        cmd.env_clear().envs(base_env(spec));
        cmd
    }
}

/// Setup attempts for one RUN: bwrap binds the host's mounts recursively, and a mount that
/// another process (say, a concurrent build's snapshot) removes meanwhile fails the setup.
const BWRAP_SETUP_ATTEMPTS: u32 = 3;

/// Whether a failure came from bwrap setting up its mounts, before the command started: all
/// output is bwrap's own, about a mount. Safe to retry, since nothing ran.
fn is_mount_setup_race(tail: &str) -> bool {
    !tail.is_empty() && tail.contains("mount") && tail.lines().all(|l| l.starts_with("bwrap: "))
}

impl Sandbox for Bubblewrap {
    fn run(&self, spec: &RunSpec, log: &mut dyn FnMut(Stream, String)) -> Result<(), SandboxError> {
        let mut attempt = 1;
        loop {
            match run_streaming(self.command(spec), "bwrap", log) {
                Err(SandboxError::Failed { tail, .. })
                    if attempt < BWRAP_SETUP_ATTEMPTS && is_mount_setup_race(&tail) =>
                {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50 * u64::from(attempt)));
                }
                other => return other,
            }
        }
    }
    fn describe(&self) -> String {
        format!("bubblewrap ({})", self.program.display())
    }
}

/// bubblewrap, probed on first use: a build whose RUN steps all hit the cache never starts
/// it. When the probe fails, commands run unsandboxed and `on_fallback` is told, once.
pub struct LazyBubblewrap {
    probed: OnceLock<Option<Bubblewrap>>,
    on_fallback: Box<dyn Fn() + Send + Sync>,
}

impl LazyBubblewrap {
    pub fn new(on_fallback: impl Fn() + Send + Sync + 'static) -> Self {
        LazyBubblewrap {
            probed: OnceLock::new(),
            on_fallback: Box::new(on_fallback),
        }
    }

    fn get(&self) -> Option<&Bubblewrap> {
        self.probed
            .get_or_init(|| {
                let found = Bubblewrap::detect();
                if found.is_none() {
                    (self.on_fallback)();
                }
                found
            })
            .as_ref()
    }

    /// The usable `bwrap` binary, if any (probes on the first call).
    pub fn program(&self) -> Option<PathBuf> {
        self.get().map(|b| b.program.clone())
    }
}

impl Sandbox for LazyBubblewrap {
    fn run(&self, spec: &RunSpec, log: &mut dyn FnMut(Stream, String)) -> Result<(), SandboxError> {
        match self.get() {
            Some(bwrap) => bwrap.run(spec, log),
            None => Unsandboxed.run(spec, log),
        }
    }
    fn describe(&self) -> String {
        match self.probed.get() {
            Some(Some(bwrap)) => bwrap.describe(),
            Some(None) => Unsandboxed.describe(),
            None => "bubblewrap (not probed yet)".to_string(),
        }
    }
}

/// No isolation at all: the command runs on the host with the rootfs as working directory.
pub struct Unsandboxed;

impl Sandbox for Unsandboxed {
    fn run(&self, spec: &RunSpec, log: &mut dyn FnMut(Stream, String)) -> Result<(), SandboxError> {
        let Some((program, args)) = spec.args.split_first() else {
            return Ok(());
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(&spec.rootfs)
            .env_clear()
            .envs(base_env(spec));
        run_streaming(cmd, program, log)
    }
    fn describe(&self) -> String {
        "unsandboxed host process".to_string()
    }
}

/// Records what would run and succeeds (tests of the solver).
#[derive(Default)]
pub struct FakeSandbox {
    pub runs: Mutex<Vec<RunSpec>>,
}

impl Sandbox for FakeSandbox {
    fn run(&self, spec: &RunSpec, log: &mut dyn FnMut(Stream, String)) -> Result<(), SandboxError> {
        log(Stream::Stdout, format!("fake run: {}", spec.args.join(" ")));
        if let Ok(mut runs) = self.runs.lock() {
            runs.push(spec.clone());
        }
        Ok(())
    }
    fn describe(&self) -> String {
        "fake sandbox".to_string()
    }
}

fn run_streaming(
    mut cmd: Command,
    program: &str,
    log: &mut dyn FnMut(Stream, String),
) -> Result<(), SandboxError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| SandboxError::Spawn {
        program: program.to_string(),
        source,
    })?;
    let stderr = child.stderr.take();
    let (tx, rx) = std::sync::mpsc::channel::<(Stream, String)>();
    let tx2 = tx.clone();
    let err_thread = std::thread::spawn(move || {
        if let Some(stderr) = stderr {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx2.send((Stream::Stderr, line));
            }
        }
    });
    let stdout = child.stdout.take();
    let out_thread = std::thread::spawn(move || {
        if let Some(stdout) = stdout {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send((Stream::Stdout, line));
            }
        }
    });
    let mut tail: std::collections::VecDeque<String> = Default::default();
    for (stream, line) in rx {
        tail.push_back(line.clone());
        if tail.len() > 20 {
            tail.pop_front();
        }
        log(stream, line);
    }
    let _ = out_thread.join();
    let _ = err_thread.join();
    let status = child.wait().map_err(|source| SandboxError::Spawn {
        program: program.to_string(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(SandboxError::Failed {
            status: status.to_string(),
            tail: Vec::from(tail).join("\n"),
        })
    }
}

/// Look a program up on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
#[path = "tests/sandbox.rs"]
mod tests;
