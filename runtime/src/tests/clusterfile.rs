use super::*;

const FULL: &str = r#"apiVersion: sealer.io/v2
kind: Cluster
metadata:
  name: my-cluster
  creationTimestamp: null
spec:
  image: kubernetes:v1.22.15
  env:
    - key1=value1
    - key2=value2;value3
  cmd: ["echo hi"]
  appNames: [app1]
  ssh:
    user: root
    passwd: secret
    port: "2222"
  hosts:
    - ips: [ 192.168.0.2 ]
      roles: [ master ]
      env: [ etcd-dir=/data/etcd ]
      ssh:
        port: 22
    - ips: [ 192.168.0.3-192.168.0.5 ]
      roles: [ node, db ]
      labels: { disk: ssd }
      taints: [ "key=value:NoSchedule" ]
  containerRuntime:
    type: containerd
  hostAliases:
    - ip: 10.0.0.9
      hostnames: [ foo.local ]
  registry:
    localRegistry:
      domain: my.hub
      port: 5001
      ha: false
      insecure: true
  dataRoot: /data/sealer
status: {}
---
apiVersion: sealer.io/v1
kind: Config
metadata:
  name: kubeadm
spec:
  path: etc/kubeadm.yml
  strategy: merge
  data: |
    a: 1
---
apiVersion: sealer.io/v1
kind: Plugin
metadata:
  name: disk
spec:
  type: SHELL
  action: pre-init-host
  scope: master|node
  data: echo disk
---
apiVersion: sealer.io/v2
kind: Application
metadata:
  name: my-apps
spec:
  launchApps: [app1]
  configs:
    - name: app1
      launch:
        cmds: [ "run it" ]
"#;

#[test]
fn parses_every_kind_and_resolves_hosts() {
    let cf = Clusterfile::parse(FULL).unwrap();
    assert_eq!(cf.name(), "my-cluster");
    assert_eq!(cf.data_root(), "/data/sealer");
    assert_eq!(cf.registry(), ("my.hub".to_string(), 5001, false));
    assert_eq!(cf.configs[0].spec.strategy, Some(ConfigStrategy::Merge));
    assert_eq!(cf.plugins[0].spec.scope, "master|node");
    assert_eq!(cf.application.as_ref().unwrap().spec.launch_apps, ["app1"]);
    let hosts = resolve_hosts(&cf.cluster).unwrap();
    assert_eq!(hosts.len(), 4);
    assert_eq!(hosts[0].spec.port, 22, "host override wins");
    assert_eq!(hosts[1].spec.port, 2222, "string port from the cluster");
    assert_eq!(
        hosts[1].spec.credentials.password.as_deref(),
        Some("secret")
    );
    assert_eq!(hosts[3].ip.to_string(), "192.168.0.5");
    assert!(hosts[2].in_scope("master|node"));
    assert!(!hosts[2].in_scope("master"));
    assert_eq!(hosts[0].env["etcd-dir"], "/data/etcd");
    assert_eq!(master0(&hosts).unwrap().ip.to_string(), "192.168.0.2");
}

#[test]
fn round_trips_through_yaml() {
    let cf = Clusterfile::parse(FULL).unwrap();
    let text = cf.to_yaml().unwrap();
    let again = Clusterfile::parse(&text).unwrap();
    assert_eq!(again, cf, "serialized:\n{text}");
    assert!(
        text.contains("port: \"2222\""),
        "ports stay strings like sealer writes:\n{text}"
    );
    assert!(!text.contains("creationTimestamp"));
}

#[test]
fn unknown_fields_name_document_and_path() {
    let bad = FULL.replace("      labels: { disk: ssd }", "      lables: { disk: ssd }");
    let e = Clusterfile::parse(&bad).unwrap_err().to_string();
    assert!(e.contains("document 1 (kind Cluster)"), "{e}");
    assert!(e.contains("spec.hosts[1]"), "{e}");
    assert!(e.contains("lables"), "{e}");

    let bad = FULL.replace(
        "  action: pre-init-host",
        "  action: pre-init-host\n  when: always",
    );
    let e = Clusterfile::parse(&bad).unwrap_err().to_string();
    assert!(
        e.contains("document 3 (kind Plugin)") && e.contains("when"),
        "{e}"
    );

    let bad = FULL.replace("kind: Config", "kind: Secret");
    let e = Clusterfile::parse(&bad).unwrap_err().to_string();
    assert!(
        e.contains("document 2") && e.contains("unknown kind \"Secret\""),
        "{e}"
    );
}

#[test]
fn semantic_errors_are_clear() {
    let cases = [
        (
            FULL.replace("port: \"2222\"", "port: \"99999\""),
            "invalid ssh port",
        ),
        (
            FULL.replace("192.168.0.3-192.168.0.5", "192.168.0.5-192.168.0.3"),
            "start is after",
        ),
        (
            FULL.replace("roles: [ master ]", "roles: [ node ]"),
            "no host with role `master`",
        ),
        (
            FULL.replace("action: pre-init-host", "action: whenever"),
            "unknown action",
        ),
        (FULL.replace("type: SHELL", "type: LABEL"), "only SHELL"),
        (
            FULL.replace("path: etc/kubeadm.yml", "path: ../../etc/passwd"),
            "must not contain",
        ),
        (
            FULL.replace("  image: kubernetes:v1.22.15\n", ""),
            "spec.image is empty",
        ),
        (
            FULL.replace(
                "apiVersion: sealer.io/v2\nkind: Cluster",
                "apiVersion: sealer.cloud/v1\nkind: Cluster",
            ),
            "not supported",
        ),
        (FULL.replace("- key1=value1", "- key1"), "KEY=VALUE"),
        (
            "kind: Plugin\napiVersion: v1\nspec: {type: SHELL, action: post-install}\n".to_string(),
            "no `kind: Cluster`",
        ),
        ("a: [".to_string(), "not valid YAML"),
        ("apiVersion: x\n".to_string(), "missing `kind`"),
    ];
    for (text, want) in cases {
        let e = Clusterfile::parse(&text).unwrap_err().to_string();
        assert!(e.contains(want), "want {want:?} in: {e}");
    }
}

#[test]
fn run_args_build_a_clusterfile() {
    let args = RunArgs {
        image: "img:1".into(),
        masters: "10.0.0.2".into(),
        nodes: "10.0.0.3-10.0.0.4".into(),
        password: Some("pw".into()),
        port: Some(2200),
        env: vec!["A=1".into()],
        ..Default::default()
    };
    let cf = args.to_clusterfile().unwrap();
    assert_eq!(cf.name(), DEFAULT_CLUSTER_NAME);
    let hosts = resolve_hosts(&cf.cluster).unwrap();
    let ips: Vec<String> = hosts.iter().map(|h| h.ip.to_string()).collect();
    assert_eq!(ips, ["10.0.0.2", "10.0.0.3", "10.0.0.4"]);
    assert!(hosts[0].is_master() && hosts[2].has_role(ROLE_NODE));
    assert_eq!(hosts[1].spec.port, 2200);
    let e = RunArgs {
        image: "img".into(),
        nodes: "10.0.0.3".into(),
        ..Default::default()
    }
    .to_clusterfile()
    .unwrap_err();
    assert!(e.to_string().contains("master"), "{e}");
}
