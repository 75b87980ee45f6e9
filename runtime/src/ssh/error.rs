use std::path::PathBuf;

/// A failure reaching or using a host. Every variant names the host (or key file).
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("{host}: cannot connect: {message}")]
    Connect { host: String, message: String },
    #[error("{host}: timed out after {secs}s while {what}")]
    Timeout {
        host: String,
        what: String,
        secs: u64,
    },
    #[error(
        "{host}: unknown host key {fingerprint}: it is not in {known_hosts}; add it (ssh-keyscan -p PORT HOST >> {known_hosts}) or pin it on first use with the accept-new-host-keys option"
    )]
    UnknownHostKey {
        host: String,
        fingerprint: String,
        known_hosts: PathBuf,
    },
    #[error(
        "{host}: host key changed: {fingerprint} does not match line {line} of {known_hosts} (possible man-in-the-middle; if the host was reinstalled, remove that line)"
    )]
    HostKeyChanged {
        host: String,
        fingerprint: String,
        line: usize,
        known_hosts: PathBuf,
    },
    #[error("{host}: authentication as {user} failed (tried {methods}): check the password or key")]
    Auth {
        host: String,
        user: String,
        methods: String,
    },
    #[error("private key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("{host}: connection lost ({detail})")]
    Disconnected { host: String, detail: String },
    #[error("{host}: `{command}` failed with {status}: {output}")]
    Command {
        host: String,
        command: String,
        status: String,
        output: String,
    },
    #[error("{host}: {message}")]
    Other { host: String, message: String },
}

impl SshError {
    /// Whether the failure came before any command ran (connect, auth, host key).
    pub fn is_connect_failure(&self) -> bool {
        matches!(
            self,
            SshError::Connect { .. }
                | SshError::UnknownHostKey { .. }
                | SshError::HostKeyChanged { .. }
                | SshError::Auth { .. }
                | SshError::Key { .. }
        )
    }
}
