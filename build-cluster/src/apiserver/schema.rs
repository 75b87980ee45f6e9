//! Strict field validation (`fieldValidation=Strict`): unknown fields of well-known kinds and of
//! custom resources whose CRD carries a structural schema are rejected the way kube-apiserver's
//! strict decoder rejects them (`strict decoding error: unknown field "spec.foo"`).

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// What a field may hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Schema {
    /// Anything (not checked).
    Any,
    /// An object with exactly these fields.
    Object(BTreeMap<String, Schema>),
    /// A map whose values follow a schema.
    Map(Box<Schema>),
    /// A list whose items follow a schema.
    List(Box<Schema>),
}

/// Field names of well-known types. A value is a type name, `[Type]` for a list of it, or `*` for
/// anything. Keys `group/Kind` are top-level kinds.
const TABLE: &str = r#"{
"ObjectMeta": {"name":"*","generateName":"*","namespace":"*","selfLink":"*","uid":"*","resourceVersion":"*",
  "generation":"*","creationTimestamp":"*","deletionTimestamp":"*","deletionGracePeriodSeconds":"*","labels":"*",
  "annotations":"*","ownerReferences":"*","finalizers":"*","managedFields":"*"},
"PodTemplateSpec": {"metadata":"ObjectMeta","spec":"PodSpec"},
"PodSpec": {"volumes":"*","initContainers":"[Container]","containers":"[Container]","ephemeralContainers":"[Container]",
  "restartPolicy":"*","terminationGracePeriodSeconds":"*","activeDeadlineSeconds":"*","dnsPolicy":"*","nodeSelector":"*",
  "serviceAccountName":"*","serviceAccount":"*","automountServiceAccountToken":"*","nodeName":"*","hostNetwork":"*",
  "hostPID":"*","hostIPC":"*","shareProcessNamespace":"*","securityContext":"*","imagePullSecrets":"*","hostname":"*",
  "subdomain":"*","affinity":"*","schedulerName":"*","tolerations":"*","hostAliases":"*","priorityClassName":"*",
  "priority":"*","dnsConfig":"*","readinessGates":"*","runtimeClassName":"*","enableServiceLinks":"*",
  "preemptionPolicy":"*","overhead":"*","topologySpreadConstraints":"*","setHostnameAsFQDN":"*","os":"*",
  "hostUsers":"*","schedulingGates":"*","resourceClaims":"*","resources":"*","hostnameOverride":"*"},
"Container": {"name":"*","image":"*","command":"*","args":"*","workingDir":"*","ports":"*","envFrom":"*","env":"*",
  "resources":"*","resizePolicy":"*","restartPolicy":"*","restartPolicyRules":"*","volumeMounts":"*",
  "volumeDevices":"*","livenessProbe":"*","readinessProbe":"*","startupProbe":"*","lifecycle":"*",
  "terminationMessagePath":"*","terminationMessagePolicy":"*","imagePullPolicy":"*","securityContext":"*",
  "stdin":"*","stdinOnce":"*","tty":"*","targetContainerName":"*"},
"DeploymentSpec": {"replicas":"*","selector":"*","template":"PodTemplateSpec","strategy":"*","minReadySeconds":"*",
  "revisionHistoryLimit":"*","paused":"*","progressDeadlineSeconds":"*"},
"StatefulSetSpec": {"replicas":"*","selector":"*","template":"PodTemplateSpec","volumeClaimTemplates":"*",
  "serviceName":"*","podManagementPolicy":"*","updateStrategy":"*","revisionHistoryLimit":"*","minReadySeconds":"*",
  "persistentVolumeClaimRetentionPolicy":"*","ordinals":"*"},
"DaemonSetSpec": {"selector":"*","template":"PodTemplateSpec","updateStrategy":"*","minReadySeconds":"*",
  "revisionHistoryLimit":"*"},
