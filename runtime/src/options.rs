//! Knobs of the runtime (set by the CLI) and of single commands.

use std::path::PathBuf;
use std::time::Duration;

/// How the embedded registry is started on registry hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCommand {
    /// Binary copied to the registry hosts; `None` copies the running executable
    /// (`std::env::current_exe`), i.e. `sealer` itself.
    pub binary: Option<PathBuf>,
    /// Arguments; `{root}` (the rootfs `registry/` dir), `{port}`, `{domain}` and `{run}` (the
    /// cluster's run directory on the host, holding the pid file and logs) are substituted.
    pub args: Vec<String>,
    /// Wait this long for the registry to listen on its port; `None` skips the wait.
    pub ready_timeout: Option<Duration>,
}

impl Default for RegistryCommand {
    fn default() -> Self {
        RegistryCommand {
            binary: None,
            args: [
                "registry",
                "serve",
                "--dir",
                "{root}",
                "--addr",
                "0.0.0.0:{port}",
                "--access-log",
                "{run}/registry-access.jsonl",
            ]
            .map(String::from)
            .to_vec(),
            ready_timeout: Some(Duration::from_secs(20)),
        }
    }
}

/// Runtime-wide settings.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Hosts worked on at the same time.
    pub parallelism: usize,
    /// Limit for one remote command (scripts, kubeadm, a distribution).
    pub command_timeout: Duration,
    pub registry: RegistryCommand,
    /// Commands every host must have (checked before anything changes).
    pub required_commands: Vec<String>,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            parallelism: 16,
            command_timeout: Duration::from_secs(3600),
            registry: RegistryCommand::default(),
            required_commands: [
                "sh",
                "tar",
                "sha256sum",
                "find",
                "mkdir",
                "cat",
                "setsid",
                "nohup",
                "grep",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// Options of one apply / join / delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Print (report) the plan and stop.
    pub dry_run: bool,
    /// When hosts are removed: also delete their data under dataRoot.
    pub prune: bool,
}

/// Options of installing an app-installer image onto a running cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppOptions {
    pub dry_run: bool,
    /// Override the image's launch commands.
    pub cmds: Vec<String>,
    /// Launch these apps instead of the image's LAUNCH list.
    pub apps: Vec<String>,
}
