//! Write an OCI archive: deterministic (sorted entries, fixed mtime/uid), streaming,
//! every blob once and re-hashed on the way out.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};

use oci_spec::image::Descriptor;
use serde_json::{Value, json};

use super::ArchiveCompression;
use crate::digest::{Hasher, parse_sha256};
use crate::error::StoreError;
use crate::reference;
use crate::store::index::{index_bytes, named_descriptor, ref_name};
use crate::store::{OCI_LAYOUT_JSON, Store};
use crate::walk::walk;

const ZSTD_LEVEL: i32 = 3;
const MAX_ZSTD_WORKERS: usize = 4;
const IO_BUFFER: usize = 1 << 20;

/// Save the images `names` (names, `repo@digest` or digests, as [`Store::resolve`] takes
/// them) as an OCI archive into `out`.
pub fn save(
    store: &Store,
    names: &[String],
    out: impl Write,
    compression: ArchiveCompression,
) -> Result<(), StoreError> {
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
    let blobs: BTreeMap<String, u64> = w.blobs.into_iter().collect();
    let manifests = entries
        .iter()
        .map(|(name, d)| named_descriptor(d, name.as_deref()))
        .collect::<Result<Vec<Value>, _>>()?;
    let index = index_bytes(json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }))?;
    let out = BufWriter::with_capacity(IO_BUFFER, out);
    let flush = |mut w: BufWriter<_>| {
        w.flush()
            .map_err(|e| StoreError::io("flush", "archive output", e))
    };
    match compression {
        ArchiveCompression::None => flush(write_tar(store, out, &index, &blobs)?),
        ArchiveCompression::Zstd => {
            let io = |e| StoreError::io("zstd encoder", "archive output", e);
            let mut enc = zstd::Encoder::new(out, ZSTD_LEVEL).map_err(io)?;
            let workers = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(MAX_ZSTD_WORKERS) as u32;
            enc.multithread(workers).map_err(io)?;
            let enc = write_tar(store, enc, &index, &blobs)?;
            flush(enc.finish().map_err(io)?)
        }
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

fn write_tar<W: Write>(
    store: &Store,
    out: W,
    index: &[u8],
    blobs: &BTreeMap<String, u64>,
) -> Result<W, StoreError> {
    let io = |what: &'static str| move |e| StoreError::io(what, "archive output", e);
    let mut b = tar::Builder::new(out);
    b.append(
        &header("oci-layout", OCI_LAYOUT_JSON.len() as u64, false)?,
        OCI_LAYOUT_JSON.as_bytes(),
    )
    .map_err(io("write oci-layout"))?;
    b.append(&header("index.json", index.len() as u64, false)?, index)
        .map_err(io("write index.json"))?;
    for dir in ["blobs/", "blobs/sha256/"] {
        b.append(&header(dir, 0, true)?, std::io::empty())
            .map_err(io("write directory"))?;
    }
    for (digest_text, size) in blobs {
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
