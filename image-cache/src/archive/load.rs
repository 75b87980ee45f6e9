//! Read an OCI archive (plain, gzip or zstd; one file or split volumes) into the store. Every
//! blob goes through a verifying BlobWriter; a delta's base is checked before any blob is
//! read; tags are set in one index update only once every image is complete.

use std::io::{BufReader, Cursor, Read, Write};
use std::path::Path;

use oci_spec::image::Descriptor;

use super::bundle::{BUNDLE_FILE, BundleInfo};
use super::pipe::{self, ChunkReader};
use super::volumes::{BundleInput, VolumeReader, resolve_input};
use super::{CONTAINERD_IMAGE_NAME, INDEX_LIMIT};
use crate::digest::parse_sha256;
use crate::error::StoreError;
use crate::reference;
use crate::store::Store;
use crate::store::index::REF_NAME;
use crate::walk::walk;

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const IO_BUFFER: usize = 1 << 20;
/// Largest `sealer-bundle.json` accepted.
const BUNDLE_LIMIT: u64 = 64 << 20;

/// Load an OCI archive; returns the (normalized) names tagged. A corrupt or truncated
/// archive leaves no tag behind (already ingested blobs are orphans for the next prune).
pub fn load(store: &Store, input: impl Read) -> Result<Vec<String>, StoreError> {
    let mut input = input;
    load_stream(store, &mut input, |_| Ok(()))
}

/// Load from a path: a single archive file, or a volume set given as `FILE.volumes`, any
/// `FILE.NNN` or `FILE` (see [`super::volumes`]). Volume damage is reported as such, naming
/// the volume, and nothing is tagged unless every volume verified.
pub fn load_path(store: &Store, path: &Path) -> Result<Vec<String>, StoreError> {
    match resolve_input(path)? {
        BundleInput::File(p) => {
            let file =
                std::fs::File::open(&p).map_err(|e| StoreError::io("open archive", &p, e))?;
            load_read_ahead(store, file, &p)
        }
        BundleInput::Volumes(list) => {
            let mut reader = VolumeReader::open(&list)?;
            load_read_ahead(store, &mut reader, &list).map_err(|e| reader.explain(e))
        }
    }
}

/// [`load_stream`] with the input read (and, for volumes, hashed) on a thread of its own.
fn load_read_ahead(
    store: &Store,
    input: impl Read + Send,
    what: &Path,
) -> Result<Vec<String>, StoreError> {
    let (tx, rx) = pipe::channel();
    std::thread::scope(|s| {
        s.spawn(move || pipe::pump(input, tx));
        let mut chunks = ChunkReader::new(rx);
        // Read to the very end before tagging: the last volume's digest is checked only
        // once its tail (zstd epilogue, tar padding) has been read.
        load_stream(store, &mut chunks, |c| {
            std::io::copy(c, &mut std::io::sink())
                .map(|_| ())
                .map_err(|e| StoreError::io("read", what, e))
        })
        // `chunks` drops here, so the pump stops before the scope joins it.
    })
}

/// The loader: `before_tag` runs on the raw input once the archive is read and before any
/// tag is set (volume input drains and verifies its tail there).
fn load_stream<R: Read>(
    store: &Store,
    input: &mut R,
    before_tag: impl FnOnce(&mut R) -> Result<(), StoreError>,
) -> Result<Vec<String>, StoreError> {
    let _lease = store.lease()?;
    let head = read_head(input, 4)?;
    let contents = {
        let buffered =
            BufReader::with_capacity(IO_BUFFER, Cursor::new(head.clone()).chain(&mut *input));
        let reader: Box<dyn Read + '_> = if head.starts_with(&ZSTD_MAGIC) {
            Box::new(
                zstd::Decoder::with_buffer(buffered)
                    .map_err(|e| StoreError::io("zstd decoder", "archive input", e))?,
            )
        } else if head.starts_with(&GZIP_MAGIC) {
            Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        ingest(store, reader)?
    };
    before_tag(input)?;
    let Some(index) = contents.index else {
        let hint = if contents.saw_docker_manifest {
            " (this looks like a docker-archive; only OCI archives are supported)"
        } else {
            ""
        };
        return Err(StoreError::archive(format!("no index.json found{hint}")));
    };
    let tags = named_entries(&index)?;
    for (name, desc) in &tags {
        let w = walk(store, std::slice::from_ref(desc), false);
        if !w.missing.is_empty() || !w.damage.is_empty() {
            let mut missing = w.missing;
            missing.extend(w.damage);
            return Err(StoreError::IncompleteImage {
                name: name.clone(),
                missing,
            });
        }
    }
    store.set_tags(&tags)?;
    Ok(tags.into_iter().map(|(n, _)| n).collect())
}

