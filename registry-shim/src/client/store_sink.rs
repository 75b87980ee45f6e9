//! [`BlobSink`]/[`BlobSource`] over `sealer_image_cache::Store` (the local OCI layout).

use std::io::{Read, Write};
use std::sync::Mutex;

use oci_spec::image::{Descriptor, MediaType};
use sealer_image_cache::{Store, StoreError};

use super::sink::{BlobSink, BlobSource, BlobWrite, SinkError, SourceError};
use crate::digest::Digest;
use crate::manifest::is_index_media_type;

const MANIFEST_LIMIT: u64 = 8 << 20;

fn oci(d: &Digest) -> Result<oci_spec::image::Digest, SinkError> {
    d.to_string()
        .parse()
        .map_err(|e| SinkError::Other(format!("digest {d}: {e}")))
}

fn store_err(e: StoreError) -> SinkError {
    match e {
        StoreError::DigestMismatch {
            expected, actual, ..
        } => match (Digest::parse(&expected), Digest::parse(&actual)) {
            (Ok(expected), Ok(actual)) => SinkError::DigestMismatch { expected, actual },
            _ => SinkError::Other(format!(
                "digest mismatch: expected {expected}, got {actual}"
            )),
        },
        other => SinkError::Other(other.to_string()),
    }
}

/// Pull into the image store; the root manifest is tagged `<name>:<tag>`. When only one
/// platform of an index was pulled the index cannot be tagged (the store refuses
/// incomplete images), so the platform's manifest is tagged instead.
pub struct StoreSink {
    store: Store,
    /// Image name without tag, e.g. `docker.io/library/nginx`.
    name: String,
    last_child: Mutex<Option<Descriptor>>,
}

impl StoreSink {
    pub fn new(store: Store, name: impl Into<String>) -> Self {
        Self {
            store,
            name: name.into(),
            last_child: Mutex::new(None),
        }
    }
}

struct StoreWrite {
    w: sealer_image_cache::BlobWriter,
    digest: Digest,
    size: Option<u64>,
}

impl BlobWrite for StoreWrite {
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkError> {
        self.w
            .write_all(chunk)
            .map_err(|e| SinkError::Other(format!("write blob {}: {e}", self.digest)))
    }

    fn commit(self: Box<Self>) -> Result<(), SinkError> {
        let s = *self;
        if let Some(size) = s.size.filter(|n| *n != s.w.written()) {
            return Err(SinkError::SizeMismatch {
                digest: s.digest,
                expected: size,
                actual: s.w.written(),
            });
        }
        s.w.finish(Some(&oci(&s.digest)?)).map_err(store_err)?;
        Ok(())
    }
}

impl BlobSink for StoreSink {
    fn has_blob(&self, digest: &Digest, size: u64) -> Result<bool, SinkError> {
        let d = oci(digest)?;
        Ok(self.store.has_blob(&d)
            && std::fs::metadata(self.store.blob_path(&d)).is_ok_and(|m| m.len() == size))
    }

    fn begin_blob(
        &self,
        digest: &Digest,
        size: Option<u64>,
    ) -> Result<Box<dyn BlobWrite>, SinkError> {
        Ok(Box::new(StoreWrite {
            w: self.store.blob_writer().map_err(store_err)?,
            digest: digest.clone(),
            size,
        }))
    }

    fn get_manifest(&self, digest: &Digest) -> Result<Option<Vec<u8>>, SinkError> {
        let d = oci(digest)?;
        if !self.store.has_blob(&d) {
            return Ok(None);
        }
        self.store
            .read_blob(&d, MANIFEST_LIMIT)
            .map(Some)
            .map_err(store_err)
    }

    fn put_manifest(
        &self,
        digest: &Digest,
        media_type: &str,
        bytes: &[u8],
        tag: Option<&str>,
    ) -> Result<(), SinkError> {
        let stored = self.store.put_blob(bytes).map_err(store_err)?;
        if stored.to_string() != digest.to_string() {
            return Err(SinkError::DigestMismatch {
                expected: digest.clone(),
                actual: Digest::of(bytes),
            });
        }
        let desc = Descriptor::new(MediaType::from(media_type), bytes.len() as u64, stored);
        let Some(tag) = tag else {
            *self.last_child.lock().unwrap_or_else(|p| p.into_inner()) = Some(desc);
            return Ok(());
        };
        let name = format!("{}:{tag}", self.name);
        match self.store.set_tag(&name, desc) {
            Err(StoreError::IncompleteImage { .. }) if is_index_media_type(media_type) => {
                let child = self
                    .last_child
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                let child = child.ok_or_else(|| {
                    SinkError::Other(format!("{name}: index without a pulled child"))
                })?;
                self.store.set_tag(&name, child).map_err(store_err)
            }
            other => other.map_err(store_err),
        }
    }
}

/// Push from the image store.
pub struct StoreSource {
    pub store: Store,
}

impl BlobSource for StoreSource {
    fn open_blob(&self, digest: &Digest) -> Result<(Box<dyn Read + Send>, u64), SourceError> {
        let d = digest
            .to_string()
            .parse::<oci_spec::image::Digest>()
            .map_err(|e| SourceError::Io {
                what: digest.to_string(),
                source: std::io::Error::other(e.to_string()),
            })?;
        let f = self.store.open_blob(&d).map_err(|e| match e {
            StoreError::BlobNotFound { .. } => SourceError::Missing(digest.clone()),
            other => SourceError::Io {
                what: digest.to_string(),
                source: std::io::Error::other(other.to_string()),
            },
        })?;
        let size = f
            .metadata()
            .map_err(|source| SourceError::Io {
                what: digest.to_string(),
                source,
            })?
            .len();
        Ok((Box::new(f), size))
    }
}
