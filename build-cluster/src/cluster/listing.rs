//! Reading a real cluster: discovery of every listable type, listing all objects, watching
//! pods and events for pulls, and when a pod counts as settled.

use super::ObservedPull;
use super::observe::{pulls_from_event, pulls_from_pod};
use crate::error::ClusterError;
use futures::TryStreamExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, WatchEvent, WatchParams};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Kinds never part of the recording: churn that says nothing about images.
const SKIPPED: [&str; 9] = [
    "events",
    "leases",
    "endpoints",
    "endpointslices",
    "componentstatuses",
    "bindings",
    "tokenreviews",
    "controllerrevisions",
    "csinodes",
];

pub(super) fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: if group.is_empty() {
            version.into()
        } else {
            format!("{group}/{version}")
        },
        kind: kind.into(),
        plural: plural.into(),
    }
}

pub(super) fn uid(v: &Value) -> String {
    v.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

pub(super) fn api_err(server: &str, doing: &str, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Api {
        server: server.into(),
        doing: doing.into(),
        message: e.to_string(),
    }
}

/// Every listable resource type (preferred versions), minus [`SKIPPED`].
async fn resources(client: &Client, server: &str) -> Result<Vec<ApiResource>, ClusterError> {
    let mut out = Vec::new();
    let core = client
        .list_core_api_resources("v1")
        .await
        .map_err(|e| api_err(server, "discovering /api/v1", e))?;
    for r in core.resources {
        if !r.name.contains('/')
            && r.verbs.iter().any(|v| v == "list")
            && !SKIPPED.contains(&r.name.as_str())
        {
            out.push(resource("", "v1", &r.kind, &r.name));
        }
    }
    let groups = client
        .list_api_groups()
        .await
        .map_err(|e| api_err(server, "discovering /apis", e))?;
    for g in groups.groups {
        let Some(pv) = g.preferred_version.or_else(|| g.versions.first().cloned()) else {
            continue;
        };
        let Ok(list) = client.list_api_group_resources(&pv.group_version).await else {
            continue;
        };
        for r in list.resources {
            if !r.name.contains('/')
                && r.verbs.iter().any(|v| v == "list")
                && !SKIPPED.contains(&r.name.as_str())
            {
                out.push(resource(&g.name, &pv.version, &r.kind, &r.name));
            }
        }
    }
    Ok(out)
}

/// Every object of every listable type, as JSON with apiVersion/kind set.
pub(super) async fn list_all(client: &Client, server: &str) -> Result<Vec<Value>, ClusterError> {
    let mut out = Vec::new();
    for ar in resources(client, server).await? {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        // Types the credentials may not list are skipped, not fatal.
        let Ok(list) = api.list(&ListParams::default()).await else {
            continue;
        };
        for item in list.items {
            let Ok(mut v) = serde_json::to_value(&item) else {
                continue;
            };
            v["apiVersion"] = Value::String(ar.api_version.clone());
            v["kind"] = Value::String(ar.kind.clone());
            out.push(v);
        }
    }
    Ok(out)
}

/// Watch pods or events from `rv` on, feeding pulls of objects not in the baseline.
pub(super) async fn watch_pulls(
    api: Api<DynamicObject>,
    mut rv: String,
    events: bool,
    baseline: Arc<HashMap<String, i64>>,
    pulls: Arc<Mutex<BTreeSet<ObservedPull>>>,
) {
    loop {
        let stream = match api.watch(&WatchParams::default().timeout(290), &rv).await {
            Ok(s) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut stream = std::pin::pin!(stream);
        while let Ok(Some(ev)) = stream.try_next().await {
            let obj = match ev {
                WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => o,
                WatchEvent::Bookmark(b) => {
                    rv = b.metadata.resource_version;
                    continue;
                }
                // Expired resourceVersion: start again from now.
                WatchEvent::Error(_) => {
                    rv = match api.list(&ListParams::default().limit(1)).await {
                        Ok(l) => l.metadata.resource_version.unwrap_or_default(),
                        Err(_) => String::new(),
                    };
                    break;
                }
            };
            if let Some(r) = &obj.metadata.resource_version {
                rv = r.clone();
            }
            let Ok(v) = serde_json::to_value(&obj) else {
                continue;
            };
            let owner_uid = if events {
                v.pointer("/involvedObject/uid")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            } else {
                uid(&v)
            };
            if baseline.contains_key(&owner_uid) {
                continue;
            }
            let found = if events {
                pulls_from_event(&v).into_iter().collect()
            } else {
                pulls_from_pod(&v)
            };
            if let Ok(mut set) = pulls.lock() {
                set.extend(found);
            }
        }
    }
}

pub(super) fn pod_settled(p: &Value) -> bool {
    const STUCK: [&str; 8] = [
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    ];
    let phase = p
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if matches!(phase, "Succeeded" | "Failed") {
        return true;
    }
    let statuses: Vec<&Value> = ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|k| p["status"][k].as_array())
        .flatten()
        .collect();
    if statuses.iter().any(|s| {
        s.pointer("/state/waiting/reason")
            .and_then(Value::as_str)
            .is_some_and(|r| STUCK.contains(&r))
    }) {
        return true;
    }
    phase == "Running"
        && p["status"]["containerStatuses"]
            .as_array()
            .is_some_and(|cs| cs.iter().all(|c| c["ready"].as_bool() == Some(true)))
}
