//! What pods and events say about image pulls.

use super::{ObservedPull, PullOutcome};
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

const PULL_FAILURES: [&str; 5] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "RegistryUnavailable",
];

fn s(v: &Value, p: &str) -> String {
    v.pointer(p)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Pulls shown by a pod's container statuses: an image ID means the image is on the node
/// (pulled); a waiting reason such as ErrImagePull means a pull was tried and failed.
pub fn pulls_from_pod(pod: &Value) -> Vec<ObservedPull> {
    let namespace = s(pod, "/metadata/namespace");
    let name = s(pod, "/metadata/name");
    let mut out = Vec::new();
    for (statuses, specs) in [
        ("containerStatuses", "containers"),
        ("initContainerStatuses", "initContainers"),
        ("ephemeralContainerStatuses", "ephemeralContainers"),
    ] {
        let Some(list) = pod["status"][statuses].as_array() else {
            continue;
        };
        for st in list {
            let cname = st["name"].as_str().unwrap_or_default();
            let spec_image = pod["spec"][specs]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["name"].as_str() == Some(cname)))
                .and_then(|c| c["image"].as_str())
                .unwrap_or_default()
                .to_string();
            let image_id = st["imageID"].as_str().filter(|i| !i.is_empty());
            let waiting = st.pointer("/state/waiting/reason").and_then(Value::as_str);
            let outcome = if image_id.is_some() {
                PullOutcome::Pulled
            } else if waiting.is_some_and(|w| PULL_FAILURES.contains(&w)) {
                PullOutcome::Failed
            } else {
                continue;
            };
            let image = if spec_image.is_empty() {
                st["image"].as_str().unwrap_or_default().to_string()
            } else {
                spec_image
            };
            out.push(ObservedPull {
                image,
                image_id: image_id.map(str::to_string),
                namespace: namespace.clone(),
                pod: name.clone(),
                container: Some(cname.to_string()),
                outcome,
                source: "containerStatus".into(),
            });
        }
    }
    out
}

fn quoted_image() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"[Ii]mage "([^"\s]+)""#).unwrap_or_else(|_| unreachable!("static regex"))
    })
}

fn container_of(field_path: &str) -> Option<String> {
    let start = field_path.find('{')? + 1;
    let end = field_path.rfind('}')?;
    field_path.get(start..end).map(str::to_string)
}

/// A pull shown by a kubelet event (`Pulling`, `Pulled`, `Failed`, `BackOff` … on a Pod).
pub fn pulls_from_event(ev: &Value) -> Option<ObservedPull> {
    if ev.pointer("/involvedObject/kind").and_then(Value::as_str) != Some("Pod") {
        return None;
    }
    let reason = ev["reason"].as_str().unwrap_or_default();
    let message = ev["message"].as_str().unwrap_or_default();
    let outcome = match reason {
        "Pulling" => PullOutcome::Pulling,
        "Pulled" if message.contains("already present") => PullOutcome::Present,
        "Pulled" => PullOutcome::Pulled,
        "Failed" | "BackOff" | "ErrImageNeverPull" | "InspectFailed"
            if message.to_lowercase().contains("image") =>
        {
            PullOutcome::Failed
        }
        _ => return None,
    };
    let image = quoted_image()
        .captures(message)?
        .get(1)?
        .as_str()
        .to_string();
    Some(ObservedPull {
        image,
        image_id: None,
        namespace: s(ev, "/involvedObject/namespace"),
        pod: s(ev, "/involvedObject/name"),
        container: container_of(&s(ev, "/involvedObject/fieldPath")),
        outcome,
        source: "event".into(),
    })
}

#[cfg(test)]
#[path = "../tests/cluster_observe.rs"]
mod tests;
