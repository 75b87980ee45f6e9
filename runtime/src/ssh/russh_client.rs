//! The real SSH client: russh with ring crypto, host keys checked against a known_hosts file.

use super::{Credentials, ExecOutput, ExecRequest, Host, HostConnector, HostSpec, SshError, Stdin};
use futures::future::BoxFuture;
use russh::ChannelMsg;
use russh::client::{self, Handle};
use russh::keys::known_hosts::{check_known_hosts_path, learn_known_hosts_path};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate, load_secret_key};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Settings of the real SSH client.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// known_hosts file checked for every host key.
    pub known_hosts: PathBuf,
    /// Pin unknown host keys on first use (explicit opt-in); changed keys are always refused.
    pub accept_new_host_keys: bool,
    pub connect_timeout: Duration,
    /// Keepalive interval; a host silent for 3 intervals counts as lost.
    pub keepalive: Duration,
    /// Keys tried when a host has neither a password nor a key configured.
    pub default_keys: Vec<PathBuf>,
}

impl Default for SshOptions {
    fn default() -> Self {
        let ssh_dir = std::env::home_dir()
            .unwrap_or_else(|| PathBuf::from("/root"))
            .join(".ssh");
        SshOptions {
            known_hosts: ssh_dir.join("known_hosts"),
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(15),
            default_keys: vec![ssh_dir.join("id_ed25519"), ssh_dir.join("id_rsa")],
        }
    }
}

/// Connects with russh.
pub struct SshConnector {
    opts: SshOptions,
}

impl SshConnector {
    pub fn new(opts: SshOptions) -> Self {
        SshConnector { opts }
    }
}

#[derive(Debug, Clone)]
enum KeyVerdict {
    Unknown(String),
    Changed(String, usize),
    Unreadable(String),
}

struct Checker {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    accept_new: bool,
    verdict: Arc<Mutex<Option<KeyVerdict>>>,
}

impl Checker {
    fn record(&self, v: KeyVerdict) {
        if let Ok(mut g) = self.verdict.lock() {
            *g = Some(v);
        }
    }
}

impl client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = server_key else {
            self.record(KeyVerdict::Unreadable(
                "the server presented a certificate; only plain host keys are checked".into(),
            ));
            return Ok(false);
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        match check_known_hosts_path(&self.host, self.port, key, &self.known_hosts) {
            Ok(true) => Ok(true),
            Ok(false) if self.accept_new => {
                match learn_known_hosts_path(&self.host, self.port, key, &self.known_hosts) {
                    Ok(()) => Ok(true),
                    Err(e) => {
                        self.record(KeyVerdict::Unreadable(format!(
                            "cannot record the host key in {}: {e}",
                            self.known_hosts.display()
                        )));
                        Ok(false)
                    }
                }
            }
            Ok(false) => {
                self.record(KeyVerdict::Unknown(fingerprint));
                Ok(false)
            }
            Err(russh::keys::Error::KeyChanged { line }) => {
                self.record(KeyVerdict::Changed(fingerprint, line));
                Ok(false)
            }
            Err(e) => {
                self.record(KeyVerdict::Unreadable(format!(
                    "cannot read {}: {e}",
                    self.known_hosts.display()
                )));
                Ok(false)
            }
        }
    }
}

impl HostConnector for SshConnector {
    fn connect<'a>(&'a self, spec: &'a HostSpec) -> BoxFuture<'a, Result<Arc<dyn Host>, SshError>> {
        Box::pin(async move {
            let host = spec.display_name();
            let mut handle = self.open(spec, &host).await?;
            authenticate(
                &mut handle,
                &spec.credentials,
                &self.opts.default_keys,
                &host,
            )
            .await?;
            Ok(Arc::new(SshHost {
                name: host,
                handle,
                sent: AtomicU64::new(0),
            }) as Arc<dyn Host>)
        })
    }
}

