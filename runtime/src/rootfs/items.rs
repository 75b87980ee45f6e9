//! What a host should hold (manifest plus overlay), how to ask a host what it has, and how to
//! read its answer into what must be sent.

use super::manifest::{EntryKind, Manifest, hash_bytes};
use super::overlay::Overlay;
use crate::ssh::ShellQuote;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
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

impl Item {
    pub fn is_file(&self) -> bool {
        matches!(self, Item::File { .. })
    }
    /// Whether the content comes from memory (an overlay file), not from the source tree.
    pub fn in_memory(&self) -> bool {
        matches!(
            self,
            Item::File {
                source: Source::Memory(_),
                ..
            }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Disk,
    Memory(Arc<Vec<u8>>),
}

/// Every path the host must hold: the manifest with the overlay's files on top.
pub(crate) fn effective(manifest: &Manifest, overlay: &Overlay) -> BTreeMap<String, Item> {
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

/// `sha256sum -c` input for every file.
pub(crate) fn sums(items: &BTreeMap<String, Item>) -> String {
    let mut sums = String::new();
    for (path, item) in items {
        if let Item::File { digest, .. } = item {
            sums.push_str(&format!("{digest}  ./{path}\n"));
        }
    }
    sums
}

/// The probe: which tar the host has, then its directories and symlinks, then which files
/// fail their digest (read from stdin).
pub(crate) fn probe_command(dest: &str) -> String {
    format!(
        "if tar --version 2>/dev/null | grep -q 'GNU tar'; then printf 'GNU\\0'; else printf 'TAR\\0'; fi; if [ -d {d} ]; then cd {d} && find . -mindepth 1 \\( -type d -o -type l \\) -printf '%y %P\\0%l\\0' && printf 'SEALER-SUMS\\0' && {{ sha256sum -c --quiet - 2>/dev/null; true; }}; else printf 'ABSENT\\0'; fi",
        d = dest.sq()
    )
}

/// What the probe found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    /// GNU tar (takes a large blocking factor).
    pub gnu_tar: bool,
    /// Everything missing or different, in path order.
    pub missing: Vec<(String, Item)>,
}

/// Parse the probe's answer into what must be sent.
pub(crate) fn parse_answer(items: &BTreeMap<String, Item>, answer: &[u8]) -> Answer {
    let (gnu_tar, answer) = match answer.strip_prefix(b"GNU\0") {
        Some(rest) => (true, rest),
        None => (false, answer.strip_prefix(b"TAR\0").unwrap_or(answer)),
    };
    let all = || items.iter().map(|(p, i)| (p.clone(), i.clone())).collect();
    if answer.starts_with(b"ABSENT\0") {
        return Answer {
            gnu_tar,
            missing: all(),
        };
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
    let missing = items
        .iter()
        .filter(|(path, item)| match item {
            Item::Dir { .. } => !dirs.contains(*path),
            Item::Link { target } => links.get(*path) != Some(target),
            Item::File { .. } => failed.contains(*path),
        })
        .map(|(p, i)| (p.clone(), i.clone()))
        .collect();
    Answer { gnu_tar, missing }
}
