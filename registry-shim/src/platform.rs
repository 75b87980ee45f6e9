//! Target platforms (`os/arch[/variant]`) and matching against index entries.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A platform as in sealer's `sealer.image.container.images` annotation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default)]
    pub variant: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid platform `{0}`: expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8")]
pub struct PlatformError(pub String);

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: &str) -> Self {
        Self {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant: variant.to_string(),
        }
    }

    /// Parse `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`.
    pub fn parse(s: &str) -> Result<Self, PlatformError> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        let ok =
            |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Self::new(os, &normalize_arch(arch), "")),
            [os, arch, v] if ok(os) && ok(arch) && ok(v) => {
                Ok(Self::new(os, &normalize_arch(arch), v))
            }
            _ => Err(PlatformError(s.to_string())),
        }
    }

    /// The platform this program runs on (linux/amd64, linux/arm64, ...).
    pub fn host() -> Self {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Self::new("linux", arch, "")
    }

    /// Whether an index entry's platform satisfies this one. An empty variant here matches
    /// any variant; `arm64` treats a missing variant and `v8` as equal.
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        if self.os != os || self.architecture != normalize_arch(architecture) {
            return false;
        }
        if self.variant.is_empty() {
            return true;
        }
        let theirs = variant.unwrap_or("");
        theirs == self.variant
            || (self.architecture == "arm64" && self.variant == "v8" && theirs.is_empty())
    }
}

fn normalize_arch(a: &str) -> String {
    match a {
        "x86_64" | "x86-64" => "amd64".to_string(),
        "aarch64" => "arm64".to_string(),
        other => other.to_string(),
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "tests/platform.rs"]
mod tests;
