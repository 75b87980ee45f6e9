//! Send a rootfs to a host, moving only what it lacks.
//!
//! 1. The host is sent the manifest as `sha256sum -c` input and answers which files fail, plus
//!    which directories and symlinks it has. 2. Everything missing or different goes as one tar
//!    stream into `tar -x`. A cut transfer leaves good files behind; the rerun sends the rest.

use super::manifest::{EntryKind, Manifest, hash_bytes};
use super::overlay::Overlay;
use crate::ssh::{ExecRequest, Host, ShellQuote, SshError, Stdin, run_checked};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// What a distribution did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DistributeStats {
    pub files: usize,
    pub files_sent: usize,
    /// Bytes of the tar stream (0 when the host had everything).
    pub bytes_sent: u64,
}

#[derive(Debug, Clone)]
enum Item {
    Dir {
        mode: u32,
    },
    Link {
        target: String,
    },
    File {
        mode: u32,
        digest: String,
        source: Source,
    },
}

#[derive(Debug, Clone)]
enum Source {
    Disk,
    Memory(Arc<Vec<u8>>),
}

fn effective(manifest: &Manifest, overlay: &Overlay) -> BTreeMap<String, Item> {
    let mut items = BTreeMap::new();
    for e in &manifest.entries {
        let item = match &e.kind {
            EntryKind::Dir => Item::Dir { mode: e.mode },
            EntryKind::Symlink { target } => Item::Link {
                target: target.clone(),
            },
            EntryKind::File { digest, .. } => Item::File {
                mode: e.mode,
                digest: digest.clone(),
                source: Source::Disk,
            },
        };
        items.insert(e.path.clone(), item);
    }
    for (path, (content, mode)) in &overlay.files {
        items.insert(
            path.clone(),
            Item::File {
                mode: *mode,
                digest: hash_bytes(content),
                source: Source::Memory(Arc::new(content.clone())),
            },
        );
    }
    items
}

/// One host to distribute to: where, and its install-time overlay.
#[derive(Clone)]
pub struct Target {
    pub host: Arc<dyn Host>,
    pub dest: String,
    pub overlay: Overlay,
}

/// Distribute to every target at once; one result per target, in order.
pub async fn distribute_all(
    targets: &[Target],
    manifest: &Arc<Manifest>,
    timeout: Duration,
) -> Vec<Result<DistributeStats, SshError>> {
    futures::future::join_all(
        targets
            .iter()
            .map(|t| distribute(&*t.host, &t.dest, manifest, &t.overlay, timeout)),
    )
    .await
}

/// Make `dest` on `host` hold exactly the manifest's content (plus the overlay).
pub async fn distribute(
    host: &dyn Host,
    dest: &str,
    manifest: &Arc<Manifest>,
    overlay: &Overlay,
    timeout: Duration,
) -> Result<DistributeStats, SshError> {
    let items = effective(manifest, overlay);
    let mut sums = String::new();
    for (path, item) in &items {
        if let Item::File { digest, .. } = item {
            sums.push_str(&format!("{digest}  ./{path}\n"));
        }
    }
    let probe = format!(
        "if [ -d {d} ]; then cd {d} && find . -mindepth 1 \\( -type d -o -type l \\) -printf '%y %P\\0%l\\0' && printf 'SEALER-SUMS\\0' && {{ sha256sum -c --quiet - 2>/dev/null; true; }}; else printf 'ABSENT\\0'; fi",
        d = dest.sq()
    );
    let out = run_checked(
        host,
        ExecRequest::new(probe)
            .stdin(Stdin::Bytes(sums.into_bytes()))
            .timeout(timeout),
        "check the rootfs digests",
    )
    .await?;
    let missing = missing_items(&items, &out.stdout);
    let files = items
        .values()
        .filter(|i| matches!(i, Item::File { .. }))
        .count();
    let files_sent = missing
        .iter()
        .filter(|(_, i)| matches!(i, Item::File { .. }))
        .count();
    if missing.is_empty() {
        return Ok(DistributeStats {
            files,
            files_sent: 0,
            bytes_sent: 0,
        });
    }
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let root = manifest.root.clone();
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = counter.clone();
    let builder = tokio::task::spawn_blocking(move || {
        let err_tx = tx.clone();
        let writer = ChunkWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
            counted,
        };
        if let Err(e) = write_tar(writer, &root, &missing) {
            let _ = err_tx.blocking_send(Err(e));
        }
    });
    let cmd = format!(
        "mkdir -p {d} && tar -x -f - -C {d} --no-same-owner",
        d = dest.sq()
    );
    let res = run_checked(
        host,
        ExecRequest::new(cmd)
            .stdin(Stdin::Stream(rx))
            .timeout(timeout),
        "unpack the rootfs (tar -x)",
    )
    .await;
    builder.abort();
    res?;
    Ok(DistributeStats {
        files,
        files_sent,
        bytes_sent: counter.load(std::sync::atomic::Ordering::Relaxed),
    })
}

