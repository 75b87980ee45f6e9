//! sealer's own build fixtures (test/suites/build/fixtures).

use sealer_image_cache::sealer_meta::{AppType, ImageType, LABEL_KUBE_CNI_PREFIX};
use sealer_solver::graph::{CopyOp, CopySource, Op};

use super::helpers::*;
use crate::{BaseImage, CompileOptions, MemBaseImages, MemContext};

fn ctx(path: &str) -> CopySource {
    CopySource::Context { path: path.into() }
}

#[test]
fn build_with_cmds() {
    let src = "FROM scratch\nCOPY app.yaml manifests/\nCOPY imageList manifests/\nCMDS [\"kubectl apply -f manifests/app.yaml\"]";
    let c = ok(src, &MemContext::new().files(&["app.yaml", "imageList"]));
    let def = &c.definition;
    assert_eq!(
        ops(&c),
        vec![
            Op::Scratch,
            Op::Copy(CopyOp {
                sources: vec![ctx("app.yaml")],
                dest: "manifests/".into(),
                extract_archives: false
            }),
            Op::Copy(CopyOp {
                sources: vec![ctx("imageList")],
                dest: "manifests/".into(),
                extract_archives: false
            }),
        ]
    );
    // a chain: each vertex builds on the previous one
    let vs = &def.graph.vertices;
    assert!(vs[0].1.inputs.is_empty());
    assert_eq!(vs[1].1.inputs, vec![vs[0].0.clone()]);
    assert_eq!(vs[2].1.inputs, vec![vs[1].0.clone()]);
    assert_eq!(def.graph.output.as_ref(), Some(&vs[2].0));
    let info = &def.graph.info[&vs[1].0];
    assert_eq!(info.name, "COPY app.yaml manifests/");
    let loc = info.location.as_ref().unwrap();
    assert_eq!(
        (loc.file.as_str(), loc.line, loc.column),
        ("Kubefile", 2, 1)
    );

    let ext = &def.image.extension;
    assert_eq!(ext.launch.cmds, vec!["kubectl apply -f manifests/app.yaml"]);
    assert!(ext.launch.app_names.is_empty());
    assert_eq!(ext.schema_version, "v1alpha1");
    assert_eq!(ext.image_type, ImageType::KubeInstaller);
    assert!(ext.applications.is_empty());
    assert_eq!(def.image.base, None);
    assert_eq!(
        def.image.history,
        vec![
            "FROM scratch",
            "COPY app.yaml manifests/",
            "COPY imageList manifests/",
            "CMDS [\"kubectl apply -f manifests/app.yaml\"]"
        ]
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn build_with_launch_bare_and_json() {
    let context = MemContext::new().files(&["app.yaml", "imageList"]);
    for launch in ["LAUNCH myapp", "LAUNCH [\"myapp\"]", "launch myapp,"] {
        let src = format!(
            "FROM scratch\nCOPY imageList manifests/\nAPP myapp local://app.yaml\n{launch}"
        );
        let c = ok(&src, &context);
        let ext = &c.definition.image.extension;
        assert_eq!(ext.launch.app_names, vec!["myapp"], "{launch}");
        assert_eq!(ext.applications.len(), 1);
        let app = &ext.applications[0];
        assert_eq!(app.name, "myapp");
        assert_eq!(app.app_type, AppType::Kube);
        assert_eq!(app.files, vec!["app.yaml"]);
        assert_eq!(
            output(&c).op,
            Op::Copy(CopyOp {
                sources: vec![ctx("app.yaml")],
                dest: "application/apps/myapp/".into(),
                extract_archives: false
            })
        );
    }
}

fn appcmds_context() -> MemContext {
    MemContext::new().files(&[
        "install.sh",
        "mixedcontext/app.yaml",
        "mixedcontext/install.sh",
        "shellcontext/a.sh",
        "shellcontext/b.sh",
        "shellcontext/c.sh",
        "yamlcontext/a.yaml",
        "yamlcontext/b.yaml",
        "yamlcontext/c.yaml",
    ])
}

#[test]
fn build_with_appcmds() {
    let src = "FROM scratch
APP yamlapp local://yamlcontext
APP shellapp local://shellcontext
APP mixedapp local://install.sh local://mixedcontext
APPCMDS mixedapp [\"kubectl apply -f app.yaml\"]
LAUNCH [\"mixedapp\",\"shellapp\"]
";
    let c = ok(src, &appcmds_context());
    let ext = &c.definition.image.extension;
    let apps: Vec<(&str, AppType, Vec<&str>, Vec<&str>)> = ext
        .applications
        .iter()
        .map(|a| {
            (
                a.name.as_str(),
                a.app_type,
                a.files.iter().map(String::as_str).collect(),
                a.cmds.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        apps,
        vec![
            (
                "yamlapp",
                AppType::Kube,
                vec!["a.yaml", "b.yaml", "c.yaml"],
                vec![]
            ),
            (
                "shellapp",
                AppType::Shell,
                vec!["a.sh", "b.sh", "c.sh"],
                vec![]
            ),
            (
                "mixedapp",
                AppType::Unknown,
                vec![],
                vec!["kubectl apply -f app.yaml"]
            ),
        ]
    );
    assert_eq!(ext.launch.app_names, vec!["mixedapp", "shellapp"]);
    let copies = copy_ops(&c);
    assert_eq!(
        copies[2].sources,
        vec![ctx("install.sh"), ctx("mixedcontext")]
    );
    assert_eq!(copies[2].dest, "application/apps/mixedapp/");
    let json = serde_json::to_value(ext).unwrap();
    assert_eq!(json["applications"][2]["type"], "");
}

#[test]
fn build_with_multi_arch() {
    let src = "FROM scratch\nCOPY ${ARCH}/bin bin\nAPP myapp local://app.yaml\nLAUNCH myapp";
    let context =
        MemContext::new().files(&["amd64/bin/i_am_amd64", "arm64/bin/i_am_arm64", "app.yaml"]);
    for (platform, dir) in [("linux/amd64", "amd64/bin"), ("linux/arm64", "arm64/bin")] {
        let o = CompileOptions {
            platform: sealer_image_cache::sealer_meta::Platform::parse(platform).unwrap(),
            ..opts()
        };
        let c = ok_with(src, &context, &o, &MemBaseImages::new());
        let copies = copy_ops(&c);
        assert_eq!(copies[0].sources, vec![ctx(dir)]);
        assert_eq!(copies[0].dest, "bin");
        assert_eq!(
            c.definition.image.platform.architecture,
            platform.split('/').nth(1).unwrap()
        );
        assert!(c.warnings.is_empty());
    }
}

#[test]
fn helm_chart_dir_is_helm() {
    let context = MemContext::new().files(&[
        "chart/Chart.yaml",
        "chart/values.yaml",
        "chart/templates/deploy.yaml",
        "chart/README.md",
    ]);
    let c = ok(
        "FROM scratch\nAPP github-app local://chart\nLAUNCH github-app",
        &context,
    );
    let app = &c.definition.image.extension.applications[0];
    assert_eq!(app.app_type, AppType::Helm);
    assert_eq!(app.files, vec!["github-app"]);
}

#[test]
fn inherits_labels_env_and_apps_but_not_launch() {
    let mut base = BaseImage {
        reference: "docker.io/sealerio/kubernetes:v1.22.15".into(),
        ..BaseImage::default()
    };
    base.labels.insert(
        "cluster.alpha.sealer.io/cluster-runtime-type".into(),
        "kubernetes".into(),
    );
    base.labels
        .insert(format!("{LABEL_KUBE_CNI_PREFIX}calico"), "true".into());
    base.env.insert("PATH".into(), "/usr/bin".into());
    base.extension
        .env
        .insert("registryDomain".into(), "sea.hub".into());
    base.extension
        .applications
        .push(sealer_image_cache::sealer_meta::Application {
            name: "calico".into(),
            app_type: AppType::Shell,
            files: vec!["install.sh".into()],
            ..Default::default()
        });
    base.extension.launch.app_names = vec!["calico".into()];
    base.extension.launch.cmds = vec!["echo base".into()];
    let resolver = MemBaseImages::new().with(base);
    let src = "FROM docker.io/sealerio/kubernetes:v1.22.15\nENV A=1\nAPPENV calico MTU=1440\nLAUNCH calico";
    let c = ok_with(src, &MemContext::new(), &opts(), &resolver);
    let image = &c.definition.image;
    assert_eq!(
        image.base.as_deref(),
        Some("docker.io/sealerio/kubernetes:v1.22.15")
    );
    assert_eq!(
        image.labels["cluster.alpha.sealer.io/cluster-runtime-type"],
        "kubernetes"
    );
    assert_eq!(image.env["PATH"], "/usr/bin");
    assert_eq!(image.env["A"], "1");
    assert_eq!(image.extension.env["registryDomain"], "sea.hub");
    assert_eq!(image.extension.env["A"], "1");
    let app = &image.extension.applications[0];
    assert_eq!(app.name, "calico");
    assert_eq!(app.env["MTU"], "1440");
    assert_eq!(image.extension.launch.app_names, vec!["calico"]);
    assert!(
        image.extension.launch.cmds.is_empty(),
        "launch cmds are not inherited"
    );
    match &ops(&c)[0] {
        Op::Image {
            reference,
            platform,
        } => {
            assert_eq!(reference, "docker.io/sealerio/kubernetes:v1.22.15");
            assert_eq!(platform.to_string(), "linux/amd64");
        }
        other => panic!("{other:?}"),
    }
}
