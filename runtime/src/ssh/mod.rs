//! Hosts reached over SSH, behind a trait so the runtime can be tested against local directories.
//!
//! [`SshConnector`] is the real client (russh, ring crypto, known_hosts checking);
//! [`LocalConnector`] runs commands on this machine with a per-host root directory.

mod error;
mod local;
mod ops;
mod russh_client;

pub use error::SshError;
pub use local::{LocalConnector, LocalHostConfig};
pub use ops::{ShellQuote, run_checked, upload_bytes, upload_file};
pub use russh_client::{SshConnector, SshOptions};

use futures::future::BoxFuture;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Who to log in as and how.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    pub user: String,
    pub password: Option<String>,
    /// Private key file; with neither key nor password the default keys in ~/.ssh are tried.
    pub key: Option<PathBuf>,
    pub key_passphrase: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("key", &self.key)
            .field(
                "key_passphrase",
                &self.key_passphrase.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Where a host is and how to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    pub ip: IpAddr,
    pub port: u16,
    pub credentials: Credentials,
}

impl HostSpec {
    /// `10.0.0.2` or `10.0.0.2:2222`, as used in messages.
    pub fn display_name(&self) -> String {
        if self.port == 22 {
            self.ip.to_string()
        } else {
            format!("{}:{}", self.ip, self.port)
        }
    }
}

/// What a command reads on stdin.
pub enum Stdin {
    None,
    Bytes(Vec<u8>),
    /// Chunks produced by another task (shareable between hosts without copying); an `Err`
    /// aborts the command.
    Stream(tokio::sync::mpsc::Receiver<std::io::Result<bytes::Bytes>>),
}

/// One command to run on a host through `sh -c`.
pub struct ExecRequest {
    pub command: String,
    pub stdin: Stdin,
    pub timeout: Option<Duration>,
}

impl ExecRequest {
    pub fn new(command: impl Into<String>) -> Self {
        ExecRequest {
            command: command.into(),
            stdin: Stdin::None,
            timeout: None,
        }
    }
    pub fn stdin(mut self, stdin: Stdin) -> Self {
        self.stdin = stdin;
        self
    }
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// How a command ended and what it printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit code; `None` when the command died of a signal.
    pub status: Option<u32>,
    pub signal: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// The last `lines` lines of stderr (or stdout when stderr is empty), for error messages.
    pub fn tail(&self, lines: usize) -> String {
        let src = if self.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
            &self.stderr
        } else {
            &self.stdout
        };
        let text = String::from_utf8_lossy(src);
        let all: Vec<&str> = text.trim_end().lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
    pub fn status_text(&self) -> String {
        match (&self.status, &self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => "no exit status".into(),
        }
    }
}

/// A connected host.
pub trait Host: Send + Sync {
    /// Name used in messages (the address).
    fn name(&self) -> &str;
    /// The host's filesystem root as seen by its commands: `/` for real hosts.
    fn root(&self) -> &str;
    /// Run `command` through the login shell, capturing stdout and stderr.
    fn exec(&self, req: ExecRequest) -> BoxFuture<'_, Result<ExecOutput, SshError>>;
    /// Bytes sent on stdin of commands so far (what distribution moved).
    fn bytes_sent(&self) -> u64;
}

/// Opens connections to hosts.
pub trait HostConnector: Send + Sync {
    fn connect<'a>(&'a self, spec: &'a HostSpec) -> BoxFuture<'a, Result<Arc<dyn Host>, SshError>>;
}

/// Join an absolute host path onto a host's root (`/` leaves it unchanged).
pub fn host_path(host: &dyn Host, abs: &str) -> String {
    let root = host.root().trim_end_matches('/');
    if root.is_empty() {
        abs.to_string()
    } else {
        format!("{root}{abs}")
    }
}
