//! Turn `spec.hosts` groups into one entry per IP with its roles, merged SSH settings and env.

use super::{Cluster, ClusterfileError, ROLE_MASTER, Ssh, expand_ip_list, parse_env};
use crate::ssh::{Credentials, HostSpec};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

/// One host of the cluster, in Clusterfile order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedHost {
    pub ip: IpAddr,
    pub roles: Vec<String>,
    pub spec: HostSpec,
    /// Host-level env only (merge with the cluster env to run scripts).
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<String>,
}

impl ResolvedHost {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
    pub fn is_master(&self) -> bool {
        self.has_role(ROLE_MASTER)
    }
    /// Whether this host is in a plugin scope like `master|node` (empty = every host).
    pub fn in_scope(&self, scope: &str) -> bool {
        let scope = scope.trim();
        scope.is_empty() || scope.split('|').map(str::trim).any(|r| self.has_role(r))
    }
}

/// The first master: where the cluster is initialised, apps launched and state kept.
pub fn master0(hosts: &[ResolvedHost]) -> Option<&ResolvedHost> {
    hosts.iter().find(|h| h.is_master())
}

/// Expand every group, merge SSH (host overrides cluster) and reject duplicates.
pub fn resolve_hosts(cluster: &Cluster) -> Result<Vec<ResolvedHost>, ClusterfileError> {
    let spec = &cluster.spec;
    if spec.hosts.is_empty() {
        return Err(ClusterfileError::Invalid(
            "spec.hosts is empty: list at least one master".into(),
        ));
    }
    let mut out: Vec<ResolvedHost> = Vec::new();
    for (gi, group) in spec.hosts.iter().enumerate() {
        let at = |m: String| ClusterfileError::Invalid(format!("spec.hosts[{gi}]: {m}"));
        if group.roles.is_empty() {
            return Err(at("no roles: give `master` or `node`".into()));
        }
        let env = parse_env(&group.env).map_err(|e| at(format!("env: {e}")))?;
        let creds = merge_ssh(&spec.ssh, &group.ssh);
        let port = group.ssh.port.or(spec.ssh.port).map(|p| p.0).unwrap_or(22);
        let mut ips = Vec::new();
        for item in &group.ips {
            ips.extend(expand_ip_list(item).map_err(|e| at(format!("ips: {e}")))?);
        }
        if ips.is_empty() {
            return Err(at("no ips".into()));
        }
        for taint in &group.taints {
            check_taint(taint).map_err(|m| at(format!("taints: {taint:?}: {m}")))?;
        }
        for key in group.labels.keys() {
            if key.is_empty() || key.contains(char::is_whitespace) || key.contains('=') {
                return Err(at(format!("labels: {key:?} is not a label key")));
            }
        }
        for ip in ips {
            if out.iter().any(|h| h.ip == ip) {
                return Err(at(format!("ip {ip} is listed twice")));
            }
            out.push(ResolvedHost {
                ip,
                roles: group.roles.clone(),
                spec: HostSpec {
                    ip,
                    port,
                    credentials: creds.clone(),
                },
                env: env.clone(),
                labels: group.labels.clone(),
                taints: group.taints.clone(),
            });
        }
    }
    Ok(out)
}

fn merge_ssh(cluster: &Ssh, host: &Ssh) -> Credentials {
    let pick = |h: &str, c: &str| {
        let v = if h.is_empty() { c } else { h };
        (!v.is_empty()).then(|| v.to_string())
    };
    Credentials {
        user: pick(&host.user, &cluster.user).unwrap_or_else(|| "root".to_string()),
        password: pick(&host.passwd, &cluster.passwd),
        key: pick(&host.pk, &cluster.pk).map(PathBuf::from),
        key_passphrase: pick(&host.pk_passwd, &cluster.pk_passwd),
    }
}

/// A taint as `kubectl taint` takes it: `key[=value]:Effect`, or with a trailing `-` to remove.
fn check_taint(taint: &str) -> Result<(), String> {
    let body = taint.strip_suffix('-').unwrap_or(taint);
    let (key_value, effect) = body
        .rsplit_once(':')
        .ok_or("expected key=value:Effect (Effect: NoSchedule, PreferNoSchedule or NoExecute)")?;
    if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
        return Err(format!(
            "effect {effect:?} is not NoSchedule, PreferNoSchedule or NoExecute"
        ));
    }
    let key = key_value.split_once('=').map_or(key_value, |(k, _)| k);
    if key.is_empty() || key_value.contains(char::is_whitespace) {
        return Err("the key is empty or has spaces".into());
    }
    Ok(())
}