impl SshConnector {
    async fn open(&self, spec: &HostSpec, host: &str) -> Result<Handle<Checker>, SshError> {
        let verdict = Arc::new(Mutex::new(None));
        let checker = Checker {
            host: spec.ip.to_string(),
            port: spec.port,
            known_hosts: self.opts.known_hosts.clone(),
            accept_new: self.opts.accept_new_host_keys,
            verdict: verdict.clone(),
        };
        // AES-GCM first: hardware-accelerated in ring (and in OpenSSH), the fastest for rootfs
        // streams; 128-bit keys take fewer rounds than 256-bit ones on both ends.
        let preferred = russh::Preferred {
            cipher: std::borrow::Cow::Owned(vec![
                russh::cipher::AES_128_GCM,
                russh::cipher::AES_256_GCM,
                russh::cipher::CHACHA20_POLY1305,
                russh::cipher::AES_256_CTR,
            ]),
            ..Default::default()
        };
        let config = Arc::new(client::Config {
            keepalive_interval: Some(self.opts.keepalive),
            keepalive_max: 3,
            nodelay: true,
            window_size: 8 * 1024 * 1024,
            preferred,
            ..Default::default()
        });
        let secs = self.opts.connect_timeout.as_secs().max(1);
        let connect = client::connect(config, (spec.ip, spec.port), checker);
        match tokio::time::timeout(self.opts.connect_timeout, connect).await {
            Err(_) => Err(SshError::Timeout {
                host: host.to_string(),
                what: "connecting".into(),
                secs,
            }),
            Ok(Ok(h)) => Ok(h),
            Ok(Err(e)) => {
                let v = verdict.lock().ok().and_then(|g| g.clone());
                Err(match v {
                    Some(KeyVerdict::Unknown(fingerprint)) => SshError::UnknownHostKey {
                        host: host.to_string(),
                        fingerprint,
                        known_hosts: self.opts.known_hosts.clone(),
                    },
                    Some(KeyVerdict::Changed(fingerprint, line)) => SshError::HostKeyChanged {
                        host: host.to_string(),
                        fingerprint,
                        line,
                        known_hosts: self.opts.known_hosts.clone(),
                    },
                    Some(KeyVerdict::Unreadable(message)) => SshError::Connect {
                        host: host.to_string(),
                        message,
                    },
                    None => SshError::Connect {
                        host: host.to_string(),
                        message: connect_message(&e),
                    },
                })
            }
        }
    }
}

fn connect_message(e: &russh::Error) -> String {
    match e {
        russh::Error::IO(io) => io.to_string(),
        other => other.to_string(),
    }
}

async fn authenticate(
    handle: &mut Handle<Checker>,
    creds: &Credentials,
    default_keys: &[PathBuf],
    host: &str,
) -> Result<(), SshError> {
    let proto = |e: russh::Error| SshError::Connect {
        host: host.to_string(),
        message: format!("during authentication: {e}"),
    };
    let mut tried = Vec::new();
    let keys: Vec<PathBuf> = match (&creds.key, &creds.password) {
        (Some(k), _) => vec![k.clone()],
        (None, Some(_)) => Vec::new(),
        (None, None) => default_keys
            .iter()
            .filter(|p| p.exists())
            .cloned()
            .collect(),
    };
    for path in keys {
        let key =
            load_secret_key(&path, creds.key_passphrase.as_deref()).map_err(|e| SshError::Key {
                path: path.clone(),
                message: e.to_string(),
            })?;
        let hash = if key.algorithm().is_rsa() {
            handle
                .best_supported_rsa_hash()
                .await
                .map_err(proto)?
                .flatten()
        } else {
            None
        };
        let res = handle
            .authenticate_publickey(&creds.user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(proto)?;
        if res.success() {
            return Ok(());
        }
        tried.push(format!("key {}", path.display()));
    }
    if let Some(pw) = &creds.password {
        let res = handle
            .authenticate_password(&creds.user, pw)
            .await
            .map_err(proto)?;
        if res.success() {
            return Ok(());
        }
        tried.push("password".into());
    }
    if tried.is_empty() {
        tried.push("no password and no key found".into());
    }
    Err(SshError::Auth {
        host: host.to_string(),
        user: creds.user.clone(),
        methods: tried.join(", "),
    })
}

struct SshHost {
    name: String,
    handle: Handle<Checker>,
    sent: AtomicU64,
}

impl Host for SshHost {
    fn name(&self) -> &str {
        &self.name
    }
    fn root(&self) -> &str {
        "/"
    }
    fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
    fn exec(&self, req: ExecRequest) -> BoxFuture<'_, Result<ExecOutput, SshError>> {
        Box::pin(async move {
            let timeout = req.timeout;
            let first_line = req.command.lines().next().unwrap_or("").to_string();
            let run = self.exec_inner(req);
            match timeout {
                None => run.await,
                Some(t) => tokio::time::timeout(t, run).await.unwrap_or_else(|_| {
                    Err(SshError::Timeout {
                        host: self.name.clone(),
                        what: format!("running `{first_line}`"),
                        secs: t.as_secs(),
                    })
                }),
            }
        })
    }
}

