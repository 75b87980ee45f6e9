//! Send a rootfs to hosts, moving only what each lacks.
//!
//! 1. Every host is sent the manifest as `sha256sum -c` input and answers which files fail,
//!    plus which directories and symlinks it has (and whether its tar is GNU tar).
//! 2. Hosts missing the same entries of the source tree form a group: the tree is read once
//!    and each chunk of the tar stream goes to every host of the group (shared, not copied).
//!    Each host then gets its own overlay files and the end of the archive, all into one
//!    `tar -x`. A cut transfer leaves good files behind; the rerun sends the rest.

use super::items::{Answer, Item, effective, parse_answer, probe_command, sums};
use super::manifest::Manifest;
use super::overlay::Overlay;
use super::tarstream::{CHUNK, Member, TarWriter, fan_out};
use crate::ssh::{ExecRequest, Host, ShellQuote, SshError, Stdin, run_checked};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What a distribution did on one host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DistributeStats {
    pub files: usize,
    pub files_sent: usize,
    /// Bytes of the tar stream (0 when the host had everything).
    pub bytes_sent: u64,
}

/// One host to distribute to: where, and its install-time overlay.
#[derive(Clone)]
pub struct Target {
    pub host: Arc<dyn Host>,
    pub dest: String,
    pub overlay: Overlay,
}

/// Chunks buffered per host ahead of its SSH channel.
const QUEUE: usize = 8;
/// GNU tar record size in 512-byte blocks (1 MiB: fewer, larger reads and writes).
const GNU_BLOCKING: usize = CHUNK / 512;

/// Make `dest` on `host` hold exactly the manifest's content (plus the overlay).
pub async fn distribute(
    host: &dyn Host,
    dest: &str,
    manifest: &Arc<Manifest>,
    overlay: &Overlay,
    timeout: Duration,
) -> Result<DistributeStats, SshError> {
    let plan = probe(host, dest, manifest, overlay, timeout).await?;
    let mut out = send(vec![(host, dest, plan)], manifest, timeout).await;
    out.pop().unwrap_or_else(|| Ok(DistributeStats::default()))
}

