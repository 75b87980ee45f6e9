//! sealer's multi-document Clusterfile: parse (strictly), validate, resolve hosts, serialize back.

mod env;
mod iprange;
mod resolve;
mod run_args;
mod types;

pub use env::{merge_env, parse_env};
pub use iprange::{MAX_RANGE, expand_ip_list};
pub use resolve::{ResolvedHost, master0, resolve_hosts};
pub use run_args::RunArgs;
pub use types::*;

use serde::de::DeserializeOwned;

/// Default `metadata.name` of a cluster.
pub const DEFAULT_CLUSTER_NAME: &str = "my-cluster";
/// Default `spec.dataRoot`.
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/sealer/data";
/// Default `spec.registry.localRegistry.domain`.
pub const DEFAULT_REGISTRY_DOMAIN: &str = "sea.hub";
/// Default `spec.registry.localRegistry.port`.
pub const DEFAULT_REGISTRY_PORT: u16 = 5000;
/// The role of control-plane hosts.
pub const ROLE_MASTER: &str = "master";
/// The role of worker hosts.
pub const ROLE_NODE: &str = "node";
/// apiVersion written for Cluster documents.
pub const CLUSTER_API_VERSION: &str = "sealer.io/v2";

/// Plugin actions (phases a SHELL hook can attach to).
pub const PLUGIN_ACTIONS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-init-host",
    "post-init-host",
    "pre-clean-host",
    "post-clean-host",
    "pre-scaleup",
    "post-scaleup",
    "pre-uninstall",
    "post-uninstall",
];

/// A parse or validation problem, naming the document and the field.
#[derive(Debug, thiserror::Error)]
pub enum ClusterfileError {
    #[error("Clusterfile is not valid YAML: {0}")]
    Yaml(String),
    #[error("Clusterfile document {index} (kind {kind}): field `{path}`: {message}")]
    Field {
        index: usize,
        kind: String,
        path: String,
        message: String,
    },
    #[error("Clusterfile document {index}: {message}")]
    Document { index: usize, message: String },
    #[error("Clusterfile: {0}")]
    Invalid(String),
    #[error("cannot serialize the Clusterfile: {0}")]
    Serialize(String),
}

/// All documents of one Clusterfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clusterfile {
    pub cluster: Cluster,
    pub configs: Vec<ConfigDoc>,
    pub plugins: Vec<PluginDoc>,
    pub application: Option<ApplicationDoc>,
}

impl Clusterfile {
    /// Parse and validate a Clusterfile. Unknown kinds and fields are errors.
    pub fn parse(text: &str) -> Result<Clusterfile, ClusterfileError> {
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(text).map_err(|e| ClusterfileError::Yaml(e.to_string()))?;
        let mut cluster = None;
        let mut configs = Vec::new();
        let mut plugins = Vec::new();
        let mut application = None;
        for (i, doc) in docs.into_iter().enumerate() {
            let index = i + 1;
            if doc.is_null() {
                continue;
            }
            let Some(kind) = doc.get("kind").and_then(|k| k.as_str()).map(str::to_string) else {
                return Err(ClusterfileError::Document {
                    index,
                    message: "missing `kind` (expected Cluster, Config, Plugin or Application)"
                        .into(),
                });
            };
            match kind.as_str() {
                "Cluster" => {
                    let c: Cluster = typed(index, &kind, doc)?;
                    if !c.api_version.ends_with("/v2") {
                        return Err(ClusterfileError::Field {
                            index,
                            kind,
                            path: "apiVersion".into(),
                            message: format!(
                                "{:?} is not supported: expected {CLUSTER_API_VERSION}",
                                c.api_version
                            ),
                        });
                    }
                    if cluster.replace(c).is_some() {
                        return Err(ClusterfileError::Document {
                            index,
                            message: "a second Cluster document: one Clusterfile holds one cluster"
                                .into(),
                        });
                    }
                }
                "Config" => configs.push(typed::<ConfigDoc>(index, &kind, doc)?),
                "Plugin" => plugins.push(typed::<PluginDoc>(index, &kind, doc)?),
                "Application" => {
                    let a: ApplicationDoc = typed(index, &kind, doc)?;
                    if application.replace(a).is_some() {
                        return Err(ClusterfileError::Document {
                            index,
                            message: "a second Application document: at most one is allowed".into(),
                        });
                    }
                }
                other => {
                    return Err(ClusterfileError::Document {
                        index,
                        message: format!(
                            "unknown kind {other:?} (expected Cluster, Config, Plugin or Application)"
                        ),
                    });
                }
            }
        }
        let Some(cluster) = cluster else {
            return Err(ClusterfileError::Invalid(
                "no `kind: Cluster` document".into(),
            ));
        };
        let cf = Clusterfile {
            cluster,
            configs,
            plugins,
            application,
        };
        cf.validate()?;
        Ok(cf)
    }

