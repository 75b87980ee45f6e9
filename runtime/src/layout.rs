//! Where things live on a host, and the shell helpers that create and remove them.

use crate::ssh::{Host, ShellQuote, host_path};
use std::collections::BTreeMap;

/// Paths on a host for one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub data_root: String,
    pub cluster: String,
}

impl Layout {
    pub fn new(data_root: &str, cluster: &str) -> Self {
        Layout {
            data_root: data_root.trim_end_matches('/').to_string(),
            cluster: cluster.to_string(),
        }
    }
    /// `<dataRoot>/<cluster>`: everything sealer keeps for the cluster.
    pub fn cluster_dir(&self, host: &dyn Host) -> String {
        host_path(host, &format!("{}/{}", self.data_root, self.cluster))
    }
    pub fn rootfs(&self, host: &dyn Host) -> String {
        format!("{}/rootfs", self.cluster_dir(host))
    }
    pub fn app_rootfs(&self, host: &dyn Host, app_id: &str) -> String {
        format!("{}/apps/{app_id}", self.cluster_dir(host))
    }
    pub fn bin_dir(&self, host: &dyn Host) -> String {
        format!("{}/bin", self.cluster_dir(host))
    }
    pub fn run_dir(&self, host: &dyn Host) -> String {
        format!("{}/run", self.cluster_dir(host))
    }
    /// The applied Clusterfile kept on master0.
    pub fn clusterfile(&self, host: &dyn Host) -> String {
        format!("{}/Clusterfile", self.cluster_dir(host))
    }
    pub fn certs_d(&self, host: &dyn Host) -> String {
        host_path(host, "/etc/containerd/certs.d")
    }
    pub fn etc_hosts(&self, host: &dyn Host) -> String {
        host_path(host, "/etc/hosts")
    }
    /// Comment marking lines and files sealer wrote for this cluster.
    pub fn marker(&self) -> String {
        format!("sealer:{}", self.cluster)
    }

    /// Shell functions every script starts with:
    /// `sealer_mkdir DIR` creates DIR and records which directories did not exist before,
    /// so that deleting the cluster can remove exactly those.
    pub fn prelude(&self, host: &dyn Host) -> String {
        format!(
            r#"set -e
SEALER_CLUSTER_DIR={cd}
sealer_mkdir() {{
  _m=""; _d="$1"
  while [ ! -d "$_d" ]; do _m="$_d
$_m"; _d=$(dirname "$_d"); done
  mkdir -p "$1"
  if [ -n "$_m" ]; then mkdir -p "$SEALER_CLUSTER_DIR" && printf '%s' "$_m" >> "$SEALER_CLUSTER_DIR/.created-dirs"; fi
}}
"#,
            cd = self.cluster_dir(host).sq()
        )
    }
}

/// `cd DIR && PATH=BIN:$PATH env K=V... sh -c SCRIPT`, the way every rootfs script and hook runs.
pub fn env_command(
    dir: &str,
    bin: Option<&str>,
    env: &BTreeMap<String, String>,
    script: &str,
) -> String {
    let mut cmd = format!("cd {} && ", dir.sq());
    if let Some(b) = bin {
        cmd.push_str(&format!("export PATH={}:\"$PATH\" && ", b.sq()));
    }
    cmd.push_str("exec env");
    for (k, v) in env {
        cmd.push(' ');
        cmd.push_str(&format!("{k}={v}").sq());
    }
    cmd.push_str(" sh -c ");
    cmd.push_str(&script.sq());
    cmd
}

#[cfg(test)]
#[path = "tests/layout.rs"]
mod tests;
