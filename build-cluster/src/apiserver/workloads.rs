//! The controllers of the embedded cluster: Deployments own a ReplicaSet, ReplicaSets,
//! StatefulSets, DaemonSets and Jobs own pods, marked running (or finished) at once; and the
//! objects every fresh cluster starts with.

use super::controllers::{NODE_NAME, pod_status, prepare, template_hash};
use super::meta::{fnv64, name_suffix, new_uid, now_rfc3339};
use super::resources::ResourceType;
use super::store::{Key, State};
use serde_json::{Value, json};

fn owner_ref(obj: &Value, api_version: &str, kind: &str) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": obj["metadata"]["name"],
           "uid": obj["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true})
}

fn owned(state: &State, group: &str, plural: &str, ns: &str, uid: &str) -> Vec<Key> {
    state
        .objects
        .iter()
        .filter(|(k, e)| {
            k.group == group
                && k.plural == plural
                && k.namespace == ns
                && e.object
                    .pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|rs| rs.iter().any(|r| r["uid"].as_str() == Some(uid)))
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// Create, replace or delete the pods `owner` should have.
fn sync_pods(
    state: &mut State,
    owner: &Value,
    api_version: &str,
    kind: &str,
    names: &[String],
    done: bool,
) {
    let ns = owner["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let uid = owner["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let template = owner
        .pointer("/spec/template")
        .or_else(|| owner.pointer("/spec/jobTemplate/spec/template"))
        .cloned()
        .unwrap_or(json!({}));
    let hash = fnv64(template.to_string().as_bytes()).to_string();
    for key in owned(state, "", "pods", &ns, &uid) {
        let same = state.get(&key).is_some_and(|e| {
            e.object
                .pointer("/metadata/annotations/sealer.io~1template-hash")
                .and_then(Value::as_str)
                == Some(hash.as_str())
        });
        if !names.contains(&key.name) || !same {
            state.remove_cascade(&key);
        }
    }
    for name in names {
        let key = Key::new("", "pods", &ns, name);
        if state.get(&key).is_some() {
            continue;
        }
        let mut meta = template.get("metadata").cloned().unwrap_or(json!({}));
        meta["name"] = json!(name);
        meta["namespace"] = json!(ns);
        meta["uid"] = json!(new_uid());
        meta["creationTimestamp"] = json!(now_rfc3339());
        meta["ownerReferences"] = json!([owner_ref(owner, api_version, kind)]);
        meta["annotations"]["sealer.io/template-hash"] = json!(hash);
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                             "spec": template.get("spec").cloned().unwrap_or(json!({}))});
        pod["spec"]["nodeName"] = json!(NODE_NAME);
        let ip = state.allocate_ip().replace("10.96.", "10.244.");
        pod["status"] = pod_status(&pod["spec"], done, &ip);
        state.put(key, pod, true);
    }
}

fn pod_names(prefix: &str, n: i64, ordinal: bool) -> Vec<String> {
    (0..n.clamp(0, 64))
        .map(|i| {
            if ordinal {
                format!("{prefix}-{i}")
            } else {
                format!(
                    "{prefix}-{}",
                    name_suffix(fnv64(format!("{prefix}/{i}").as_bytes()))
                )
            }
        })
        .collect()
}

/// Bring the objects a workload controller owns in line with a just-stored object.
pub fn reconcile(state: &mut State, rt: &ResourceType, obj: &Value) {
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let n = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let av = rt.api_version();
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("apps", "Deployment") => reconcile_deployment(state, obj, &name, n),
        ("apps", "ReplicaSet") | ("", "ReplicationController") => sync_pods(
            state,
            obj,
            &av,
            &rt.kind,
            &pod_names(&name, n, false),
            false,
        ),
        ("apps", "StatefulSet") => {
            sync_pods(state, obj, &av, &rt.kind, &pod_names(&name, n, true), false)
        }
        ("apps", "DaemonSet") => sync_pods(
            state,
            obj,
            &av,
            &rt.kind,
            &pod_names(&name, 1, false),
            false,
        ),
        ("batch", "Job") => sync_pods(state, obj, &av, &rt.kind, &pod_names(&name, 1, false), true),
        _ => {}
    }
}

fn reconcile_deployment(state: &mut State, obj: &Value, name: &str, n: i64) {
    let ns = obj["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let uid = obj["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let hash = template_hash(obj);
    let rs_name = format!("{name}-{hash}");
    for key in owned(state, "apps", "replicasets", &ns, &uid) {
        if key.name != rs_name {
            state.remove_cascade(&key);
        }
    }
    let key = Key::new("apps", "replicasets", &ns, &rs_name);
    let mut template = obj.pointer("/spec/template").cloned().unwrap_or(json!({}));
    template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let mut selector = obj.pointer("/spec/selector").cloned().unwrap_or(json!({}));
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    let (rs_uid, created) = match state.get(&key) {
        Some(e) => (
            e.object["metadata"]["uid"].clone(),
            e.object["metadata"]["creationTimestamp"].clone(),
        ),
        None => (json!(new_uid()), json!(now_rfc3339())),
    };
    let mut rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": rs_name, "namespace": ns, "uid": rs_uid, "creationTimestamp": created,
                     "generation": 1, "labels": template["metadata"]["labels"].clone(),
                     "ownerReferences": [owner_ref(obj, "apps/v1", "Deployment")]},
        "spec": {"replicas": n, "selector": selector, "template": template}});
    rs["status"] = json!({"observedGeneration": 1, "replicas": n, "fullyLabeledReplicas": n,
                          "readyReplicas": n, "availableReplicas": n});
    let stored = state.put(key, rs, true);
    sync_pods(
        state,
        &stored,
        "apps/v1",
        "ReplicaSet",
        &pod_names(&rs_name, n, false),
        false,
    );
}

/// The objects every fresh cluster has: namespaces, their default service accounts, the node and
/// the `kubernetes` service.
pub fn bootstrap(state: &mut State, kube_version: &str) {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let mut obj = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "uid": new_uid(), "creationTimestamp": now_rfc3339()}});
        if let Some(rt) = state.registry.find("", "v1", "namespaces") {
            prepare(state, &rt, &mut obj);
        }
        state.put(Key::new("", "namespaces", "", ns), obj, true);
        namespace_created(state, ns);
    }
    let now = now_rfc3339();
    let node = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE_NAME, "uid": new_uid(), "creationTimestamp": now,
            "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "node-role.kubernetes.io/control-plane": ""}},
        "spec": {"podCIDR": "10.244.0.0/24"},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                    "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                    "lastTransitionTime": now}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": NODE_NAME}],
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "nodeInfo": {"kubeletVersion": kube_version, "kubeProxyVersion": kube_version,
                "containerRuntimeVersion": "containerd://1.7.0", "operatingSystem": "linux",
                "architecture": "amd64", "osImage": "sealer build cluster", "kernelVersion": "",
                "machineID": "", "systemUUID": "", "bootID": ""}}});
    state.put(Key::new("", "nodes", "", NODE_NAME), node, true);
    let svc = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default", "uid": new_uid(),
                     "creationTimestamp": now_rfc3339(), "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
        "status": {"loadBalancer": {}}});
    state.put(Key::new("", "services", "default", "kubernetes"), svc, true);
}

/// A namespace gets its `default` service account.
pub fn namespace_created(state: &mut State, ns: &str) {
    let key = Key::new("", "serviceaccounts", ns, "default");
    if state.get(&key).is_none() {
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": ns, "uid": new_uid(), "creationTimestamp": now_rfc3339()}});
        state.put(key, sa, true);
    }
}