/// The first `n` bytes (fewer only at end of input), for magic-number detection.
fn read_head(r: &mut impl Read, n: usize) -> Result<Vec<u8>, StoreError> {
    let mut head = Vec::with_capacity(n);
    r.take(n as u64)
        .read_to_end(&mut head)
        .map_err(|e| StoreError::io("read", "archive input", e))?;
    Ok(head)
}

#[derive(Default)]
struct Contents {
    index: Option<Vec<u8>>,
    saw_docker_manifest: bool,
}

fn ingest(store: &Store, reader: impl Read) -> Result<Contents, StoreError> {
    let tar_err = |e| StoreError::io("read tar", "archive input", e);
    let mut archive = tar::Archive::new(reader);
    let mut contents = Contents::default();
    for entry in archive.entries().map_err(tar_err)? {
        let mut entry = entry.map_err(tar_err)?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            continue;
        }
        let raw_path = entry
            .path()
            .map_err(tar_err)?
            .to_string_lossy()
            .into_owned();
        let path = raw_path.trim_start_matches("./").trim_start_matches('/');
        match path {
            "oci-layout" => check_layout(&read_small(&mut entry, 4096, path)?)?,
            "index.json" => contents.index = Some(read_small(&mut entry, INDEX_LIMIT, path)?),
            "manifest.json" => contents.saw_docker_manifest = true,
            BUNDLE_FILE => {
                let info = BundleInfo::parse(&read_small(&mut entry, BUNDLE_LIMIT, path)?)?;
                // Before any blob is read: a delta whose base is missing changes nothing.
                info.check_base(store)?;
            }
            p => {
                if let Some(hex) = p.strip_prefix("blobs/sha256/") {
                    ingest_blob(store, &mut entry, hex)?;
                }
            }
        }
    }
    Ok(contents)
}

fn read_small(r: &mut impl Read, limit: u64, what: &str) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    r.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| StoreError::io("read", what, e))?;
    if out.len() as u64 > limit {
        return Err(StoreError::archive(format!(
            "{what} is larger than {limit} bytes"
        )));
    }
    Ok(out)
}

fn check_layout(bytes: &[u8]) -> Result<(), StoreError> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| StoreError::json("archive oci-layout", e))?;
    match v.get("imageLayoutVersion").and_then(|v| v.as_str()) {
        Some("1.0.0") => Ok(()),
        other => Err(StoreError::archive(format!(
            "unsupported imageLayoutVersion {other:?} in oci-layout"
        ))),
    }
}

fn ingest_blob(store: &Store, entry: &mut impl Read, hex: &str) -> Result<(), StoreError> {
    let expected = parse_sha256(&format!("sha256:{hex}"))
        .map_err(|_| StoreError::archive(format!("bad blob name blobs/sha256/{hex}")))?;
    if store.has_blob(&expected) {
        return Ok(());
    }
    let mut w = store.blob_writer()?;
    let err = |e| StoreError::io("read blob from archive", format!("blobs/sha256/{hex}"), e);
    // Large reads: std::io::copy would move 8 KiB at a time through decoder and hasher.
    let mut buf = vec![0u8; IO_BUFFER];
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(err(e)),
        };
        w.write_all(&buf[..n]).map_err(err)?;
    }
    w.finish(Some(&expected))?;
    Ok(())
}

/// (normalized name, descriptor) for every named index entry.
fn named_entries(index: &[u8]) -> Result<Vec<(String, Descriptor)>, StoreError> {
    let value: serde_json::Value =
        serde_json::from_slice(index).map_err(|e| StoreError::json("archive index.json", e))?;
    let items = value
        .get("manifests")
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let desc: Descriptor = serde_json::from_value(item)
            .map_err(|e| StoreError::json(format!("archive index.json manifests[{i}]"), e))?;
        let ann = desc.annotations().clone().unwrap_or_default();
        let Some(name) = ann.get(CONTAINERD_IMAGE_NAME).or_else(|| ann.get(REF_NAME)) else {
            continue;
        };
        let name = reference::normalize(name)?;
        out.push((name, desc));
    }
    if out.is_empty() {
        return Err(StoreError::archive(
            "index.json has no named image (no org.opencontainers.image.ref.name annotation)",
        ));
    }
    Ok(out)
}
