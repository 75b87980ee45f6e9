//! What the control plane and kubelets would do, reduced to what clients wait for: defaults,
//! ready statuses (Deployments Available, Pods Ready, Jobs Complete, CRDs Established …) and the
//! ReplicaSets and Pods that workload controllers create ([`super::workloads`]). No container
//! ever runs.

use super::meta::{base64_encode, fnv64, name_suffix, now_rfc3339};
use super::resources::ResourceType;
use super::store::State;
use serde_json::{Value, json};

/// The single node of the embedded cluster.
pub const NODE_NAME: &str = "sealer-build";

fn condition(ty: &str, status: &str, reason: &str, message: &str) -> Value {
    let now = now_rfc3339();
    json!({"type": ty, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": now, "lastUpdateTime": now})
}

fn replicas(obj: &mut Value) -> i64 {
    let r = obj.pointer("/spec/replicas").and_then(Value::as_i64);
    match r {
        Some(r) => r,
        None => {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("replicas".into(), json!(1));
            }
            1
        }
    }
}

pub(super) fn template_hash(obj: &Value) -> String {
    let t = obj
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(Value::Null);
    let h = fnv64(t.to_string().as_bytes());
    format!("{}{}", name_suffix(h), name_suffix(h >> 25))
}

/// Defaults and status of an object about to be stored.
pub fn prepare(state: &mut State, rt: &ResourceType, obj: &mut Value) {
    let generation = obj
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("apps", "Deployment") => {
            let n = replicas(obj);
            let rs = format!("{name}-{}", template_hash(obj));
            obj["status"] = json!({"observedGeneration": generation, "replicas": n,
            "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n,
            "conditions": [
                condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                condition("Progressing", "True", "NewReplicaSetAvailable",
                          &format!("ReplicaSet \"{rs}\" has successfully progressed.")),
            ]});
        }
        ("apps", "ReplicaSet") | ("", "ReplicationController") => {
            let n = replicas(obj);
            obj["status"] = json!({"observedGeneration": generation, "replicas": n,
                "fullyLabeledReplicas": n, "readyReplicas": n, "availableReplicas": n});
        }
        ("apps", "StatefulSet") => {
            let n = replicas(obj);
            let rev = format!("{name}-{}", template_hash(obj));
            obj["status"] = json!({"observedGeneration": generation, "replicas": n,
                "readyReplicas": n, "currentReplicas": n, "updatedReplicas": n,
                "availableReplicas": n, "currentRevision": rev, "updateRevision": rev,
                "collisionCount": 0});
        }
        ("apps", "DaemonSet") => {
            obj["status"] = json!({"observedGeneration": generation, "currentNumberScheduled": 1,
                "desiredNumberScheduled": 1, "numberAvailable": 1, "numberMisscheduled": 0,
                "numberReady": 1, "updatedNumberScheduled": 1});
        }
        ("batch", "Job") => {
            let completions = obj
                .pointer("/spec/completions")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let now = now_rfc3339();
            obj["status"] = json!({"startTime": now, "completionTime": now,
            "succeeded": completions, "ready": 0, "terminating": 0,
            "uncountedTerminatedPods": {},
            "conditions": [
                condition("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
                condition("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
            ]});
        }
        ("", "Pod") => {
            if obj.pointer("/spec/nodeName").is_none()
                && let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
            {
                spec.insert("nodeName".into(), json!(NODE_NAME));
            }
            let done = matches!(
                obj.pointer("/spec/restartPolicy").and_then(Value::as_str),
                Some("Never" | "OnFailure")
            );
            let ip = state.allocate_ip().replace("10.96.", "10.244.");
            obj["status"] = pod_status(&obj["spec"], done, &ip);
        }
        ("", "Service") => prepare_service(state, obj),
        ("", "Namespace") => {
            obj["status"] = json!({"phase": "Active"});
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                let labels = meta.entry("labels").or_insert_with(|| json!({}));
                labels["kubernetes.io/metadata.name"] = json!(name);
            }
        }
        ("", "Secret") => {
            if let Some(Value::Object(sd)) =
                obj.as_object_mut().and_then(|o| o.remove("stringData"))
            {
                let data = obj
                    .as_object_mut()
                    .map(|o| o.entry("data").or_insert_with(|| json!({})));
                if let Some(Value::Object(data)) = data {
                    for (k, v) in sd {
                        let text = v
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string());
                        data.insert(k, json!(base64_encode(text.as_bytes())));
                    }
                }
            }
            if obj.get("type").is_none() {
                obj["type"] = json!("Opaque");
            }
        }
        ("", "PersistentVolumeClaim") => {
            let size = obj
                .pointer("/spec/resources/requests/storage")
                .cloned()
                .unwrap_or(json!("1Gi"));
            let modes = obj
                .pointer("/spec/accessModes")
                .cloned()
                .unwrap_or(json!(["ReadWriteOnce"]));
            obj["status"] =
                json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}});
        }
        ("", "PersistentVolume") => obj["status"] = json!({"phase": "Bound"}),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            let names = obj.pointer("/spec/names").cloned().unwrap_or(json!({}));
            let storage: Vec<Value> = obj
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .map(|vs| {
                    vs.iter()
                        .filter(|v| v["storage"].as_bool() == Some(true))
                        .map(|v| v["name"].clone())
                        .collect()
                })
                .unwrap_or_default();
            obj["status"] = json!({"acceptedNames": names, "storedVersions": storage,
            "conditions": [
                condition("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
                condition("Established", "True", "InitialNamesAccepted", "the initial names have been accepted"),
            ]});
            state.registry.apply_crd(obj);
        }
        ("apiregistration.k8s.io", "APIService") => {
            obj["status"] = json!({"conditions": [condition("Available", "True", "Local", "Local APIServices are always available")]});
        }
        ("policy", "PodDisruptionBudget") => {
            obj["status"] = json!({"observedGeneration": generation, "currentHealthy": 0,
                "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0});
        }
        _ if rt.review => {
            obj["status"] = json!({"allowed": true, "authenticated": true,
                "userInfo": {"username": "sealer-build", "groups": ["system:masters"]}});
        }
        _ => {}
    }
}

