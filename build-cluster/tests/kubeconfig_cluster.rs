//! KubeconfigCluster's API mechanics (kube client: discovery, list, watch of Pods and Events,
//! settling), exercised against the embedded server standing in for a real cluster.

mod common;

use common::*;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use sealer_build_cluster::cluster::{Cluster, KubeconfigCluster, KubeconfigFactory, PullOutcome};
use sealer_build_cluster::discover::{Confidence, discover};
use sealer_build_cluster::launch::{LaunchSpec, ObserveOptions, ProcessRunner, observe};
use serde_json::json;
use std::time::{Duration, Instant};

fn ar(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
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

async fn client(kubeconfig: &std::path::Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_pulls_from_pod_statuses_and_events() {
    let (dir, embedded) = cluster().await;
    let kubeconfig = embedded.kubeconfig().unwrap().to_path_buf();
    let mut real = KubeconfigCluster::new(&kubeconfig, &dir.path().join("real"))
        .with_quiet_period(Duration::from_millis(300));
    assert!(matches!(
        real.objects().await,
        Err(sealer_build_cluster::error::ClusterError::NotStarted)
    ));
    real.start().await.unwrap();
    assert!(
        real.objects().await.unwrap().is_empty(),
        "the baseline is not part of the recording"
    );

    let c = client(&kubeconfig).await;
    let pods: Api<DynamicObject> =
        Api::namespaced_with(c.clone(), "default", &ar("", "v1", "Pod", "pods"));
    let pod: DynamicObject = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "op"}, "spec": {"containers": [
            {"name": "a", "image": "nginx:1.25"}, {"name": "b", "image": "registry.example.com/missing:1"}]}}))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let status = json!({"status": {"phase": "Pending", "containerStatuses": [
        {"name": "a", "image": "docker.io/library/nginx:1.25", "imageID": "docker.io/library/nginx@sha256:0123", "ready": true},
        {"name": "b", "image": "registry.example.com/missing:1", "imageID": "", "ready": false,
         "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}});
    pods.patch_status("op", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    let events: Api<DynamicObject> =
        Api::namespaced_with(c.clone(), "default", &ar("", "v1", "Event", "events"));
    let ev: DynamicObject = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "op.1"}, "reason": "Pulling", "message": "Pulling image \"quay.io/acme/sidecar:2\"",
        "involvedObject": {"kind": "Pod", "name": "op", "namespace": "default", "fieldPath": "spec.containers{c}"}}))
    .unwrap();
    events.create(&PostParams::default(), &ev).await.unwrap();

    let t = Instant::now();
    let pulls = loop {
        let p = real.pulls().await.unwrap();
        if p.iter().any(|p| p.source == "event") || t.elapsed() > Duration::from_secs(5) {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let seen: Vec<(&str, PullOutcome, &str)> = pulls
        .iter()
        .map(|p| (p.image.as_str(), p.outcome, p.source.as_str()))
        .collect();
    assert!(
        seen.contains(&("nginx:1.25", PullOutcome::Pulled, "containerStatus")),
        "{seen:?}"
    );
    assert!(
        seen.contains(&(
            "registry.example.com/missing:1",
            PullOutcome::Failed,
            "containerStatus"
        )),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("quay.io/acme/sidecar:2", PullOutcome::Pulling, "event")),
        "{seen:?}"
    );

    // The pod is stuck on a pull: that counts as settled (the pull was tried and recorded).
    let s = real.settle(Duration::from_secs(10)).await.unwrap();
    assert!(s.settled, "{s:?}");
    let objs = real.objects().await.unwrap();
    assert!(object(&objs, "Pod", "op").is_some());
    assert!(
        !objs
            .iter()
            .any(|o| o["kind"] == "Event" || o["kind"] == "Namespace")
    );
    real.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_against_a_kubeconfig_cluster_reports_pulled_images() {
    let Some(k) = kubectl() else { return };
    let (dir, embedded) = cluster().await;
    let kubeconfig = embedded.kubeconfig().unwrap().to_path_buf();
    let root = dir.path().join("rootfs");
    // The "kubelet" of this stand-in cluster is the script itself: it reports a pull on the pod.
    write(
        &root.join("application/apps/op/run.sh"),
        &format!(
            r#"set -e
K={k}
printf 'apiVersion: v1\nkind: Pod\nmetadata: {{name: runner}}\nspec:\n  containers: [{{name: r, image: "busybox:1.36"}}]\n' | $K apply -f -
$K patch pod runner --subresource=status --type=merge -p '{{"status":{{"containerStatuses":[{{"name":"r","image":"docker.io/library/busybox:1.36","imageID":"docker.io/library/busybox@sha256:1","ready":true}},{{"name":"late","image":"quay.io/acme/late:5","imageID":"quay.io/acme/late@sha256:2","ready":true}}]}}}}'
"#,
            k = k.display()
        ),
    );
    let spec = LaunchSpec::from_extension_json(&json!({
        "applications": [{"name": "op", "type": "shell", "files": ["run.sh"]}],
        "launch": {"app_names": ["op"]}}))
    .unwrap();
    let factory = KubeconfigFactory { kubeconfig };
    let opts = ObserveOptions {
        observe_timeout: Duration::from_secs(10),
        unlaunched_apps: true,
    };
    let recs = observe(
        &root,
        &dir.path().join("work"),
        &spec,
        &factory,
        &ProcessRunner,
        &opts,
        &|_| {},
    )
    .await
    .unwrap();
    assert!(recs[0].backend.starts_with("kubeconfig:"));
    let report = discover(&recs, None).unwrap();
    let busybox = report.find("docker.io/library/busybox:1.36").unwrap();
    assert_eq!(busybox.confidence, Confidence::Pulled);
    assert!(
        busybox
            .provenance
            .iter()
            .all(|p| p.app.as_deref() == Some("op"))
    );
    // Not in any manifest (a webhook-injected sidecar, say), seen only in the pod's status.
    let late = report.find("quay.io/acme/late:5").unwrap();
    assert_eq!(late.confidence, Confidence::Pulled);
    assert_eq!(
        late.provenance[0].object.as_deref(),
        Some("Pod/default/runner")
    );
}