/// Distribute to every target at once, reading the source tree once for hosts that lack the
/// same entries; one result per target, in order.
pub async fn distribute_all(
    targets: &[Target],
    manifest: &Arc<Manifest>,
    timeout: Duration,
) -> Vec<Result<DistributeStats, SshError>> {
    let probes = futures::future::join_all(
        targets
            .iter()
            .map(|t| probe(&*t.host, &t.dest, manifest, &t.overlay, timeout)),
    )
    .await;
    let mut results: Vec<Option<Result<DistributeStats, SshError>>> = Vec::new();
    let mut ready = Vec::new();
    let mut slots = Vec::new();
    for (i, (t, p)) in targets.iter().zip(probes).enumerate() {
        match p {
            Ok(plan) => {
                results.push(None);
                ready.push((&*t.host, t.dest.as_str(), plan));
                slots.push(i);
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }
    let sent = send(ready, manifest, timeout).await;
    for (slot, r) in slots.into_iter().zip(sent) {
        results[slot] = Some(r);
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Ok(DistributeStats::default())))
        .collect()
}

/// What one host needs.
struct Plan {
    files: usize,
    gnu_tar: bool,
    /// Missing entries of the source tree (shareable with hosts missing the same).
    tree: Vec<(String, Item)>,
    /// Missing overlay files (this host's own).
    own: Vec<(String, Item)>,
}

async fn probe(
    host: &dyn Host,
    dest: &str,
    manifest: &Manifest,
    overlay: &Overlay,
    timeout: Duration,
) -> Result<Plan, SshError> {
    let items = effective(manifest, overlay);
    let out = run_checked(
        host,
        ExecRequest::new(probe_command(dest))
            .stdin(Stdin::Bytes(sums(&items).into_bytes()))
            .timeout(timeout),
        "check the rootfs digests",
    )
    .await?;
    let Answer { gnu_tar, missing } = parse_answer(&items, &out.stdout);
    let (own, tree) = missing.into_iter().partition(|(_, i)| i.in_memory());
    Ok(Plan {
        files: items.values().filter(|i| i.is_file()).count(),
        gnu_tar,
        tree,
        own,
    })
}

/// Stream every plan's missing entries; hosts with the same missing tree entries share one
/// read of the source tree.
async fn send(
    plans: Vec<(&dyn Host, &str, Plan)>,
    manifest: &Arc<Manifest>,
    timeout: Duration,
) -> Vec<Result<DistributeStats, SshError>> {
    let mut groups: BTreeMap<Vec<&str>, Vec<usize>> = BTreeMap::new();
    for (i, (_, _, p)) in plans.iter().enumerate() {
        if !p.tree.is_empty() || !p.own.is_empty() {
            let key = p.tree.iter().map(|(path, _)| path.as_str()).collect();
            groups.entry(key).or_default().push(i);
        }
    }
    let counters: Vec<Arc<AtomicU64>> = plans.iter().map(|_| Arc::default()).collect();
    let mut receivers: Vec<Option<_>> = plans.iter().map(|_| None).collect();
    let mut producers = Vec::new();
    for members in groups.values() {
        let mut senders = Vec::new();
        let mut own = Vec::new();
        for &i in members {
            let (tx, rx) = tokio::sync::mpsc::channel(QUEUE);
            receivers[i] = Some(rx);
            senders.push(Member {
                tx,
                sent: counters[i].clone(),
            });
            own.push(plans[i].2.own.clone());
        }
        let tree = plans[members[0]].2.tree.clone();
        let root = manifest.root.clone();
        let ids = members.clone();
        producers.push((
            ids,
            tokio::task::spawn_blocking(move || produce(&root, &tree, &senders, &own)),
        ));
    }
    let execs = plans.iter().zip(receivers).map(|((host, dest, plan), rx)| {
        let blocking = if plan.gnu_tar {
            format!(" -b {GNU_BLOCKING}")
        } else {
            String::new()
        };
        let cmd = format!(
            "mkdir -p {d} && tar -x{blocking} -f - -C {d} --no-same-owner",
            d = dest.sq()
        );
        async move {
            let Some(rx) = rx else {
                return Ok(());
            };
            let req = ExecRequest::new(cmd)
                .stdin(Stdin::Stream(rx))
                .timeout(timeout);
            run_checked(*host, req, "unpack the rootfs (tar -x)")
                .await
                .map(|_| ())
        }
    });
    let outcomes = futures::future::join_all(execs).await;
    let mut local_errors: Vec<Option<String>> = plans.iter().map(|_| None).collect();
    for (ids, task) in producers {
        let err = match task.await {
            Ok(Ok(())) => None,
            // Every host stopped reading: their own commands say why.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(format!("the reader task failed: {e}")),
        };
        for i in ids {
            local_errors[i] = err.clone();
        }
    }
    plans
        .iter()
        .zip(outcomes)
        .zip(local_errors)
        .zip(counters)
        .map(|((((host, _, plan), outcome), local), sent)| {
            // A local read error is the cause of whatever the host's tar then said.
            if let Some(message) = local {
                return Err(SshError::Other {
                    host: host.name().to_string(),
                    message: format!("reading the local rootfs failed: {message}"),
                });
            }
            outcome?;
            let files_sent = plan.tree.iter().chain(&plan.own);
            Ok(DistributeStats {
                files: plan.files,
                files_sent: files_sent.filter(|(_, i)| i.is_file()).count(),
                bytes_sent: sent.load(Ordering::Relaxed),
            })
        })
        .collect()
}

/// Write the shared tree entries to every member, then each member's own files and the end of
/// its archive. A member that stops reading is dropped; a local read error aborts everyone.
fn produce(
    root: &std::path::Path,
    tree: &[(String, Item)],
    members: &[Member],
    own: &[Vec<(String, Item)>],
) -> std::io::Result<()> {
    let run = || -> std::io::Result<()> {
        let mut live: Vec<&Member> = members.iter().collect();
        let mut shared = TarWriter::new();
        let mut emit = |c: Bytes| fan_out(&mut live, c);
        for (path, item) in tree {
            shared.append(root, path, item, &mut emit)?;
        }
        shared.flush(&mut emit)?;
        for (m, items) in members.iter().zip(own) {
            let mut w = TarWriter::new();
            let mut emit = |c: Bytes| fan_out(&mut vec![m], c);
            let res = items
                .iter()
                .try_for_each(|(path, item)| w.append(root, path, item, &mut emit))
                .and_then(|()| w.finish(&mut emit));
            // A member that stopped reading fails through its own command.
            if let Err(e) = res
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e);
            }
        }
        Ok(())
    };
    let res = run();
    if let Err(e) = &res {
        for m in members {
            m.fail(e);
        }
    }
    res
}

#[cfg(test)]
#[path = "../tests/rootfs_distribute.rs"]
mod tests;
