//! The resource types the server knows: the built-in API groups plus the kinds that
//! CustomResourceDefinitions add while the build runs.

use serde_json::Value;
use std::sync::Arc;

/// One served resource (`deployments` in `apps/v1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub has_status: bool,
    pub has_scale: bool,
    /// Create-only review kinds (SelfSubjectAccessReview, TokenReview …): echoed back with a status.
    pub review: bool,
    /// Name of the CRD that defines this type, if any.
    pub crd: Option<String>,
}

impl ResourceType {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `configmaps` for the core group (as used in error messages).
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Deployment.apps` (as used in "is invalid" messages).
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    pub fn verbs(&self) -> Vec<&'static str> {
        if self.review {
            vec!["create"]
        } else {
            vec![
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        }
    }
}

/// Built-in kinds: `group/version plural Kind scope shortnames categories subresources`.
/// `-` marks an empty column; lists are comma separated.
const BUILTIN: &str = "
v1 bindings Binding ns - - -
v1 componentstatuses ComponentStatus cluster cs - -
v1 configmaps ConfigMap ns cm - -
v1 endpoints Endpoints ns ep - -
v1 events Event ns ev - -
v1 limitranges LimitRange ns limits - -
v1 namespaces Namespace cluster ns - status
v1 nodes Node cluster no - status
v1 persistentvolumeclaims PersistentVolumeClaim ns pvc - status
v1 persistentvolumes PersistentVolume cluster pv - status
v1 pods Pod ns po all status
v1 podtemplates PodTemplate ns - - -
v1 replicationcontrollers ReplicationController ns rc all status,scale
v1 resourcequotas ResourceQuota ns quota - status
v1 secrets Secret ns - - -
v1 serviceaccounts ServiceAccount ns sa - -
v1 services Service ns svc all status
apps/v1 controllerrevisions ControllerRevision ns - - -
apps/v1 daemonsets DaemonSet ns ds all status
apps/v1 deployments Deployment ns deploy all status,scale
apps/v1 replicasets ReplicaSet ns rs all status,scale
apps/v1 statefulsets StatefulSet ns sts all status,scale
batch/v1 cronjobs CronJob ns cj all status
batch/v1 jobs Job ns - all status
autoscaling/v2 horizontalpodautoscalers HorizontalPodAutoscaler ns hpa all status
autoscaling/v1 horizontalpodautoscalers HorizontalPodAutoscaler ns hpa all status
networking.k8s.io/v1 ingressclasses IngressClass cluster - - -
networking.k8s.io/v1 ingresses Ingress ns ing - status
networking.k8s.io/v1 networkpolicies NetworkPolicy ns netpol - -
policy/v1 poddisruptionbudgets PodDisruptionBudget ns pdb - status
rbac.authorization.k8s.io/v1 clusterrolebindings ClusterRoleBinding cluster - - -
rbac.authorization.k8s.io/v1 clusterroles ClusterRole cluster - - -
rbac.authorization.k8s.io/v1 rolebindings RoleBinding ns - - -
rbac.authorization.k8s.io/v1 roles Role ns - - -
apiextensions.k8s.io/v1 customresourcedefinitions CustomResourceDefinition cluster crd,crds - status
admissionregistration.k8s.io/v1 mutatingwebhookconfigurations MutatingWebhookConfiguration cluster - - -
admissionregistration.k8s.io/v1 validatingwebhookconfigurations ValidatingWebhookConfiguration cluster - - -
admissionregistration.k8s.io/v1 validatingadmissionpolicies ValidatingAdmissionPolicy cluster - - status
admissionregistration.k8s.io/v1 validatingadmissionpolicybindings ValidatingAdmissionPolicyBinding cluster - - -
apiregistration.k8s.io/v1 apiservices APIService cluster - - status
storage.k8s.io/v1 csidrivers CSIDriver cluster - - -
storage.k8s.io/v1 csinodes CSINode cluster - - -
storage.k8s.io/v1 csistoragecapacities CSIStorageCapacity ns - - -
storage.k8s.io/v1 storageclasses StorageClass cluster sc - -
storage.k8s.io/v1 volumeattachments VolumeAttachment cluster - - status
coordination.k8s.io/v1 leases Lease ns - - -
discovery.k8s.io/v1 endpointslices EndpointSlice ns - - -
events.k8s.io/v1 events Event ns ev - -
scheduling.k8s.io/v1 priorityclasses PriorityClass cluster pc - -
node.k8s.io/v1 runtimeclasses RuntimeClass cluster - - -
certificates.k8s.io/v1 certificatesigningrequests CertificateSigningRequest cluster csr - status
flowcontrol.apiserver.k8s.io/v1 flowschemas FlowSchema cluster - - status
flowcontrol.apiserver.k8s.io/v1 prioritylevelconfigurations PriorityLevelConfiguration cluster - - status
authentication.k8s.io/v1 selfsubjectreviews SelfSubjectReview cluster - - review
authentication.k8s.io/v1 tokenreviews TokenReview cluster - - review
authorization.k8s.io/v1 localsubjectaccessreviews LocalSubjectAccessReview ns - - review
authorization.k8s.io/v1 selfsubjectaccessreviews SelfSubjectAccessReview cluster - - review
authorization.k8s.io/v1 selfsubjectrulesreviews SelfSubjectRulesReview cluster - - review
authorization.k8s.io/v1 subjectaccessreviews SubjectAccessReview cluster - - review
";

fn list(col: &str) -> Vec<String> {
    if col == "-" {
        Vec::new()
    } else {
        col.split(',').map(str::to_string).collect()
    }
}

fn parse_builtin() -> Vec<Arc<ResourceType>> {
    BUILTIN
        .lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let [gv, plural, kind, scope, short, cats, subs] = cols.as_slice() else {
                return None;
            };
            let (group, version) = gv.rsplit_once('/').unwrap_or(("", gv));
            let subs = list(subs);
            Some(Arc::new(ResourceType {
                group: group.to_string(),
                version: version.to_string(),
                plural: plural.to_string(),
                singular: kind.to_lowercase(),
                kind: kind.to_string(),
                namespaced: *scope == "ns",
                short_names: list(short),
                categories: list(cats),
                has_status: subs.iter().any(|s| s == "status"),
                has_scale: subs.iter().any(|s| s == "scale"),
                review: subs.iter().any(|s| s == "review"),
                crd: None,
            }))
        })
        .collect()
}

/// All served types, built-in first, then CRD-defined ones in creation order.
#[derive(Debug, Clone)]
pub struct Registry {
    types: Vec<Arc<ResourceType>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl Registry {
    pub fn builtin() -> Registry {
        Registry {
            types: parse_builtin(),
        }
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// Group → versions, in registry order (core group first as ``).
    pub fn group_versions(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for t in &self.types {
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) => {
                    if !versions.contains(&t.version) {
                        versions.push(t.version.clone());
                    }
                }
                None => out.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        out
    }

    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        self.types
            .iter()
            .filter(|t| t.group == group && t.version == version)
            .cloned()
            .collect()
    }

    /// Register (or re-register) the served versions of a CRD object.
    pub fn apply_crd(&mut self, crd: &Value) {
        let Some(name) = crd.pointer("/metadata/name").and_then(Value::as_str) else {
            return;
        };
        self.remove_crd(name);
        let spec = &crd["spec"];
        let group = spec["group"].as_str().unwrap_or_default();
        let names = &spec["names"];
        let (Some(plural), Some(kind)) = (names["plural"].as_str(), names["kind"].as_str()) else {
            return;
        };
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        let versions = spec["versions"].as_array().cloned().unwrap_or_default();
        // The storage version first: it is the preferred version in discovery.
        let mut ordered: Vec<&Value> = versions
            .iter()
            .filter(|v| v["storage"].as_bool() == Some(true))
            .collect();
        ordered.extend(
            versions
                .iter()
                .filter(|v| v["storage"].as_bool() != Some(true)),
        );
        for v in ordered {
            if v["served"].as_bool() == Some(false) {
                continue;
            }
            let Some(version) = v["name"].as_str() else {
                continue;
            };
            let subresources = &v["subresources"];
            self.types.push(Arc::new(ResourceType {
                group: group.to_string(),
                version: version.to_string(),
                plural: plural.to_string(),
                singular: names["singular"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| kind.to_lowercase()),
                kind: kind.to_string(),
                namespaced,
                short_names: strings(&names["shortNames"]),
                categories: strings(&names["categories"]),
                has_status: subresources.get("status").is_some(),
                has_scale: subresources.get("scale").is_some(),
                review: false,
                crd: Some(name.to_string()),
            }));
        }
    }

    pub fn remove_crd(&mut self, name: &str) {
        self.types.retain(|t| t.crd.as_deref() != Some(name));
    }

    /// The openAPIV3Schema of a CRD version, if the type comes from a CRD.
    pub fn crd_schema<'a>(crd: &'a Value, version: &str) -> Option<&'a Value> {
        crd.pointer("/spec/versions")?
            .as_array()?
            .iter()
            .find(|v| v["name"].as_str() == Some(version))?
            .pointer("/schema/openAPIV3Schema")
    }
}

#[cfg(test)]
#[path = "../tests/apiserver_resources.rs"]
mod tests;