"ReplicaSetSpec": {"replicas":"*","minReadySeconds":"*","selector":"*","template":"PodTemplateSpec"},
"JobSpec": {"parallelism":"*","completions":"*","activeDeadlineSeconds":"*","podFailurePolicy":"*","successPolicy":"*",
  "backoffLimit":"*","backoffLimitPerIndex":"*","maxFailedIndexes":"*","selector":"*","manualSelector":"*",
  "template":"PodTemplateSpec","ttlSecondsAfterFinished":"*","completionMode":"*","suspend":"*",
  "podReplacementPolicy":"*","managedBy":"*"},
"JobTemplateSpec": {"metadata":"ObjectMeta","spec":"JobSpec"},
"CronJobSpec": {"schedule":"*","timeZone":"*","startingDeadlineSeconds":"*","concurrencyPolicy":"*","suspend":"*",
  "jobTemplate":"JobTemplateSpec","successfulJobsHistoryLimit":"*","failedJobsHistoryLimit":"*"},
"ServiceSpec": {"ports":"*","selector":"*","clusterIP":"*","clusterIPs":"*","type":"*","externalIPs":"*",
  "sessionAffinity":"*","loadBalancerIP":"*","loadBalancerSourceRanges":"*","externalName":"*",
  "externalTrafficPolicy":"*","healthCheckNodePort":"*","publishNotReadyAddresses":"*","sessionAffinityConfig":"*",
  "ipFamilies":"*","ipFamilyPolicy":"*","allocateLoadBalancerNodePorts":"*","loadBalancerClass":"*",
  "internalTrafficPolicy":"*","trafficDistribution":"*"},
"IngressSpec": {"ingressClassName":"*","defaultBackend":"*","tls":"*","rules":"*"},
"PolicyRule": {"verbs":"*","apiGroups":"*","resources":"*","resourceNames":"*","nonResourceURLs":"*"},
"CRDSpec": {"group":"*","names":"*","scope":"*","versions":"*","conversion":"*","preserveUnknownFields":"*"},
"apps/Deployment": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"DeploymentSpec","status":"*"},
"apps/StatefulSet": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"StatefulSetSpec","status":"*"},
"apps/DaemonSet": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"DaemonSetSpec","status":"*"},
"apps/ReplicaSet": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"ReplicaSetSpec","status":"*"},
"batch/Job": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"JobSpec","status":"*"},
"batch/CronJob": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"CronJobSpec","status":"*"},
"/Pod": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"PodSpec","status":"*"},
"/PodTemplate": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","template":"PodTemplateSpec"},
"/Service": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"ServiceSpec","status":"*"},
"/ConfigMap": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","data":"*","binaryData":"*","immutable":"*"},
"/Secret": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","data":"*","stringData":"*","type":"*","immutable":"*"},
"/ServiceAccount": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","secrets":"*","imagePullSecrets":"*",
  "automountServiceAccountToken":"*"},
"/Namespace": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"*","status":"*"},
"/PersistentVolumeClaim": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"*","status":"*"},
"rbac.authorization.k8s.io/Role": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","rules":"[PolicyRule]"},
"rbac.authorization.k8s.io/ClusterRole": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","rules":"[PolicyRule]",
  "aggregationRule":"*"},
"rbac.authorization.k8s.io/RoleBinding": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","subjects":"*","roleRef":"*"},
"rbac.authorization.k8s.io/ClusterRoleBinding": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","subjects":"*",
  "roleRef":"*"},
"networking.k8s.io/Ingress": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"IngressSpec","status":"*"},
"apiextensions.k8s.io/CustomResourceDefinition": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"CRDSpec",
  "status":"*"},
"storage.k8s.io/StorageClass": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","provisioner":"*","parameters":"*",
  "reclaimPolicy":"*","mountOptions":"*","allowVolumeExpansion":"*","volumeBindingMode":"*","allowedTopologies":"*"},
"policy/PodDisruptionBudget": {"apiVersion":"*","kind":"*","metadata":"ObjectMeta","spec":"*","status":"*"}
}"#;

