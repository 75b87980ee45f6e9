//! Build a Clusterfile from `sealer run IMAGE --masters .. --nodes ..` flags.

use super::{
    CLUSTER_API_VERSION, Cluster, ClusterSpec, Clusterfile, ClusterfileError, DEFAULT_CLUSTER_NAME,
    HostGroup, ObjectMeta, ROLE_MASTER, ROLE_NODE, Ssh, SshPort, expand_ip_list,
};

/// The flags of `sealer run` that shape a Clusterfile.
#[derive(Debug, Clone, Default)]
pub struct RunArgs {
    pub image: String,
    pub cluster_name: Option<String>,
    /// IP list / ranges, e.g. `10.0.0.2,10.0.0.3` or `10.0.0.2-10.0.0.4`.
    pub masters: String,
    pub nodes: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub private_key: Option<String>,
    pub private_key_password: Option<String>,
    pub port: Option<u16>,
    /// `K=V` entries.
    pub env: Vec<String>,
    pub cmds: Vec<String>,
    pub apps: Vec<String>,
}

impl RunArgs {
    /// A validated Clusterfile holding these flags.
    pub fn to_clusterfile(&self) -> Result<Clusterfile, ClusterfileError> {
        let group = |list: &str, role: &str| -> Result<Option<HostGroup>, ClusterfileError> {
            let ips = expand_ip_list(list)
                .map_err(|e| ClusterfileError::Invalid(format!("--{role}s: {e}")))?;
            Ok((!ips.is_empty()).then(|| HostGroup {
                ips: ips.iter().map(|i| i.to_string()).collect(),
                roles: vec![role.to_string()],
                ..Default::default()
            }))
        };
        let hosts: Vec<HostGroup> = [
            group(&self.masters, ROLE_MASTER)?,
            group(&self.nodes, ROLE_NODE)?,
        ]
        .into_iter()
        .flatten()
        .collect();
        let cf = Clusterfile {
            cluster: Cluster {
                api_version: CLUSTER_API_VERSION.to_string(),
                kind: "Cluster".to_string(),
                metadata: ObjectMeta {
                    name: self
                        .cluster_name
                        .clone()
                        .unwrap_or_else(|| DEFAULT_CLUSTER_NAME.to_string()),
                    ..Default::default()
                },
                spec: ClusterSpec {
                    image: self.image.clone(),
                    env: self.env.clone(),
                    cmd: self.cmds.clone(),
                    app_names: self.apps.clone(),
                    hosts,
                    ssh: Ssh {
                        user: self.user.clone().unwrap_or_default(),
                        passwd: self.password.clone().unwrap_or_default(),
                        pk: self.private_key.clone().unwrap_or_default(),
                        pk_passwd: self.private_key_password.clone().unwrap_or_default(),
                        port: self.port.map(SshPort),
                        ..Default::default()
                    },
                    ..Default::default()
                },
                status: None,
            },
            configs: Vec::new(),
            plugins: Vec::new(),
            application: None,
        };
        cf.validate()?;
        Ok(cf)
    }
}
