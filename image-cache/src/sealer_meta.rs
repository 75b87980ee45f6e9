//! sealer-compatible image metadata: the two manifest annotations and the reserved labels.
//!
//! The JSON shapes follow what sealer (v0.9+) writes so that existing tooling and images
//! interoperate: `sealer.image.extension` and `sealer.image.container.images`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Manifest annotation holding [`ImageExtension`] as JSON.
pub const ANNOTATION_IMAGE_EXTENSION: &str = "sealer.image.extension";
/// Manifest annotation holding a JSON list of [`ContainerImage`].
pub const ANNOTATION_CONTAINER_IMAGES: &str = "sealer.image.container.images";
/// Label prefix marking a CNI plugin app: `cluster.alpha.sealer.io/kube-cni-<name>=true`.
pub const LABEL_KUBE_CNI_PREFIX: &str = "cluster.alpha.sealer.io/kube-cni-";
/// Label prefix marking a CSI plugin app: `cluster.alpha.sealer.io/kube-csi-<name>=true`.
pub const LABEL_KUBE_CSI_PREFIX: &str = "cluster.alpha.sealer.io/kube-csi-";
/// Label recording the KUBEVERSION range an app image supports.
pub const LABEL_SUPPORTED_KUBE_VERSION: &str = "app.alpha.sealer.io/supported-kube-version";
/// Schema version written into every extension.
pub const SCHEMA_VERSION_V1ALPHA1: &str = "v1alpha1";

/// The kind of cluster image (`--type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ImageType {
    /// A full cluster image (Kubernetes itself plus apps).
    #[default]
    #[serde(rename = "kube-installer")]
    KubeInstaller,
    /// Apps only, installed onto an existing cluster.
    #[serde(rename = "app-installer")]
    AppInstaller,
}

impl ImageType {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageType::KubeInstaller => "kube-installer",
            ImageType::AppInstaller => "app-installer",
        }
    }
}

impl std::str::FromStr for ImageType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kube-installer" => Ok(ImageType::KubeInstaller),
            "app-installer" => Ok(ImageType::AppInstaller),
            other => Err(format!(
                "unknown image type {other:?}: expected kube-installer or app-installer"
            )),
        }
    }
}

/// The type sealer infers for an app from its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum AppType {
    #[serde(rename = "kube")]
    Kube,
    #[serde(rename = "helm")]
    Helm,
    #[serde(rename = "shell")]
    Shell,
    /// Mixed or unknown content: the app needs APPCMDS.
    #[default]
    #[serde(rename = "")]
    Unknown,
}

impl AppType {
    pub fn as_str(self) -> &'static str {
        match self {
            AppType::Kube => "kube",
            AppType::Helm => "helm",
            AppType::Shell => "shell",
            AppType::Unknown => "",
        }
    }
}

/// Who built the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BuildClient {
    #[serde(default)]
    pub sealer_version: String,
    #[serde(default)]
    pub buildah_version: String,
}

/// One application defined by `APP` (and refined by `APPCMDS` / `APPENV`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Application {
    pub name: String,
    #[serde(rename = "type", default)]
    pub app_type: AppType,
    /// File or directory names as they land under `application/apps/<name>/`.
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub version: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmds: Vec<String>,
}

/// What `sealer run` launches by default: either raw commands or app names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Launch {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmds: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_names: Vec<String>,
}

/// The value of the `sealer.image.extension` annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImageExtension {
    #[serde(default)]
    pub build_client: BuildClient,
    #[serde(default)]
    pub schema_version: String,
    #[serde(rename = "type", default)]
    pub image_type: ImageType,
    #[serde(default)]
    pub applications: Vec<Application>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub launch: Launch,
}

/// Platform of an embedded container image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default)]
    pub variant: String,
}

impl Platform {
    /// `linux/amd64`, `linux/arm64/v8` style text.
    pub fn parse(text: &str) -> Result<Platform, String> {
        let parts: Vec<&str> = text.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: (*os).to_string(),
                architecture: normalize_arch(arch),
                variant: String::new(),
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: (*os).to_string(),
                architecture: normalize_arch(arch),
                variant: (*variant).to_string(),
            }),
            _ => Err(format!(
                "invalid platform {text:?}: expected OS/ARCH[/VARIANT], e.g. linux/amd64"
            )),
        }
    }

    /// The platform of the machine running sealer.
    pub fn host() -> Platform {
        Platform {
            os: "linux".to_string(),
            architecture: normalize_arch(std::env::consts::ARCH),
            variant: String::new(),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

/// Map Rust/uname architecture names onto OCI (GOARCH) names.
pub fn normalize_arch(arch: &str) -> String {
    match arch {
        "x86_64" | "x86-64" => "amd64".to_string(),
        "aarch64" => "arm64".to_string(),
        other => other.to_string(),
    }
}

/// One entry of the `sealer.image.container.images` annotation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContainerImage {
    pub image: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app_name: String,
    #[serde(default)]
    pub platform: Platform,
}

#[cfg(test)]
#[path = "tests/sealer_meta.rs"]
mod tests;
