//! A fake host for tests: commands run on this machine through `sh -c`, with the host's
//! filesystem root mapped to a directory. Failures can be injected per host.

use super::{ExecOutput, ExecRequest, Host, HostConnector, HostSpec, SshError, Stdin};
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;

/// One fake host.
#[derive(Debug, Clone, Default)]
pub struct LocalHostConfig {
    /// Directory standing for the host's `/`.
    pub root: PathBuf,
    /// Refuse connections like a host that is down.
    pub unreachable: bool,
    /// When set, only this password is accepted.
    pub password: Option<String>,
    /// Commands containing one of these strings exit 97 with "injected failure".
    pub fail_on: Vec<String>,
    /// Commands containing one of these strings lose the connection.
    pub disconnect_on: Vec<String>,
    /// What `uname -m` answers (default: this machine's).
    pub arch: Option<String>,
}

/// Connector over [`LocalHostConfig`]s keyed by IP.
#[derive(Default)]
pub struct LocalConnector {
    hosts: Mutex<BTreeMap<IpAddr, LocalHostConfig>>,
    connects: AtomicUsize,
}

impl LocalConnector {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add_host(&self, ip: IpAddr, cfg: LocalHostConfig) {
        if let Ok(mut g) = self.hosts.lock() {
            g.insert(ip, cfg);
        }
    }
    /// Change a host's config in place (e.g. inject or clear failures).
    pub fn update(&self, ip: IpAddr, f: impl FnOnce(&mut LocalHostConfig)) {
        if let Ok(mut g) = self.hosts.lock()
            && let Some(c) = g.get_mut(&ip)
        {
            f(c);
        }
    }
    /// How many connections were opened so far.
    pub fn connect_count(&self) -> usize {
        self.connects.load(Ordering::Relaxed)
    }
}

impl HostConnector for LocalConnector {
    fn connect<'a>(&'a self, spec: &'a HostSpec) -> BoxFuture<'a, Result<Arc<dyn Host>, SshError>> {
        Box::pin(async move {
            let name = spec.display_name();
            let cfg = self
                .hosts
                .lock()
                .ok()
                .and_then(|g| g.get(&spec.ip).cloned());
            let Some(cfg) = cfg.filter(|c| !c.unreachable) else {
                return Err(SshError::Connect {
                    host: name,
                    message: "No route to host (fake)".into(),
                });
            };
            if let Some(pw) = &cfg.password
                && spec.credentials.password.as_ref() != Some(pw)
            {
                return Err(SshError::Auth {
                    host: name,
                    user: spec.credentials.user.clone(),
                    methods: "password".into(),
                });
            }
            self.connects.fetch_add(1, Ordering::Relaxed);
            Ok(Arc::new(LocalHost {
                root: cfg.root.to_string_lossy().into_owned(),
                name,
                cfg,
                sent: AtomicU64::new(0),
            }) as Arc<dyn Host>)
        })
    }
}

struct LocalHost {
    name: String,
    root: String,
    cfg: LocalHostConfig,
    sent: AtomicU64,
}

impl Host for LocalHost {
    fn name(&self) -> &str {
        &self.name
    }
    fn root(&self) -> &str {
        &self.root
    }
    fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
    fn exec(&self, req: ExecRequest) -> BoxFuture<'_, Result<ExecOutput, SshError>> {
        Box::pin(async move {
            if self
                .cfg
                .disconnect_on
                .iter()
                .any(|s| req.command.contains(s))
            {
                return Err(SshError::Disconnected {
                    host: self.name.clone(),
                    detail: "injected disconnect".into(),
                });
            }
            if self.cfg.fail_on.iter().any(|s| req.command.contains(s)) {
                return Ok(ExecOutput {
                    status: Some(97),
                    stderr: b"injected failure\n".to_vec(),
                    ..Default::default()
                });
            }
            let other = |e: std::io::Error| SshError::Other {
                host: self.name.clone(),
                message: format!("local exec: {e}"),
            };
            let mut cmd = tokio::process::Command::new("sh");
            cmd.arg("-c")
                .arg(&req.command)
                .env("SEALER_FAKE_HOST", &self.name)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            if let Some(arch) = &self.cfg.arch {
                // `uname -m` is answered by a wrapper in front of PATH.
                let dir = PathBuf::from(&self.root).join(".fake-bin");
                std::fs::create_dir_all(&dir).map_err(other)?;
                let uname = dir.join("uname");
                std::fs::write(&uname, format!("#!/bin/sh\necho {arch}\n")).map_err(other)?;
                std::fs::set_permissions(
                    &uname,
                    std::os::unix::fs::PermissionsExt::from_mode(0o755),
                )
                .map_err(other)?;
                let path = std::env::var("PATH").unwrap_or_default();
                cmd.env("PATH", format!("{}:{path}", dir.display()));
            }
            let mut child = cmd.spawn().map_err(other)?;
            let mut stdin = child.stdin.take();
            let sent = &self.sent;
            let feed = async move {
                if let Some(w) = stdin.as_mut() {
                    match req.stdin {
                        Stdin::None => {}
                        Stdin::Bytes(b) => {
                            if w.write_all(&b).await.is_ok() {
                                sent.fetch_add(b.len() as u64, Ordering::Relaxed);
                            }
                        }
                        Stdin::Stream(mut rx) => {
                            while let Some(Ok(chunk)) = rx.recv().await {
                                if w.write_all(&chunk).await.is_err() {
                                    break;
                                }
                                sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                            }
                        }
                    }
                }
                drop(stdin);
            };
            let (_, out) = tokio::join!(feed, child.wait_with_output());
            let out = out.map_err(other)?;
            Ok(ExecOutput {
                status: out.status.code().map(|c| c as u32),
                signal: std::os::unix::process::ExitStatusExt::signal(&out.status)
                    .map(|s| s.to_string()),
                stdout: out.stdout,
                stderr: out.stderr,
            })
        })
    }
}
