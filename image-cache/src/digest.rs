//! SHA-256 helpers around oci-spec's [`Digest`] (sha2 picks SHA-NI at run time).

use std::io::Read;

use oci_spec::image::{Digest, DigestAlgorithm};
use sha2::{Digest as _, Sha256};

use crate::error::StoreError;

/// Streaming SHA-256 that yields an OCI digest.
#[derive(Default, Clone)]
pub struct Hasher {
    inner: Sha256,
    len: u64,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hasher({} bytes)", self.len)
    }
}

impl Hasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn finish(self) -> Digest {
        sha256_from_hex(&hex::encode(self.inner.finalize()))
    }
}

/// The digest of a byte slice.
pub fn sha256_of(bytes: &[u8]) -> Digest {
    let mut h = Hasher::new();
    h.update(bytes);
    h.finish()
}

/// Hash a reader to its end with a large buffer; returns the digest and the length.
pub fn sha256_reader(mut reader: impl Read) -> std::io::Result<(Digest, u64)> {
    let mut h = Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
    }
    let len = h.len();
    Ok((h.finish(), len))
}

fn sha256_from_hex(hex: &str) -> Digest {
    // A 64-char lowercase hex string from our own hasher always parses.
    match Digest::try_from(format!("sha256:{hex}")) {
        Ok(d) => d,
        Err(e) => unreachable!("sha256 hex from hasher must parse: {e}"),
    }
}

/// Parse `sha256:<hex>` text, rejecting other algorithms.
pub fn parse_sha256(text: &str) -> Result<Digest, StoreError> {
    let d = Digest::try_from(text).map_err(|_| StoreError::UnsupportedDigest {
        digest: text.to_string(),
    })?;
    ensure_sha256(&d)?;
    Ok(d)
}

/// Only SHA-256 digests can be stored and verified.
pub fn ensure_sha256(d: &Digest) -> Result<(), StoreError> {
    if *d.algorithm() == DigestAlgorithm::Sha256 {
        Ok(())
    } else {
        Err(StoreError::UnsupportedDigest {
            digest: d.to_string(),
        })
    }
}

#[cfg(test)]
#[path = "tests/digest.rs"]
mod tests;