/// Parse the probe's answer into what must be sent.
fn missing_items(items: &BTreeMap<String, Item>, answer: &[u8]) -> Vec<(String, Item)> {
    if answer.starts_with(b"ABSENT\0") {
        return items.iter().map(|(p, i)| (p.clone(), i.clone())).collect();
    }
    let marker = b"SEALER-SUMS\0";
    let split = answer
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap_or(answer.len());
    let (tree, sums) = answer.split_at(split);
    let sums = sums.get(marker.len()..).unwrap_or(&[]);
    let mut dirs = BTreeSet::new();
    let mut links = BTreeMap::new();
    let mut fields = tree.split(|b| *b == 0);
    while let (Some(head), Some(link)) = (fields.next(), fields.next()) {
        let head = String::from_utf8_lossy(head);
        let Some((kind, path)) = head.split_once(' ') else {
            continue;
        };
        match kind {
            "d" => {
                dirs.insert(path.to_string());
            }
            "l" => {
                links.insert(path.to_string(), String::from_utf8_lossy(link).into_owned());
            }
            _ => {}
        }
    }
    let failed: BTreeSet<String> = String::from_utf8_lossy(sums)
        .lines()
        .filter_map(|l| l.rsplit_once(": FAILED").map(|(p, _)| p))
        .map(|p| p.strip_prefix("./").unwrap_or(p).to_string())
        .collect();
    items
        .iter()
        .filter(|(path, item)| match item {
            Item::Dir { .. } => !dirs.contains(*path),
            Item::Link { target } => links.get(*path) != Some(target),
            Item::File { .. } => failed.contains(*path),
        })
        .map(|(p, i)| (p.clone(), i.clone()))
        .collect()
}

const CHUNK: usize = 256 * 1024;

struct ChunkWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    counted: Arc<std::sync::atomic::AtomicU64>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.counted
            .fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "host stopped reading")
        })
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

fn write_tar(
    writer: ChunkWriter,
    root: &std::path::Path,
    items: &[(String, Item)],
) -> std::io::Result<()> {
    let mut b = tar::Builder::new(writer);
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    for (path, item) in items {
        let src = root.join(path);
        let mtime = || {
            std::fs::symlink_metadata(&src)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
                .unwrap_or(now)
        };
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        match item {
            Item::Dir { mode } => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                h.set_mtime(mtime());
                h.set_size(0);
                b.append_data(&mut h, path, std::io::empty())?;
            }
            Item::Link { target } => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_mtime(mtime());
                h.set_size(0);
                b.append_link(&mut h, path, target)?;
            }
            Item::File { mode, source, .. } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                match source {
                    Source::Disk => {
                        let f = std::fs::File::open(&src)?;
                        let len = f.metadata()?.len();
                        h.set_size(len);
                        h.set_mtime(mtime());
                        use std::io::Read;
                        b.append_data(&mut h, path, f.take(len))?;
                    }
                    Source::Memory(bytes) => {
                        h.set_size(bytes.len() as u64);
                        h.set_mtime(now);
                        b.append_data(&mut h, path, bytes.as_slice())?;
                    }
                }
            }
        }
    }
    let mut w = b.into_inner()?;
    w.flush()
}

#[cfg(test)]
#[path = "distribute_tests.rs"]
mod tests;
