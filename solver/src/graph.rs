//! The LLB-like build graph: what the frontend produces and the solver executes.
//!
//! A [`Vertex`] is an operation plus the digests of its inputs. Its digest is the SHA-256
//! of its canonical JSON serialization, so it covers the op and (transitively) everything
//! it depends on. Display names and source locations live in [`VertexInfo`], outside the
//! digest: renaming a step or moving it to another line never changes identity.
//!
//! The persistent cache key is a different identity (see `cache_key`): it also covers the
//! content checksums of the files a step reads and the resolved digest of base images.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashSet};

pub use sealer_image_cache::sealer_meta::Platform;

/// `sha256:<hex>` digest of a vertex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VertexDigest(pub String);

impl std::fmt::Display for VertexDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl VertexDigest {
    /// The first 12 hex characters, for progress output.
    pub fn short(&self) -> &str {
        let hex = self.0.strip_prefix("sha256:").unwrap_or(&self.0);
        &hex[..hex.len().min(12)]
    }
}

/// Where a file to copy comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CopySource {
    /// A path (or glob pattern) relative to the build context root, already variable-expanded.
    Context { path: String },
    /// An http(s) URL downloaded at build time (ADD url, APP https://...).
    Url { url: String },
}

/// COPY / ADD / APP: put files from the context or the network into the rootfs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CopyOp {
    pub sources: Vec<CopySource>,
    /// Destination inside the rootfs, relative to its root (no leading `/`).
    /// A trailing `/` means "into this directory".
    pub dest: String,
    /// ADD semantics: local tar archives (plain, gzip, zstd) are extracted into `dest`.
    pub extract_archives: bool,
}

/// Whether a RUN step may use the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Host network (sealer's RUN downloads manifests: the main use).
    #[default]
    Host,
    /// A private network namespace with only loopback.
    None,
}

/// RUN: a command executed with the rootfs as its writable working directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunOp {
    /// argv; the shell form is lowered to `["/bin/sh", "-c", "<line>"]`.
    pub args: Vec<String>,
    /// Environment (ARG and ENV in scope), sorted by name.
    pub env: Vec<(String, String)>,
    pub network: Network,
}

/// What a vertex does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// The empty root filesystem (`FROM scratch`).
    Scratch,
    /// An existing cluster image's layers (`FROM name`), resolved through the store or a registry.
    Image {
        reference: String,
        platform: Platform,
    },
    Copy(CopyOp),
    Run(RunOp),
    /// Embed container images into `registry/` (one layer per image).
    EmbedImages(crate::embed::EmbedOp),
    /// Run the launch against a temporary cluster and record the images it needs.
    Observe(crate::observe::ObserveOp),
}

impl Op {
    /// A short kind name for progress and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Scratch => "scratch",
            Op::Image { .. } => "image",
            Op::Copy(_) => "copy",
            Op::Run(_) => "run",
            Op::EmbedImages(_) => "embed",
            Op::Observe(_) => "observe",
        }
    }
}

/// One node: an op and its inputs (by digest). Inputs are root filesystems; index 0 is the
/// filesystem the op modifies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vertex {
    #[serde(flatten)]
    pub op: Op,
    pub inputs: Vec<VertexDigest>,
}

impl Vertex {
    /// SHA-256 over the canonical JSON of op and inputs (serde_json with struct field order
    /// fixed by the type definitions; maps are BTreeMaps or sorted vectors).
    pub fn digest(&self) -> VertexDigest {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        VertexDigest(format!("sha256:{}", hex::encode(Sha256::digest(&bytes))))
    }
}

/// A position in the Kubefile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// Data about a vertex that is not part of its identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VertexInfo {
    /// Progress label, e.g. `COPY app.yaml manifests/`.
    pub name: String,
    /// Kubefile location of the instruction that produced the vertex.
    pub location: Option<Location>,
}

/// A whole build graph with one output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Definition {
    /// Vertices in topological order (inputs before users), each once.
    pub vertices: Vec<(VertexDigest, Vertex)>,
    /// Names and locations, by vertex digest.
    pub info: BTreeMap<VertexDigest, VertexInfo>,
    /// The vertex whose result is the image's root filesystem.
    pub output: Option<VertexDigest>,
}

/// Raised when a graph is malformed (a frontend bug, never user input).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GraphError {
    #[error("vertex {vertex} uses input {input}, which is not defined before it")]
    DanglingInput { vertex: String, input: String },
    #[error("vertex {0} is recorded with a digest that does not match its content")]
    DigestMismatch(String),
    #[error("the graph has no output vertex")]
    NoOutput,
}

impl Definition {
    /// Add a vertex (deduplicated by digest) and return its digest.
    pub fn add(&mut self, vertex: Vertex, info: VertexInfo) -> VertexDigest {
        let digest = vertex.digest();
        if !self.vertices.iter().any(|(d, _)| d == &digest) {
            self.vertices.push((digest.clone(), vertex));
        }
        self.info.entry(digest.clone()).or_insert(info);
        digest
    }

    pub fn vertex(&self, digest: &VertexDigest) -> Option<&Vertex> {
        self.vertices
            .iter()
            .find(|(d, _)| d == digest)
            .map(|(_, v)| v)
    }

    pub fn name(&self, digest: &VertexDigest) -> String {
        self.info
            .get(digest)
            .map(|i| i.name.clone())
            .unwrap_or_else(|| digest.short().to_string())
    }

    /// Check topological order, digests and the output.
    pub fn validate(&self) -> Result<(), GraphError> {
        let mut seen = HashSet::new();
        for (digest, vertex) in &self.vertices {
            if &vertex.digest() != digest {
                return Err(GraphError::DigestMismatch(digest.0.clone()));
            }
            for input in &vertex.inputs {
                if !seen.contains(input) {
                    return Err(GraphError::DanglingInput {
                        vertex: digest.0.clone(),
                        input: input.0.clone(),
                    });
                }
            }
            seen.insert(digest.clone());
        }
        match &self.output {
            Some(out) if seen.contains(out) => Ok(()),
            _ => Err(GraphError::NoOutput),
        }
    }
}

#[cfg(test)]
#[path = "tests/graph.rs"]
mod tests;
