//! Registries for the registry benchmark: Debian's `docker-registry` and `sealer registry
//! serve`, each on a free 127.0.0.1 port, killed by PID when dropped; and the byte counter that
//! reads `docker-registry`'s JSON log.

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A server process with its log file; SIGKILLed and reaped on drop.
pub struct Daemon {
    child: Child,
    pub log: PathBuf,
    pub addr: String,
}

impl Daemon {
    fn spawn(mut cmd: Command, log: &Path, addr: String) -> Result<Daemon> {
        let out =
            std::fs::File::create(log).with_context(|| format!("create log {}", log.display()))?;
        let err = out.try_clone()?;
        let child = cmd
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .with_context(|| format!("spawn {cmd:?}"))?;
        let d = Daemon {
            child,
            log: log.to_path_buf(),
            addr,
        };
        d.wait_ready()?;
        Ok(d)
    }

    fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while http_status(&self.addr, "/v2/") != Some(200) {
            if Instant::now() > deadline {
                bail!(
                    "registry on {} did not start:\n{}",
                    self.addr,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set (VmHWM) of the server so far, in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Current length of the log file (a mark for [`upstream_bytes_since`]).
    pub fn log_len(&self) -> u64 {
        std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status code of a plain-HTTP `GET path` on `addr`, or None when nothing answers.
fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    String::from_utf8_lossy(&buf[..n])
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// Debian's docker-registry over `root`. `json_log` logs every response (JSON, info level) so
/// [`upstream_bytes_since`] can count what clients fetched; otherwise it logs warnings only.
pub fn docker_registry(root: &Path, read_only: bool, json_log: bool, dir: &Path) -> Result<Daemon> {
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let cfg = dir.join(format!("registry-{port}.yml"));
    let maintenance = if read_only {
        "  maintenance:\n    readonly: {enabled: true}\n    uploadpurging: {enabled: false}\n"
    } else {
        ""
    };
    let log = if json_log {
        "log: {level: info, formatter: json, accesslog: {disabled: true}}\n"
    } else {
        "log: {level: warn, accesslog: {disabled: true}}\n"
    };
    std::fs::write(
        &cfg,
        format!(
            "version: 0.1\n{log}storage:\n  filesystem: {{rootdirectory: {}}}\n{maintenance}http: {{addr: {addr}}}\n",
            root.display()
        ),
    )?;
    let mut cmd = Command::new("docker-registry");
    cmd.arg("serve").arg(&cfg);
    Daemon::spawn(cmd, &dir.join(format!("registry-{port}.log")), addr)
}

/// `sealer registry serve --read-only` over `root` (no access log: the peer logs warnings only).
pub fn sealer_registry(sealer: &Path, root: &Path, dir: &Path) -> Result<Daemon> {
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(sealer);
    cmd.args(["registry", "serve", "--read-only", "--dir"])
        .arg(root)
        .args(["--addr", &addr]);
    Daemon::spawn(cmd, &dir.join(format!("sealer-registry-{port}.log")), addr)
}

/// What clients fetched from a `json_log` docker-registry since a log mark.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fetched {
    /// Requests answered (any method, any path).
    pub requests: u64,
    /// Blob GETs answered with a body.
    pub blob_gets: u64,
    /// Body bytes of blob GETs.
    pub blob_bytes: u64,
    /// Body bytes of every response.
    pub total_bytes: u64,
}

/// Sum docker-registry's `response completed` log lines written after byte offset `mark`.
pub fn upstream_bytes_since(d: &Daemon, mark: u64) -> Result<Fetched> {
    // The registry logs a response after writing it; give the last line a moment to land.
    std::thread::sleep(Duration::from_millis(300));
    let text = std::fs::read(&d.log).with_context(|| format!("read {}", d.log.display()))?;
    let start = usize::try_from(mark).unwrap_or(usize::MAX).min(text.len());
    let mut f = Fetched::default();
    for line in text[start..].split(|b| *b == b'\n') {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if !v["msg"]
            .as_str()
            .is_some_and(|m| m.starts_with("response completed"))
        {
            continue;
        }
        let written = v["http.response.written"].as_u64().unwrap_or(0);
        f.requests += 1;
        f.total_bytes += written;
        let uri = v["http.request.uri"].as_str().unwrap_or("");
        if v["http.request.method"] == "GET" && uri.contains("/blobs/sha256:") {
            f.blob_gets += 1;
            f.blob_bytes += written;
        }
    }
    Ok(f)
}
