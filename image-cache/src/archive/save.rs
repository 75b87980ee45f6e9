//! Write an OCI archive: deterministic (sorted entries, fixed mtime/uid), streaming,
//! every blob once and re-hashed on the way out; optionally a delta against an inventory
//! and/or cut into volumes.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use oci_spec::image::Descriptor;
use serde_json::{Value, json};

use super::ArchiveCompression;
use super::bundle::{ANNOTATION_DELTA, ANNOTATION_OMITTED, BUNDLE_FILE, BundleInfo, omittable};
use super::inventory::Inventory;
use super::pipe::{self, ChunkWriter};
use super::volumes::{SplitWriter, VolumeEntry};
use crate::digest::{Hasher, parse_sha256};
use crate::error::StoreError;
use crate::reference;
use crate::store::index::{index_bytes, named_descriptor, ref_name};
use crate::store::{OCI_LAYOUT_JSON, Store};
use crate::walk::walk;

const ZSTD_LEVEL: i32 = 3;
const MAX_ZSTD_WORKERS: usize = 4;
const ZSTD_JOB_SIZE: u32 = 4 << 20;
const IO_BUFFER: usize = 1 << 20;

/// How to save.
#[derive(Debug, Clone, Copy, Default)]
pub struct SaveOptions<'a> {
    pub compression: ArchiveCompression,
    /// Write a delta bundle: leave out the layers this inventory lists (manifests, indexes
    /// and configs are always written).
    pub since: Option<&'a Inventory>,
}

/// What a save wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveReport {
    /// Images named in the archive's index.json.
    pub images: usize,
    /// Blobs written, and their bytes.
    pub blobs: usize,
    pub blob_bytes: u64,
    /// Blobs a delta left out (the inventory lists them), and their bytes.
    pub omitted_blobs: usize,
    pub omitted_bytes: u64,
    /// Bytes of the archive stream (after compression).
    pub archive_bytes: u64,
    /// The volumes written by [`save_split`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeEntry>,
}

/// Save the images `names` (names, `repo@digest` or digests, as [`Store::resolve`] takes
/// them) as an OCI archive into `out`.
pub fn save(
    store: &Store,
    names: &[String],
    out: impl Write,
    compression: ArchiveCompression,
) -> Result<(), StoreError> {
    let opts = SaveOptions {
        compression,
        since: None,
    };
    save_with(store, names, out, &opts).map(|_| ())
}

/// Save into volumes `base.000`, `base.001`, … of at most `volume_size` bytes plus the list
/// `base.volumes` (see [`super::volumes`]). A failed save leaves no new file behind.
pub fn save_split(
    store: &Store,
    names: &[String],
    base: &Path,
    volume_size: u64,
    opts: &SaveOptions<'_>,
) -> Result<SaveReport, StoreError> {
    let mut w = SplitWriter::create(base, volume_size)?;
    // Volume writes and their hashing run on a thread of their own.
    let (tx, rx) = pipe::channel();
    let (saved, written) = std::thread::scope(|s| {
        let volumes = &mut w;
        let writer = s.spawn(move || pipe::drain_into(volumes, rx));
        let mut sink = ChunkWriter::new(tx);
        let saved = save_with(store, names, &mut sink, opts);
        let closed = match saved {
            Ok(_) => sink.close(),
            Err(_) => {
                drop(sink);
                Ok(())
            }
        };
        let written = match writer.join() {
            Ok(r) => r.and(closed),
            Err(_) => Err(std::io::Error::other("the volume writer panicked")),
        };
        (saved, written)
    });
    match (saved, written) {
        (Ok(mut report), Ok(())) => {
            report.volumes = w.finish()?.volumes;
            Ok(report)
        }
        // The writer's own error explains a save that stopped because it went away.
        (Ok(_), Err(e)) => Err(StoreError::io("write volume", base, e)),
        (Err(e), Ok(())) => Err(e),
        (Err(StoreError::Io { .. }), Err(we)) => Err(StoreError::io("write volume", base, we)),
        (Err(e), Err(_)) => Err(e),
    }
}

/// [`save`] with options; reports what was written.
pub fn save_with(
    store: &Store,
    names: &[String],
    out: impl Write,
    opts: &SaveOptions<'_>,
) -> Result<SaveReport, StoreError> {
    let _lease = store.lease()?;
    let entries = resolve_all(store, names)?;
    let descs: Vec<Descriptor> = entries.iter().map(|(_, d)| d.clone()).collect();
    let w = walk(store, &descs, false);
    if !w.missing.is_empty() || !w.damage.is_empty() {
        let mut missing = w.missing;
        missing.extend(w.damage);
        return Err(StoreError::IncompleteImage {
            name: names.join(", "),
            missing,
        });
    }
    let mut blobs: BTreeMap<String, u64> = w.blobs.into_iter().collect();
    let omitted = match opts.since {
        Some(inv) => omittable(store, &descs, &blobs, inv)?,
        None => BTreeMap::new(),
    };
    blobs.retain(|d, _| !omitted.contains_key(d));
    let manifests = entries
        .iter()
        .map(|(name, d)| named_descriptor(d, name.as_deref()))
        .collect::<Result<Vec<Value>, _>>()?;
    let mut index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    let bundle = match opts.since {
        Some(_) => {
            index["annotations"] = json!({
                ANNOTATION_DELTA: "true",
                ANNOTATION_OMITTED: omitted.len().to_string(),
            });
            Some(BundleInfo::delta(&omitted).to_bytes()?)
        }
        None => None,
    };
    let index = index_bytes(index)?;
    let contents = Contents {
        index: &index,
        bundle: bundle.as_deref(),
        blobs: &blobs,
    };
    let mut counted = Counting { inner: out, n: 0 };
    write_archive(store, &mut counted, &contents, opts.compression)?;
    Ok(SaveReport {
        images: entries.len(),
        blobs: blobs.len(),
        blob_bytes: blobs.values().sum(),
        omitted_blobs: omitted.len(),
        omitted_bytes: omitted.values().sum(),
        archive_bytes: counted.n,
        volumes: Vec::new(),
    })
}

