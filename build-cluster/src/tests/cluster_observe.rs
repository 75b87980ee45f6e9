//! Unit tests of `cluster::observe`.

use super::*;
use serde_json::json;

#[test]
fn pod_statuses_and_events() {
    let pod = json!({"metadata":{"name":"p","namespace":"n"},
        "spec":{"containers":[{"name":"a","image":"nginx:1.25"},{"name":"b","image":"bad/x:1"}],
                "initContainers":[{"name":"i","image":"busybox"}]},
        "status":{"containerStatuses":[
            {"name":"a","image":"docker.io/library/nginx:1.25","imageID":"docker.io/library/nginx@sha256:abc"},
            {"name":"b","image":"bad/x:1","imageID":"","state":{"waiting":{"reason":"ImagePullBackOff"}}}],
          "initContainerStatuses":[{"name":"i","image":"busybox","imageID":"","state":{"running":{}}}]}});
    let p = pulls_from_pod(&pod);
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].outcome, PullOutcome::Pulled);
    assert_eq!(p[0].image, "nginx:1.25");
    assert_eq!(
        p[0].image_id.as_deref(),
        Some("docker.io/library/nginx@sha256:abc")
    );
    assert_eq!(p[1].outcome, PullOutcome::Failed);

    let ev = json!({"reason":"Pulling","message":"Pulling image \"quay.io/x/op:v2\"",
        "involvedObject":{"kind":"Pod","name":"p","namespace":"n","fieldPath":"spec.containers{op}"}});
    let e = pulls_from_event(&ev).unwrap();
    assert_eq!(
        (e.image.as_str(), e.outcome, e.container.as_deref()),
        ("quay.io/x/op:v2", PullOutcome::Pulling, Some("op"))
    );
    let failed = json!({"reason":"Failed","message":"Failed to pull image \"r/x:1\": rpc error",
        "involvedObject":{"kind":"Pod","name":"p","namespace":"n"}});
    assert_eq!(
        pulls_from_event(&failed).unwrap().outcome,
        PullOutcome::Failed
    );
    let present = json!({"reason":"Pulled","message":"Container image \"a:1\" already present on machine",
        "involvedObject":{"kind":"Pod","name":"p","namespace":"n"}});
    assert_eq!(
        pulls_from_event(&present).unwrap().outcome,
        PullOutcome::Present
    );
    let other = json!({"reason":"Scheduled","message":"x","involvedObject":{"kind":"Pod"}});
    assert!(pulls_from_event(&other).is_none());
}
