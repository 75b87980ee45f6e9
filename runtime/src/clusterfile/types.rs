//! The serde shapes of sealer's Clusterfile documents (`Cluster` v2, `Config`, `Plugin`, `Application`).
//!
//! Every struct denies unknown fields so a typo is an error naming the field path, never a silent drop.
//! Field names and omission rules follow what sealer writes, so a stored Clusterfile reads back in sealer.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

fn is_false(v: &bool) -> bool {
    !*v
}

/// `metadata` of any document.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Written as `null` by sealer's Go serializer; accepted and dropped.
    #[serde(default, skip_serializing)]
    pub creation_timestamp: Option<String>,
}

/// `status: {}` as sealer writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyStatus {}

/// `kind: Cluster`, `apiVersion: sealer.io/v2`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cluster {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ClusterSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EmptyStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// `K=V` entries; `K=a;b` is a list value (exported space-separated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, rename = "cmd_args", skip_serializing_if = "Vec::is_empty")]
    pub cmd_args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostGroup>,
    #[serde(default)]
    pub ssh: Ssh,
    #[serde(default, skip_serializing_if = "ContainerRuntime::is_empty")]
    pub container_runtime: ContainerRuntime,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_aliases: Vec<HostAlias>,
    #[serde(default, skip_serializing_if = "Registry::is_empty")]
    pub registry: Registry,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data_root: String,
}

/// SSH settings (cluster-wide, or a per-host-group override).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Ssh {
    #[serde(default, skip_serializing_if = "is_false")]
    pub encrypted: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub passwd: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pk: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pk_passwd: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<SshPort>,
}

impl Ssh {
    pub fn is_empty(&self) -> bool {
        self == &Ssh::default()
    }
}

/// sealer writes the port as a string (`"22"`); numbers are accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SshPort(pub u16);

impl Serialize for SshPort {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for SshPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u64),
            Text(String),
        }
        let invalid = |shown: String| {
            serde::de::Error::custom(format!(
                "invalid ssh port {shown}: expected a number from 1 to 65535"
            ))
        };
        match Raw::deserialize(d)? {
            Raw::Num(n) => u16::try_from(n)
                .ok()
                .filter(|p| *p > 0)
                .map(SshPort)
                .ok_or_else(|| invalid(n.to_string())),
            Raw::Text(t) => t
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .map(SshPort)
                .ok_or_else(|| invalid(format!("{t:?}"))),
        }
    }
}

/// One entry of `spec.hosts`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostGroup {
    /// IPs; ranges `a.b.c.1-a.b.c.9` are expanded when hosts are resolved.
    #[serde(default)]
    pub ips: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Ssh::is_empty")]
    pub ssh: Ssh,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContainerRuntime {
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub runtime_type: String,
}

impl ContainerRuntime {
    pub fn is_empty(&self) -> bool {
        self.runtime_type.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostAlias {
    pub ip: String,
    #[serde(default)]
    pub hostnames: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Registry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_registry: Option<LocalRegistry>,
}

impl Registry {
    pub fn is_empty(&self) -> bool {
        self.local_registry.is_none()
    }
}

/// `spec.registry.localRegistry`: the embedded registry served from the rootfs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalRegistry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// Serve from every master (sealer's default) or from master0 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<TlsCert>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlsCert {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_alt_name: Option<SubjectAltName>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SubjectAltName {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
}

/// `kind: Config`: write or merge a file into the rootfs before distribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigDoc {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: ConfigSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigStrategy {
    #[default]
    Overwrite,
    Merge,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigSpec {
    /// Path relative to the rootfs (e.g. `etc/kubeadm.yml`, `application/apps/x/values.yaml`).
    pub path: String,
    #[serde(default)]
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<ConfigStrategy>,
    /// Post-processing of `data`: `toJson`, `toBase64` (applied in order, `|`-separated).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub process: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app_name: String,
}

/// `kind: Plugin`: a SHELL hook run at a phase on hosts of a role scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginDoc {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: PluginSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginSpec {
    #[serde(rename = "type")]
    pub plugin_type: String,
    #[serde(default)]
    pub data: String,
    pub action: String,
    /// Roles separated by `|`; empty means every host.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// `kind: Application`: launch overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApplicationDoc {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ApplicationSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApplicationSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmds: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub launch_apps: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<AppConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppConfig {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<AppFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<AppLaunch>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppFile {
    /// Path relative to the app's directory `application/apps/<name>/`.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<ConfigStrategy>,
    #[serde(default)]
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppLaunch {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmds: Vec<String>,
}
