//! Each instruction's lowering.

use sealer_image_cache::sealer_meta::{
    AppType, ImageType, LABEL_KUBE_CNI_PREFIX, LABEL_KUBE_CSI_PREFIX, LABEL_SUPPORTED_KUBE_VERSION,
};
use sealer_solver::graph::{CopyOp, CopySource, Network, Op, RunOp};
use std::collections::BTreeMap;

use super::helpers::*;
use crate::{BaseImage, CompileOptions, MemBaseImages, MemContext};

fn local(p: &str) -> CopySource {
    CopySource::Context { path: p.into() }
}

fn run_op(c: &crate::Compiled) -> RunOp {
    match &output(c).op {
        Op::Run(r) => r.clone(),
        other => panic!("not a run: {other:?}"),
    }
}

#[test]
fn from_platform_flag_is_used_for_the_base_only() {
    let resolver = MemBaseImages::new().with(BaseImage {
        reference: "kube:v1".into(),
        ..Default::default()
    });
    let c = ok_with(
        "FROM --platform=linux/arm64 kube:v1",
        &MemContext::new(),
        &opts(),
        &resolver,
    );
    match &ops(&c)[0] {
        Op::Image { platform, .. } => assert_eq!(platform.to_string(), "linux/arm64"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.definition.image.platform.to_string(), "linux/amd64");
    assert_eq!(
        c.definition.image.history,
        vec!["FROM --platform=linux/arm64 kube:v1"]
    );
}

#[test]
fn copy_forms_and_destinations() {
    let context = MemContext::new().files(&["a.yaml", "b.yaml", "charts/x/Chart.yaml", "bin/tool"]);
    let src = "FROM scratch
COPY a.yaml b.yaml /manifests/
COPY *.yaml manifests/all/
COPY [\"charts\", \"/charts/\"]
COPY ./bin/../bin/tool .
COPY a.yaml etc/renamed.yaml
";
    let c = ok(src, &context);
    let copies = copy_ops(&c);
    assert_eq!(
        copies[0],
        CopyOp {
            sources: vec![local("a.yaml"), local("b.yaml")],
            dest: "manifests/".into(),
            extract_archives: false
        }
    );
    assert_eq!(copies[1].sources, vec![local("*.yaml")]);
    assert_eq!(copies[1].dest, "manifests/all/");
    assert_eq!(copies[2].sources, vec![local("charts")]);
    assert_eq!(copies[2].dest, "charts/");
    assert_eq!(copies[3].sources, vec![local("bin/tool")]);
    assert_eq!(copies[3].dest, "./");
    assert_eq!(copies[4].dest, "etc/renamed.yaml");
    let names: Vec<String> = c
        .definition
        .graph
        .info
        .values()
        .map(|i| i.name.clone())
        .collect();
    assert!(
        names.contains(&"COPY a.yaml b.yaml /manifests/".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"COPY [\"charts\", \"/charts/\"]".to_string()),
        "{names:?}"
    );
}

#[test]
fn add_extracts_archives_and_downloads_urls() {
    let context = MemContext::new().file("rootfs.tar.gz");
    let c = ok(
        "FROM scratch\nADD rootfs.tar.gz /\nADD https://example.com/x/calico.yaml?raw=1 manifests/\n",
        &context,
    );
    let copies = copy_ops(&c);
    assert_eq!(
        copies[0],
        CopyOp {
            sources: vec![local("rootfs.tar.gz")],
            dest: "./".into(),
            extract_archives: true
        }
    );
    assert_eq!(
        copies[1].sources,
        vec![CopySource::Url {
            url: "https://example.com/x/calico.yaml?raw=1".into()
        }]
    );
}

#[test]
fn run_shell_and_exec_forms_with_env() {
    let o = CompileOptions {
        build_args: BTreeMap::from([("VERSION".to_string(), "1.2".to_string())]),
        ..opts()
    };
    let src = "FROM scratch
ARG VERSION=0.1
ARG UNSET
ARG TARGETARCH
ENV PATH=/bin ZONE=\"eu west\"
RUN curl -L https://x/$VERSION \\
    -o bin/x
";
    let c = ok_with(src, &MemContext::new(), &o, &MemBaseImages::new());
    let run = run_op(&c);
    assert_eq!(
        run.args,
        vec!["/bin/sh", "-c", "curl -L https://x/$VERSION     -o bin/x"]
    );
    assert_eq!(
        run.env,
        vec![
            ("PATH".to_string(), "/bin".to_string()),
            ("TARGETARCH".to_string(), "amd64".to_string()),
            ("VERSION".to_string(), "1.2".to_string()),
            ("ZONE".to_string(), "eu west".to_string()),
        ]
    );
    assert_eq!(run.network, Network::Host);

    let c = ok(
        "FROM scratch\nRUN --network=none [\"sh\", \"-c\", \"echo $HOME\"]",
        &MemContext::new(),
    );
    let run = run_op(&c);
    assert_eq!(run.args, vec!["sh", "-c", "echo $HOME"]);
    assert_eq!(run.network, Network::None);
    assert!(run.env.is_empty());
}

#[test]
fn env_label_maintainer_forms() {
    let src = "FROM scratch
ENV A=1 B=\"two words\" C=${A}x
ENV LEGACY some value here
LABEL org.opencontainers.image.title=\"My App\" tier=$A
LABEL legacy-key legacy value
MAINTAINER Jane Doe <jane@example.com>
";
    let c = ok(src, &MemContext::new());
    let image = &c.definition.image;
    assert_eq!(image.env["A"], "1");
    assert_eq!(image.env["B"], "two words");
    assert_eq!(
        image.env["C"], "x",
        "pairs of one ENV see the env before the line"
    );
    assert_eq!(image.env["LEGACY"], "some value here");
    assert_eq!(image.extension.env, image.env);
    assert_eq!(image.labels["org.opencontainers.image.title"], "My App");
    assert_eq!(image.labels["tier"], "1");
    assert_eq!(image.labels["legacy-key"], "legacy value");
    assert_eq!(image.labels["maintainer"], "Jane Doe <jane@example.com>");
    assert_eq!(image.history[5], "MAINTAINER Jane Doe <jane@example.com>");
    assert_eq!(
        c.definition.graph.vertices.len(),
        1,
        "metadata makes no vertices"
    );
}

#[test]
fn cni_csi_kubeversion_and_option_labels() {
    let context = MemContext::new().files(&["calico/install.sh", "openebs.yaml"]);
    let o = CompileOptions {
        labels: BTreeMap::from([("tier".to_string(), "cli".to_string())]),
        image_type: ImageType::AppInstaller,
        ..opts()
    };
    let src = "FROM scratch\nLABEL tier=file\nCNI calico local://calico\nCSI openebs local://openebs.yaml\nKUBEVERSION >=1.22 <1.26\nLAUNCH calico openebs";
    let c = ok_with(src, &context, &o, &MemBaseImages::new());
    let image = &c.definition.image;
    assert_eq!(
        image.labels[&format!("{LABEL_KUBE_CNI_PREFIX}calico")],
        "true"
    );
    assert_eq!(
        image.labels[&format!("{LABEL_KUBE_CSI_PREFIX}openebs")],
        "true"
    );
    assert_eq!(image.labels[LABEL_SUPPORTED_KUBE_VERSION], ">=1.22 <1.26");
    assert_eq!(image.labels["tier"], "cli", "--label wins");
    assert_eq!(image.extension.image_type, ImageType::AppInstaller);
    let apps = &image.extension.applications;
    assert_eq!(
        (apps[0].name.as_str(), apps[0].app_type),
        ("calico", AppType::Shell)
    );
    assert_eq!(
        (apps[1].name.as_str(), apps[1].app_type),
        ("openebs", AppType::Kube)
    );
    assert_eq!(image.extension.launch.app_names, vec!["calico", "openebs"]);
}

#[test]
fn cmd_is_deprecated_but_works() {
    let c = ok(
        "FROM scratch\nCMD kubectl apply -f a.yaml\nCMD [\"echo 1\", \"echo 2\"]",
        &MemContext::new(),
    );
    assert_eq!(
        c.definition.image.extension.launch.cmds,
        vec!["kubectl apply -f a.yaml", "echo 1", "echo 2"]
    );
    let warns: Vec<(usize, usize)> = c.warnings.iter().map(|w| (w.line(), w.column())).collect();
    assert_eq!(warns, vec![(2, 1), (3, 1)]);
    assert!(
        c.warnings
            .iter()
            .all(|w| w.is_warning() && w.message() == "CMD is deprecated")
    );
}

#[test]
fn appenv_merges_and_appcmds_last_wins() {
    let context = MemContext::new().file("app.yaml");
    let src = "FROM scratch
APP app1 local://app.yaml
ENV globalKey=globalValue
APPENV app1 key1=value1 key2=value2
APPENV app1 key1=value3 key3=\"with space\"
APPCMDS app1 [\"first\"]
APPCMDS app1 [\"kubectl apply -f app.yaml\", \"echo $HOME\"]
LAUNCH [\"app1\"]";
    let c = ok(src, &context);
    let app = &c.definition.image.extension.applications[0];
    assert_eq!(
        app.env,
        BTreeMap::from([
            ("key1".to_string(), "value3".to_string()),
            ("key2".to_string(), "value2".to_string()),
            ("key3".to_string(), "with space".to_string()),
        ])
    );
    assert_eq!(app.cmds, vec!["kubectl apply -f app.yaml", "echo $HOME"]);
    assert_eq!(c.definition.image.extension.env["globalKey"], "globalValue");
}

#[test]
fn app_from_urls_and_multiple_local_sources() {
    let context = MemContext::new().files(&["a.yaml", "more/b.yml", "more/sub/c.yaml"]);
    let src = "FROM scratch
APP web https://example.com/manifests/web.yaml local://a.yaml local://more
APP script http://example.com/install.sh?x=1
LAUNCH web script";
    let c = ok(src, &context);
    let apps = &c.definition.image.extension.applications;
    assert_eq!(apps[0].app_type, AppType::Kube);
    assert_eq!(
        apps[0].files,
        vec!["web.yaml", "a.yaml", "b.yml", "sub/c.yaml"]
    );
    assert_eq!(apps[1].app_type, AppType::Shell);
    assert_eq!(apps[1].files, vec!["install.sh"]);
    let copies = copy_ops(&c);
    assert_eq!(
        copies[0].sources,
        vec![
            CopySource::Url {
                url: "https://example.com/manifests/web.yaml".into()
            },
            local("a.yaml"),
            local("more"),
        ]
    );
}

#[test]
fn redefining_an_app_warns_and_replaces() {
    let context = MemContext::new().files(&["a.yaml", "b.sh"]);
    let c = ok(
        "FROM scratch\nAPP x local://a.yaml\nAPP x local://b.sh\nLAUNCH x",
        &context,
    );
    let apps = &c.definition.image.extension.applications;
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].app_type, AppType::Shell);
    assert_eq!((c.warnings[0].line(), c.warnings[0].column()), (3, 5));
}

#[test]
fn shell_app_files_come_from_the_first_source_only() {
    let context = MemContext::new().files(&["install.sh", "lib/util.sh"]);
    let c = ok(
        "FROM scratch\nAPP s local://install.sh local://lib",
        &context,
    );
    assert_eq!(
        c.definition.image.extension.applications[0].files,
        vec!["install.sh"]
    );
}

#[test]
fn symlinks_inside_the_context_are_fine() {
    let context = MemContext::new()
        .file("real/app.yaml")
        .symlink("link", "real")
        .symlink("app.yaml", "real/app.yaml");
    let c = ok(
        "FROM scratch\nCOPY link/app.yaml app.yaml manifests/\nAPP a local://link",
        &context,
    );
    assert_eq!(
        c.definition.image.extension.applications[0].files,
        vec!["app.yaml"]
    );
}