struct Contents<'a> {
    index: &'a [u8],
    bundle: Option<&'a [u8]>,
    blobs: &'a BTreeMap<String, u64>,
}

fn write_archive(
    store: &Store,
    out: impl Write,
    contents: &Contents<'_>,
    compression: ArchiveCompression,
) -> Result<(), StoreError> {
    let out = BufWriter::with_capacity(IO_BUFFER, out);
    let flush = |mut w: BufWriter<_>| {
        w.flush()
            .map_err(|e| StoreError::io("flush", "archive output", e))
    };
    match compression {
        ArchiveCompression::None => flush(write_tar(store, out, contents)?),
        ArchiveCompression::Zstd => {
            let io = |e| StoreError::io("zstd encoder", "archive output", e);
            let mut enc = zstd::Encoder::new(out, ZSTD_LEVEL).map_err(io)?;
            let workers = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(MAX_ZSTD_WORKERS) as u32;
            enc.multithread(workers).map_err(io)?;
            // zstd's default job (4 × window, 8 MiB at level 3) keeps ~7 jobs of buffers;
            // a fixed, smaller job bounds memory and keeps the output thread-count independent.
            enc.set_parameter(zstd::stream::raw::CParameter::JobSize(ZSTD_JOB_SIZE))
                .map_err(io)?;
            let enc = write_tar(store, enc, contents)?;
            flush(enc.finish().map_err(io)?)
        }
    }
}

/// Counts the bytes passed through.
struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// (name written as ref.name, descriptor) per requested image, deduplicated.
fn resolve_all(
    store: &Store,
    names: &[String],
) -> Result<Vec<(Option<String>, Descriptor)>, StoreError> {
    let mut out: Vec<(Option<String>, Descriptor)> = Vec::new();
    for n in names {
        let desc = store
            .resolve(n)?
            .ok_or_else(|| StoreError::ImageNotFound { what: n.clone() })?;
        let name = match reference::parse(n) {
            Ok(r) if r.digest.is_none() => Some(r.with_default_tag().to_string()),
            _ => ref_name(&desc).map(str::to_string),
        };
        if !out
            .iter()
            .any(|(en, ed)| *en == name && ed.digest() == desc.digest())
        {
            out.push((name, desc));
        }
    }
    Ok(out)
}

fn header(path: &str, size: u64, dir: bool) -> Result<tar::Header, StoreError> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)
        .map_err(|e| StoreError::io("tar header", path, e))?;
    h.set_size(size);
    h.set_mode(if dir { 0o755 } else { 0o644 });
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    Ok(h)
}

fn write_tar<W: Write>(store: &Store, out: W, contents: &Contents<'_>) -> Result<W, StoreError> {
    let index = contents.index;
    let io = |what: &'static str| move |e| StoreError::io(what, "archive output", e);
    let mut b = tar::Builder::new(out);
    b.append(
        &header("oci-layout", OCI_LAYOUT_JSON.len() as u64, false)?,
        OCI_LAYOUT_JSON.as_bytes(),
    )
    .map_err(io("write oci-layout"))?;
    b.append(&header("index.json", index.len() as u64, false)?, index)
        .map_err(io("write index.json"))?;
    if let Some(bundle) = contents.bundle {
        b.append(&header(BUNDLE_FILE, bundle.len() as u64, false)?, bundle)
            .map_err(io("write sealer-bundle.json"))?;
    }
    for dir in ["blobs/", "blobs/sha256/"] {
        b.append(&header(dir, 0, true)?, std::io::empty())
            .map_err(io("write directory"))?;
    }
    for (digest_text, size) in contents.blobs {
        let digest = parse_sha256(digest_text)?;
        let file = store.open_blob(&digest)?;
        let mut reader = BufReader::with_capacity(
            IO_BUFFER,
            HashingReader {
                inner: file.take(*size),
                hasher: Hasher::new(),
            },
        );
        let path = format!("blobs/sha256/{}", digest.digest());
        b.append(&header(&path, *size, false)?, &mut reader)
            .map_err(io("write blob"))?;
        let hasher = reader.into_inner().hasher;
        let len = hasher.len();
        let actual = hasher.finish();
        if actual != digest || len != *size {
            return Err(StoreError::DigestMismatch {
                expected: digest_text.clone(),
                actual: actual.to_string(),
                size: len,
            });
        }
    }
    b.into_inner().map_err(io("finish tar"))
}

struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