fn resolve(table: &BTreeMap<String, BTreeMap<String, String>>, ty: &str, depth: u8) -> Schema {
    if ty == "*" || depth > 8 {
        return Schema::Any;
    }
    if let Some(inner) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return Schema::List(Box::new(resolve(table, inner, depth + 1)));
    }
    match table.get(ty) {
        Some(fields) => Schema::Object(
            fields
                .iter()
                .map(|(k, t)| (k.clone(), resolve(table, t, depth + 1)))
                .collect(),
        ),
        None => Schema::Any,
    }
}

fn builtin_table() -> &'static BTreeMap<String, Schema> {
    static TABLE_CELL: OnceLock<BTreeMap<String, Schema>> = OnceLock::new();
    TABLE_CELL.get_or_init(|| {
        let raw: BTreeMap<String, BTreeMap<String, String>> =
            serde_json::from_str(TABLE).unwrap_or_default();
        raw.keys()
            .filter(|k| k.contains('/'))
            .map(|k| (k.clone(), resolve(&raw, k, 0)))
            .collect()
    })
}

/// The schema of a built-in kind, if it is one of the well-known ones.
pub fn builtin(group: &str, kind: &str) -> Option<&'static Schema> {
    builtin_table().get(&format!("{group}/{kind}"))
}

fn object_meta() -> Schema {
    match builtin("", "ConfigMap") {
        Some(Schema::Object(f)) => f.get("metadata").cloned().unwrap_or(Schema::Any),
        _ => Schema::Any,
    }
}

/// Convert a CRD version's structural `openAPIV3Schema` into a [`Schema`] for its custom resources.
pub fn from_openapi(root: &Value) -> Schema {
    let mut s = convert(root, 0);
    if let Schema::Object(fields) = &mut s {
        fields.insert("apiVersion".into(), Schema::Any);
        fields.insert("kind".into(), Schema::Any);
        fields.insert("metadata".into(), object_meta());
    }
    s
}

fn convert(node: &Value, depth: u8) -> Schema {
    if depth > 32 || node["x-kubernetes-preserve-unknown-fields"].as_bool() == Some(true) {
        return Schema::Any;
    }
    if let Some(props) = node["properties"].as_object() {
        let mut fields: BTreeMap<String, Schema> = props
            .iter()
            .map(|(k, v)| (k.clone(), convert(v, depth + 1)))
            .collect();
        if node["x-kubernetes-embedded-resource"].as_bool() == Some(true) {
            for k in ["apiVersion", "kind", "metadata"] {
                fields.entry(k.into()).or_insert(Schema::Any);
            }
        }
        return Schema::Object(fields);
    }
    match &node["additionalProperties"] {
        Value::Object(_) => {
            return Schema::Map(Box::new(convert(&node["additionalProperties"], depth + 1)));
        }
        Value::Bool(true) => return Schema::Any,
        _ => {}
    }
    if node["type"].as_str() == Some("array") && node["items"].is_object() {
        return Schema::List(Box::new(convert(&node["items"], depth + 1)));
    }
    Schema::Any
}

/// Paths of the fields `value` holds that `schema` does not declare (`spec.template.spec.foo`).
pub fn unknown_fields(schema: &Schema, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(schema, value, "", &mut out);
    out
}

fn walk(schema: &Schema, value: &Value, path: &str, out: &mut Vec<String>) {
    match (schema, value) {
        (Schema::Object(fields), Value::Object(m)) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match fields.get(k) {
                    Some(s) => walk(s, v, &p, out),
                    None => out.push(p),
                }
            }
        }
        (Schema::Map(s), Value::Object(m)) => {
            for (k, v) in m {
                walk(s, v, &format!("{path}.{k}"), out);
            }
        }
        (Schema::List(s), Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                walk(s, v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// `strict decoding error: unknown field "a", unknown field "b"`.
pub fn strict_message(unknown: &[String]) -> String {
    let parts: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    format!("strict decoding error: {}", parts.join(", "))
}

#[cfg(test)]
#[path = "../tests/apiserver_schema.rs"]
mod tests;
