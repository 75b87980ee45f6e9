//! The discovery report: every image with how it was found, serialised as the JSON of
//! `sealer build --report FILE`.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How an image was found, from weakest to strongest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// A heuristic hit: an `image`-like key, a ConfigMap's embedded YAML, a container argument or
    /// environment value.
    Indirect,
    /// Named by a static file: `manifests/`, a chart, `application/apps/*`, an `imageList`.
    List,
    /// A container image of a Pod or pod template in a recorded object.
    Declared,
    /// A kubelet pulled it or tried to (real clusters only).
    Pulled,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Indirect => "indirect",
            Confidence::List => "list",
            Confidence::Declared => "declared",
            Confidence::Pulled => "pulled",
        }
    }
}

/// Where one sighting came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Provenance {
    pub via: Confidence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// `Kind/namespace/name` (or `Kind/name` when cluster-scoped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Field path inside the object or file (`spec.template.spec.containers[0].image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// File relative to the rootfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// One image and every sighting of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFinding {
    /// Fully qualified: `docker.io/library/nginx:1.25`.
    pub reference: String,
    /// The strongest `via` among the sightings.
    pub confidence: Confidence,
    pub provenance: Vec<Provenance>,
}

/// A string that looked like an image but could not be resolved to a reference (a template, a
/// variable, an invalid name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Unresolved {
    pub text: String,
    pub reason: String,
    pub provenance: Provenance,
}

/// The discovery result, deterministic for identical inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Report {
    pub images: Vec<ImageFinding>,
    pub unresolved: Vec<Unresolved>,
}

impl Report {
    pub fn find(&self, reference: &str) -> Option<&ImageFinding> {
        self.images.iter().find(|i| i.reference == reference)
    }

    /// References to embed: all of them, or all but indirect-only ones.
    pub fn references(&self, include_indirect: bool) -> Vec<String> {
        self.images
            .iter()
            .filter(|i| include_indirect || i.confidence > Confidence::Indirect)
            .map(|i| i.reference.clone())
            .collect()
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }
}

/// Accumulates sightings; [`ReportBuilder::finish`] sorts and dedupes them.
#[derive(Debug, Default)]
pub struct ReportBuilder {
    images: BTreeMap<String, BTreeSet<Provenance>>,
    unresolved: BTreeSet<Unresolved>,
}

impl ReportBuilder {
    pub fn add(&mut self, reference: String, provenance: Provenance) {
        self.images.entry(reference).or_default().insert(provenance);
    }

    pub fn unresolved(&mut self, text: &str, reason: &str, provenance: Provenance) {
        self.unresolved.insert(Unresolved {
            text: text.to_string(),
            reason: reason.to_string(),
            provenance,
        });
    }

    pub fn merge(&mut self, other: ReportBuilder) {
        for (r, ps) in other.images {
            self.images.entry(r).or_default().extend(ps);
        }
        self.unresolved.extend(other.unresolved);
    }

    pub fn finish(self) -> Report {
        let images = self
            .images
            .into_iter()
            .map(|(reference, ps)| {
                let confidence = ps
                    .iter()
                    .map(|p| p.via)
                    .max()
                    .unwrap_or(Confidence::Indirect);
                ImageFinding {
                    reference,
                    confidence,
                    provenance: ps.into_iter().collect(),
                }
            })
            .collect();
        Report {
            images,
            unresolved: self.unresolved.into_iter().collect(),
        }
    }
}

#[cfg(test)]
#[path = "../tests/discover_report.rs"]
mod tests;
