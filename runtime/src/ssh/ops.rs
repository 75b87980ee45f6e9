//! Small operations built on [`Host::exec`]: checked commands, quoting, file uploads.

use super::{ExecOutput, ExecRequest, Host, SshError, Stdin};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// POSIX shell single-quoting.
pub trait ShellQuote {
    fn sq(&self) -> String;
}

impl<T: AsRef<str> + ?Sized> ShellQuote for T {
    fn sq(&self) -> String {
        format!("'{}'", self.as_ref().replace('\'', r"'\''"))
    }
}

/// How many lines of output an error keeps.
const TAIL_LINES: usize = 15;

/// Run a command and turn a non-zero exit into [`SshError::Command`] with the output's tail.
pub async fn run_checked(
    host: &dyn Host,
    req: ExecRequest,
    label: &str,
) -> Result<ExecOutput, SshError> {
    let out = host.exec(req).await?;
    if out.success() {
        Ok(out)
    } else {
        Err(SshError::Command {
            host: host.name().to_string(),
            command: label.to_string(),
            status: out.status_text(),
            output: out.tail(TAIL_LINES),
        })
    }
}

/// Write `bytes` to `remote` atomically (temp file + rename) with `mode`.
pub async fn upload_bytes(
    host: &dyn Host,
    remote: &str,
    bytes: Vec<u8>,
    mode: u32,
) -> Result<(), SshError> {
    let tmp = format!("{remote}.sealer-tmp");
    let cmd = format!(
        "mkdir -p \"$(dirname {r})\" && cat > {t} && chmod {mode:o} {t} && mv -f {t} {r}",
        r = remote.sq(),
        t = tmp.sq()
    );
    run_checked(
        host,
        ExecRequest::new(cmd).stdin(Stdin::Bytes(bytes)),
        &format!("write {remote}"),
    )
    .await
    .map(|_| ())
}

/// Copy a local file to `remote` unless the host already has the same content (by SHA-256).
/// Returns whether bytes were sent.
pub async fn upload_file(
    host: &dyn Host,
    local: &Path,
    remote: &str,
    mode: u32,
    timeout: Duration,
) -> Result<bool, SshError> {
    let local_err = |e: std::io::Error| SshError::Other {
        host: host.name().to_string(),
        message: format!("cannot read local file {}: {e}", local.display()),
    };
    let digest = file_digest(local).map_err(local_err)?;
    let probe = format!("sha256sum {} 2>/dev/null || true", remote.sq());
    let have = run_checked(host, ExecRequest::new(probe), "sha256sum").await?;
    if have.stdout_text().split_whitespace().next() == Some(digest.as_str()) {
        return Ok(false);
    }
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let path = local.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || {
        let send = |r: std::io::Result<bytes::Bytes>| tx.blocking_send(r).is_ok();
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                send(Err(e));
                return;
            }
        };
        loop {
            let mut buf = vec![0u8; 256 * 1024];
            match f.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if !send(Ok(bytes::Bytes::from(buf))) {
                        return;
                    }
                }
                Err(e) => {
                    send(Err(e));
                    return;
                }
            }
        }
    });
    let tmp = format!("{remote}.sealer-tmp");
    let cmd = format!(
        "mkdir -p \"$(dirname {r})\" && cat > {t} && chmod {mode:o} {t} && mv -f {t} {r}",
        r = remote.sq(),
        t = tmp.sq()
    );
    let res = run_checked(
        host,
        ExecRequest::new(cmd)
            .stdin(Stdin::Stream(rx))
            .timeout(timeout),
        &format!("upload {}", remote),
    )
    .await;
    reader.abort();
    res.map(|_| true)
}

/// Hex SHA-256 of a local file.
pub fn file_digest(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
#[path = "../tests/ssh_ops.rs"]
mod tests;
