//! Content digests (`sha256:<64 hex>`) and a streaming hasher.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A validated `sha256:<64 lowercase hex>` content digest.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

/// Why a string is not a digest we accept.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("invalid digest `{0}`: expected `sha256:` followed by 64 lowercase hex characters")]
    Malformed(String),
    #[error("unsupported digest algorithm in `{0}`: only sha256 is supported")]
    UnsupportedAlgorithm(String),
}

impl Digest {
    /// Parse `sha256:<hex>`.
    pub fn parse(s: &str) -> Result<Self, DigestError> {
        let Some((algo, hex)) = s.split_once(':') else {
            return Err(DigestError::Malformed(s.to_string()));
        };
        if algo != "sha256" {
            let valid_algo = !algo.is_empty()
                && algo
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c));
            return Err(if valid_algo {
                DigestError::UnsupportedAlgorithm(s.to_string())
            } else {
                DigestError::Malformed(s.to_string())
            });
        }
        Self::from_hex(hex).ok_or_else(|| DigestError::Malformed(s.to_string()))
    }

    /// Build from the 64 hex characters of a sha256 digest.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let ok = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Self {
            hex: hex.to_string(),
        })
    }

    /// Digest of a byte slice.
    pub fn of(bytes: &[u8]) -> Self {
        let mut h = Hasher::new();
        h.update(bytes);
        h.finish()
    }

    /// The hex part without the algorithm prefix.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Always `sha256`.
    pub fn algorithm(&self) -> &'static str {
        "sha256"
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Incremental sha256 with a byte counter.
#[derive(Clone, Default)]
pub struct Hasher {
    inner: Sha256,
    len: u64,
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
        Digest {
            hex: hex::encode(self.inner.finalize()),
        }
    }
}

#[cfg(test)]
#[path = "tests/digest.rs"]
mod tests;