fn prepare_service(state: &mut State, obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    spec.insert("type".into(), json!(ty));
    if ty != "ExternalName" && spec.get("clusterIP").is_none() {
        let ip = state.allocate_ip();
        spec.insert("clusterIP".into(), json!(ip));
        spec.insert("clusterIPs".into(), json!([ip]));
    }
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for (i, p) in ports.iter_mut().enumerate() {
            if p.get("protocol").is_none() {
                p["protocol"] = json!("TCP");
            }
            if p.get("targetPort").is_none() {
                p["targetPort"] = p["port"].clone();
            }
            if matches!(ty.as_str(), "NodePort" | "LoadBalancer") && p.get("nodePort").is_none() {
                p["nodePort"] = json!(30000 + (state.next_ip as usize + i) % 2768);
            }
        }
    }
    obj["status"] = if ty == "LoadBalancer" {
        json!({"loadBalancer": {"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]}})
    } else {
        json!({"loadBalancer": {}})
    };
}

/// The status of a pod whose containers started (or, for run-to-completion pods, finished).
pub fn pod_status(spec: &Value, done: bool, ip: &str) -> Value {
    let now = now_rfc3339();
    let statuses = |key: &str, finished: bool| -> Vec<Value> {
        spec[key]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        let state = if finished {
                            json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}})
                        } else {
                            json!({"running": {"startedAt": now}})
                        };
                        json!({"name": c["name"], "image": c["image"], "imageID": "",
                               "ready": !finished, "started": !finished, "restartCount": 0,
                               "state": state})
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let ready = if done { "False" } else { "True" };
    let reason = if done { "PodCompleted" } else { "" };
    json!({
        "phase": if done { "Succeeded" } else { "Running" },
        "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now, "qosClass": "BestEffort",
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": now},
            {"type": "Initialized", "status": "True", "lastTransitionTime": now},
            {"type": "Ready", "status": ready, "reason": reason, "lastTransitionTime": now},
            {"type": "ContainersReady", "status": ready, "reason": reason, "lastTransitionTime": now},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
        ],
        "initContainerStatuses": statuses("initContainers", true),
        "containerStatuses": statuses("containers", done),
    })
}

#[cfg(test)]
#[path = "../tests/apiserver_controllers.rs"]
mod tests;
