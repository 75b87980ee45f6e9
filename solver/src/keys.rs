//! Persistent cache keys, computed the way BuildKit does: the op (without display data), the
//! keys of its inputs, and a checksum of exactly the content the op reads.

use crate::graph::Op;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// Bump when the meaning of a cached result changes (layer format, tar policy).
pub const KEY_SCHEMA: u32 = 1;

#[derive(Serialize)]
struct KeyMaterial<'a> {
    schema: u32,
    op: &'a Op,
    inputs: &'a [String],
    content: Option<&'a str>,
    /// Settings that change the produced bytes (compression, SOURCE_DATE_EPOCH).
    output: &'a str,
}

/// `sha256:<hex>` cache key of one vertex.
pub fn cache_key(op: &Op, input_keys: &[String], content: Option<&str>, output: &str) -> String {
    let material = KeyMaterial {
        schema: KEY_SCHEMA,
        op,
        inputs: input_keys,
        content,
        output,
    };
    let bytes = serde_json::to_vec(&material).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
}

/// The parts of a key, kept so `--explain-cache` can say which one changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct KeyParts {
    pub op_digest: String,
    pub inputs: Vec<String>,
    pub content: Option<String>,
    pub output: String,
}

impl KeyParts {
    /// Human-readable list of what differs between an old and a new key.
    pub fn explain_change(&self, old: &KeyParts) -> Vec<String> {
        let mut why = Vec::new();
        if self.op_digest != old.op_digest {
            why.push("the instruction itself changed".to_string());
        }
        if self.inputs != old.inputs {
            why.push("a previous step changed (its result differs)".to_string());
        }
        if self.content != old.content {
            why.push("the content of the files it reads changed".to_string());
        }
        if self.output != old.output {
            why.push("output settings changed (compression or SOURCE_DATE_EPOCH)".to_string());
        }
        why
    }
}

#[cfg(test)]
#[path = "tests/keys.rs"]
mod tests;
