//! sealer's own build fixtures build, and `sealer inspect` records what sealer would.

mod common;
use common::*;
use serde_json::Value;

fn extension(doc: &Value) -> &Value {
    &doc["imageExtension"]
}

#[test]
fn fixture_cmds_records_launch_cmds() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY app.yaml manifests/\nCOPY imageList manifests/\nCMDS [\"kubectl apply -f manifests/app.yaml\"]\n",
            ),
            (
                "app.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
            ),
            ("imageList", "docker.io/library/nginx:1.25\n"),
        ],
    );
    let root = tmp.path().join("store");
    sealer(
        &root,
        &[
            "build",
            "--build-mode",
            "lite",
            "--progress",
            "plain",
            "-t",
            "fixture/cmds:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    let doc = inspect(&root, "fixture/cmds:v1");
    let ext = extension(&doc);
    assert_eq!(
        ext["launch"]["cmds"],
        serde_json::json!(["kubectl apply -f manifests/app.yaml"])
    );
    assert_eq!(ext["schemaVersion"], "v1alpha1");
    assert_eq!(ext["type"], "kube-installer");
    assert_eq!(
        doc["containerImageList"],
        serde_json::json!([{"image": "docker.io/library/nginx:1.25", "platform": doc["containerImageList"][0]["platform"]}])
    );
    // Two COPY layers, with the files where the Kubefile put them.
    assert_eq!(doc["manifest"]["layers"].as_array().unwrap().len(), 2);
}

#[test]
fn fixture_app_launch_records_app_and_type() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nCOPY imageList manifests/\nAPP myapp local://app.yaml\nLAUNCH myapp\n",
            ),
            (
                "app.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
            ),
            ("imageList", "docker.io/library/nginx:1.25\n"),
        ],
    );
    let root = tmp.path().join("store");
    sealer(
        &root,
        &[
            "build",
            "--build-mode",
            "lite",
            "--progress",
            "plain",
            "-t",
            "fixture/app:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    let ext = extension(&inspect(&root, "fixture/app:v1")).clone();
    let apps = ext["applications"].as_array().unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["name"], "myapp");
    assert_eq!(apps[0]["type"], "kube");
    assert_eq!(apps[0]["files"], serde_json::json!(["app.yaml"]));
    assert_eq!(ext["launch"]["app_names"], serde_json::json!(["myapp"]));
}

#[test]
fn fixture_three_app_types_with_appcmds() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    let kubefile = "FROM scratch\n\
        APP yamlapp local://yamlcontext\n\
        APP shellapp local://shellcontext\n\
        APP mixedapp local://install.sh local://mixedcontext\n\
        APPCMDS mixedapp [\"kubectl apply -f app.yaml\"]\n\
        LAUNCH [\"mixedapp\",\"shellapp\"]\n";
    write_files(
        &ctx,
        &[
            ("Kubefile", kubefile),
            (
                "yamlcontext/a.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
            ),
            (
                "yamlcontext/b.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
            ),
            (
                "yamlcontext/c.yml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
            ),
            ("shellcontext/a.sh", "echo a\n"),
            ("shellcontext/b.sh", "echo b\n"),
            ("shellcontext/c.sh", "echo c\n"),
            ("install.sh", "echo install\n"),
            (
                "mixedcontext/app.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n",
            ),
            ("mixedcontext/run.sh", "echo m\n"),
        ],
    );
    let root = tmp.path().join("store");
    sealer(
        &root,
        &[
            "build",
            "--progress",
            "plain",
            "-t",
            "fixture/three:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    let ext = extension(&inspect(&root, "fixture/three:v1")).clone();
    let apps = ext["applications"].as_array().unwrap();
    let by_name = |n: &str| apps.iter().find(|a| a["name"] == n).cloned().unwrap();
    assert_eq!(by_name("yamlapp")["type"], "kube");
    assert_eq!(by_name("shellapp")["type"], "shell");
    assert_eq!(by_name("mixedapp")["type"], "");
    assert_eq!(
        by_name("mixedapp")["cmds"],
        serde_json::json!(["kubectl apply -f app.yaml"])
    );
    assert_eq!(
        ext["launch"]["app_names"],
        serde_json::json!(["mixedapp", "shellapp"])
    );
}

#[test]
fn labels_cni_csi_and_kubeversion_are_recorded_and_folded() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    write_files(
        &ctx,
        &[
            (
                "Kubefile",
                "FROM scratch\nKUBEVERSION 1.22 - 1.24\nLABEL team=infra\nCNI calico local://calico.yaml\nCSI openebs local://openebs.yaml\nLAUNCH [\"calico\"]\n",
            ),
            (
                "calico.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: calico}\n",
            ),
            (
                "openebs.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: openebs}\n",
            ),
        ],
    );
    let root = tmp.path().join("store");
    sealer(
        &root,
        &[
            "build",
            "--progress",
            "plain",
            "--label",
            "by=test",
            "-t",
            "fixture/labels:v1",
            ctx.to_str().unwrap(),
        ],
    )
    .ok();
    let doc = inspect(&root, "fixture/labels:v1");
    let labels = &doc["config"]["config"]["Labels"];
    assert_eq!(labels["team"], "infra");
    assert_eq!(labels["by"], "test");
    assert_eq!(labels["cluster.alpha.sealer.io/kube-cni-calico"], "true");
    assert_eq!(
        labels["app.alpha.sealer.io/supported-kube-version"],
        "1.22 - 1.24"
    );
    let folded = &doc["imageExtension"]["labels"];
    assert_eq!(folded["kube-cni"], serde_json::json!(["calico"]));
    assert_eq!(folded["kube-csi"], serde_json::json!(["openebs"]));
}