impl SshHost {
    fn lost(&self, e: impl std::fmt::Display) -> SshError {
        SshError::Disconnected {
            host: self.name.clone(),
            detail: e.to_string(),
        }
    }

    async fn exec_inner(&self, req: ExecRequest) -> Result<ExecOutput, SshError> {
        let channel = self
            .handle
            .channel_open_session()
            .await
            .map_err(|e| self.lost(e))?;
        channel
            .exec(true, req.command.as_bytes())
            .await
            .map_err(|e| self.lost(e))?;
        let (mut read, write) = channel.split();
        let sent = &self.sent;
        let feed = async move {
            let res: Result<(), String> = async {
                match req.stdin {
                    Stdin::None => {}
                    Stdin::Bytes(b) => {
                        let n = b.len() as u64;
                        write.data_bytes(b).await.map_err(|e| e.to_string())?;
                        sent.fetch_add(n, Ordering::Relaxed);
                    }
                    Stdin::Stream(mut rx) => {
                        while let Some(chunk) = rx.recv().await {
                            let chunk = chunk.map_err(|e| format!("reading local data: {e}"))?;
                            let n = chunk.len() as u64;
                            write.data_bytes(chunk).await.map_err(|e| e.to_string())?;
                            sent.fetch_add(n, Ordering::Relaxed);
                        }
                    }
                }
                Ok(())
            }
            .await;
            // Always end the input so the remote command cannot wait forever.
            let eof = write.eof().await.map_err(|e| e.to_string());
            res.and(eof)
        };
        let collect = async {
            let mut out = ExecOutput::default();
            let mut closed = false;
            while let Some(msg) = read.wait().await {
                match msg {
                    ChannelMsg::Data { data } => out.stdout.extend_from_slice(&data),
                    ChannelMsg::ExtendedData { data, .. } => out.stderr.extend_from_slice(&data),
                    ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        out.signal = Some(format!("{signal_name:?}"))
                    }
                    ChannelMsg::Close => {
                        closed = true;
                        break;
                    }
                    _ => {}
                }
            }
            (out, closed)
        };
        // The command may end before reading all its input: stop feeding then.
        tokio::pin!(feed);
        tokio::pin!(collect);
        let mut fed: Option<Result<(), String>> = None;
        let (out, closed) = loop {
            tokio::select! {
                r = &mut feed, if fed.is_none() => fed = Some(r),
                r = &mut collect => break r,
            }
        };
        if out.status.is_none() && out.signal.is_none() {
            let detail = if closed {
                "the channel closed without an exit status".to_string()
            } else {
                "the connection closed while the command ran".to_string()
            };
            return Err(self.lost(detail));
        }
        if let Some(Err(e)) = fed
            && !out.success()
        {
            return Err(SshError::Other {
                host: self.name.clone(),
                message: format!(
                    "sending input failed: {e}; the command said: {}",
                    out.tail(5)
                ),
            });
        }
        Ok(out)
    }
}