    /// Parse a file of `kind: Plugin` documents (the image's `plugins/*.yaml`).
    pub fn parse_plugins(text: &str) -> Result<Vec<PluginDoc>, ClusterfileError> {
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(text).map_err(|e| ClusterfileError::Yaml(e.to_string()))?;
        let mut out = Vec::new();
        for (i, doc) in docs.into_iter().enumerate() {
            if doc.is_null() {
                continue;
            }
            let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or("");
            if kind != "Plugin" {
                return Err(ClusterfileError::Document {
                    index: i + 1,
                    message: format!("kind {kind:?} in a plugin file: expected Plugin"),
                });
            }
            let p: PluginDoc = typed(i + 1, "Plugin", doc)?;
            check_plugin(&p)?;
            out.push(p);
        }
        Ok(out)
    }

    /// Serialize all documents back into one multi-document YAML text.
    pub fn to_yaml(&self) -> Result<String, ClusterfileError> {
        let ser = |v: &dyn erased::Yaml| v.yaml().map_err(ClusterfileError::Serialize);
        let mut parts = vec![ser(&self.cluster)?];
        for c in &self.configs {
            parts.push(ser(c)?);
        }
        for p in &self.plugins {
            parts.push(ser(p)?);
        }
        if let Some(a) = &self.application {
            parts.push(ser(a)?);
        }
        Ok(parts.join("---\n"))
    }

    /// The cluster's name (`metadata.name`, default `my-cluster`).
    pub fn name(&self) -> &str {
        if self.cluster.metadata.name.is_empty() {
            DEFAULT_CLUSTER_NAME
        } else {
            &self.cluster.metadata.name
        }
    }

    /// `spec.dataRoot` or its default.
    pub fn data_root(&self) -> &str {
        let d = self.cluster.spec.data_root.trim_end_matches('/');
        if d.is_empty() { DEFAULT_DATA_ROOT } else { d }
    }

    /// Registry domain, port and whether every master serves it.
    pub fn registry(&self) -> (String, u16, bool) {
        let lr = self.cluster.spec.registry.local_registry.as_ref();
        let domain = lr
            .map(|l| l.domain.clone())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| DEFAULT_REGISTRY_DOMAIN.to_string());
        let port = lr.and_then(|l| l.port).unwrap_or(DEFAULT_REGISTRY_PORT);
        let ha = lr.and_then(|l| l.ha).unwrap_or(true);
        (domain, port, ha)
    }

    /// Semantic checks beyond the shapes: image, hosts, env, plugins, configs.
    pub fn validate(&self) -> Result<(), ClusterfileError> {
        let spec = &self.cluster.spec;
        let invalid = |m: String| Err(ClusterfileError::Invalid(m));
        if spec.image.trim().is_empty() {
            return invalid("spec.image is empty: name the cluster image to run".into());
        }
        if !valid_name(self.name()) {
            return invalid(format!(
                "metadata.name {:?} must be lowercase letters, digits, '-' or '.'",
                self.name()
            ));
        }
        if !self.data_root().starts_with('/') {
            return invalid(format!(
                "spec.dataRoot {:?} must be an absolute path",
                self.data_root()
            ));
        }
        parse_env(&spec.env).map_err(|e| ClusterfileError::Invalid(format!("spec.env: {e}")))?;
        let hosts = resolve_hosts(&self.cluster)?;
        if master0(&hosts).is_none() {
            return invalid("spec.hosts has no host with role `master`".into());
        }
        for p in &self.plugins {
            check_plugin(p)?;
        }
        for c in &self.configs {
            crate::rootfs::overlay::check_config_path(&c.spec.path).map_err(|e| {
                ClusterfileError::Invalid(format!("Config {:?}: {e}", c.metadata.name))
            })?;
            crate::rootfs::overlay::check_process(&c.spec.process).map_err(|e| {
                ClusterfileError::Invalid(format!("Config {:?}: {e}", c.metadata.name))
            })?;
        }
        Ok(())
    }
}

fn check_plugin(p: &PluginDoc) -> Result<(), ClusterfileError> {
    let name = &p.metadata.name;
    if !p.spec.plugin_type.eq_ignore_ascii_case("SHELL") {
        return Err(ClusterfileError::Invalid(format!(
            "Plugin {name:?}: type {:?} is not supported: only SHELL",
            p.spec.plugin_type
        )));
    }
    if !PLUGIN_ACTIONS.contains(&p.spec.action.as_str()) {
        return Err(ClusterfileError::Invalid(format!(
            "Plugin {name:?}: unknown action {:?}: expected one of {}",
            p.spec.action,
            PLUGIN_ACTIONS.join(", ")
        )));
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

fn typed<T: DeserializeOwned>(
    index: usize,
    kind: &str,
    doc: serde_json::Value,
) -> Result<T, ClusterfileError> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        ClusterfileError::Field {
            index,
            kind: kind.to_string(),
            path,
            message: e.into_inner().to_string(),
        }
    })
}

mod erased {
    /// Serialize any document type through one object-safe call.
    pub trait Yaml {
        fn yaml(&self) -> Result<String, String>;
    }
    impl<T: serde::Serialize> Yaml for T {
        fn yaml(&self) -> Result<String, String> {
            serde_saphyr::to_string(self).map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
#[path = "../tests/clusterfile.rs"]
mod tests;
