//! Split volumes: an archive stream cut into numbered files of at most N bytes.
//!
//! `save --split SIZE -o FILE` writes `FILE.000`, `FILE.001`, … (three digits, more past 999)
//! and, last, `FILE.volumes`: JSON with each volume's name, size and sha256. Concatenating the
//! volumes in order gives the plain archive (`cat FILE.??? > FILE` works too). `load` takes
//! `FILE.volumes`, any `FILE.NNN` or `FILE` itself, checks that every volume is there with the
//! right size before reading anything, and verifies each volume's digest as it streams through.

mod reader;
mod writer;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

pub use reader::VolumeReader;
pub use writer::SplitWriter;

/// Suffix of the volume list written beside the volumes.
pub const VOLUMES_SUFFIX: &str = ".volumes";
/// Media type of the volume list.
pub const VOLUMES_MEDIA_TYPE: &str = "application/vnd.sealer.bundle.volumes.v1+json";
/// Smallest volume size accepted (one tar block).
pub const MIN_VOLUME_SIZE: u64 = 512;
/// Largest volume list read.
const MANIFEST_LIMIT: u64 = 16 << 20;

/// `FILE.volumes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeManifest {
    pub schema_version: u32,
    pub media_type: String,
    /// The `--split` size every volume but the last has.
    pub volume_size: u64,
    /// Sum of the volume sizes (the size of the joined archive).
    pub total_size: u64,
    pub volumes: Vec<VolumeEntry>,
}

/// One volume: its file name (relative to the list's directory), size and sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeEntry {
    pub name: String,
    pub size: u64,
    pub digest: String,
}

fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut s = base.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// `FILE.NNN` for volume `index` (0-based).
pub fn volume_path(base: &Path, index: usize) -> PathBuf {
    with_suffix(base, &format!(".{index:03}"))
}

/// `FILE.volumes`.
pub fn manifest_path(base: &Path) -> PathBuf {
    with_suffix(base, VOLUMES_SUFFIX)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn parent_dir(p: &Path) -> PathBuf {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// What a `load` input path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleInput {
    /// A single archive file.
    File(PathBuf),
    /// A volume set, by its `FILE.volumes` list.
    Volumes(PathBuf),
}

/// Decide whether `path` is one archive or (a member of) a volume set: `FILE.volumes`,
/// `FILE.NNN` next to `FILE.volumes`, or a missing `FILE` with `FILE.volumes` beside it.
pub fn resolve_input(path: &Path) -> Result<BundleInput, StoreError> {
    let name = file_name(path);
    if name.ends_with(VOLUMES_SUFFIX) {
        return Ok(BundleInput::Volumes(path.to_path_buf()));
    }
    if path.is_file() {
        if let Some((stem, num)) = name.rsplit_once('.')
            && num.len() >= 3
            && num.bytes().all(|b| b.is_ascii_digit())
        {
            let list = parent_dir(path).join(format!("{stem}{VOLUMES_SUFFIX}"));
            if list.is_file() {
                return Ok(BundleInput::Volumes(list));
            }
            // Several numbered siblings: a volume set whose list was lost. A lone `X.000`
            // is the whole archive and loads as one file.
            let stem_path = parent_dir(path).join(stem);
            if volume_path(&stem_path, 1).is_file() {
                return Err(missing_list(list));
            }
        }
        return Ok(BundleInput::File(path.to_path_buf()));
    }
    let list = manifest_path(path);
    if list.is_file() {
        return Ok(BundleInput::Volumes(list));
    }
    if volume_path(path, 0).is_file() {
        return Err(missing_list(list));
    }
    Err(StoreError::io(
        "open archive",
        path,
        std::io::Error::from(std::io::ErrorKind::NotFound),
    ))
}

fn missing_list(list: PathBuf) -> StoreError {
    StoreError::Volume {
        path: list,
        message: "the volume list is missing; `sealer save --split` writes it beside the \
                  volumes and it must be copied with them"
            .to_string(),
    }
}

/// Read and check a volume list.
pub fn read_manifest(path: &Path) -> Result<VolumeManifest, StoreError> {
    let file = File::open(path).map_err(|e| StoreError::io("open volume list", path, e))?;
    let mut bytes = Vec::new();
    file.take(MANIFEST_LIMIT)
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::io("read volume list", path, e))?;
    let m: VolumeManifest = serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::json(path.display().to_string(), e))?;
    let bad = |message: String| StoreError::Volume {
        path: path.to_path_buf(),
        message,
    };
    if m.schema_version != 1 {
        return Err(bad(format!(
            "unsupported schemaVersion {}",
            m.schema_version
        )));
    }
    if m.volumes.is_empty() {
        return Err(bad("the volume list names no volume".to_string()));
    }
    for v in &m.volumes {
        if v.name.contains('/') || v.name.starts_with('.') {
            return Err(bad(format!(
                "volume name {:?} is not a plain file name",
                v.name
            )));
        }
        crate::digest::parse_sha256(&v.digest)?;
    }
    Ok(m)
}
