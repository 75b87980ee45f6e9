//! Variable expansion rules.

use std::collections::BTreeMap;

use super::helpers::*;
use crate::expand::expand;
use crate::{CompileOptions, MemBaseImages, MemContext};

fn env() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([("A", "1"), ("EMPTY", ""), ("P", "a b")])
}

fn ex(raw: &str) -> String {
    let vars = env();
    let lookup = |n: &str| vars.get(n).map(|v| v.to_string());
    expand(raw, false, '\\', &lookup).unwrap().value
}

#[test]
fn shell_word_rules() {
    let cases = [
        ("$A", "1"),
        ("${A}x", "1x"),
        ("x$A.y", "x1.y"),
        ("${NOPE:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${A:-d}", "1"),
        ("${A:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${NOPE:+alt}", ""),
        ("${NOPE:-${A}-$A}", "1-1"),
        ("'$A'", "$A"),
        ("\"$A and ${P}\"", "1 and a b"),
        ("\\$A", "$A"),
        ("\"\\$A \\\" \\x\"", "$A \" \\x"),
        ("a\\ b", "a b"),
        ("$", "$"),
        ("$1", "$1"),
        ("100%", "100%"),
        ("${NOPE:-\"quoted } brace\"}", "quoted } brace"),
    ];
    for (raw, want) in cases {
        assert_eq!(ex(raw), want, "{raw}");
    }
}

#[test]
fn json_words_expand_vars_only() {
    let lookup = |n: &str| (n == "A").then(|| "1".to_string());
    let out = expand("\"$A\" '${A}'", true, '\\', &lookup).unwrap();
    assert_eq!(out.value, "\"1\" '1'");
}

#[test]
fn undefined_and_errors_have_offsets() {
    let lookup = |_: &str| None;
    let out = expand("x-${NOPE}-$ALSO", false, '\\', &lookup).unwrap();
    let found: Vec<(&str, usize, usize)> = out
        .undefined
        .iter()
        .map(|u| (u.name.as_str(), u.start, u.end))
        .collect();
    assert_eq!(found, vec![("NOPE", 2, 9), ("ALSO", 10, 15)]);
    let e = expand("ab${X", false, '\\', &lookup).unwrap_err();
    assert_eq!(e.start, 2);
    assert!(e.message.contains("missing '}'"));
    let e = expand("${}", false, '\\', &lookup).unwrap_err();
    assert!(e.message.contains("bad substitution"));
}

#[test]
fn where_expansion_applies() {
    let ctx = MemContext::new().files(&["app-1.2.yaml", "amd64/bin/x"]);
    let o = CompileOptions {
        build_args: BTreeMap::from([("V".to_string(), "1.2".to_string())]),
        ..opts()
    };
    let src = "ARG REG=docker.io
FROM scratch
ARG V
ENV DIR=manifests
COPY app-$V.yaml ${DIR}/
COPY ${TARGETARCH}/bin/x bin/x-${TARGETOS}
APP app${V} local://app-${V}.yaml
APPENV app${V} version=$V raw='$V'
LABEL platform=${TARGETPLATFORM} arch=$ARCH
KUBEVERSION >=${V}
RUN echo $V
APPCMDS app${V} [\"echo $V\"]
CMDS [\"kubectl apply -f $DIR\"]";
    // APP names are not expanded: `app${V}` is rejected as a name
    let e = err_with(src, &ctx, &o);
    assert_eq!((e.line(), e.column()), (7, 5));
    let src = src.replace("app${V}", "app");
    let c = ok_with(&src, &ctx, &o, &MemBaseImages::new());
    let copies = copy_ops(&c);
    assert_eq!(copies[0].dest, "manifests/");
    assert_eq!(copies[1].dest, "bin/x-linux");
    let image = &c.definition.image;
    assert_eq!(image.labels["platform"], "linux/amd64");
    assert_eq!(image.labels["arch"], "amd64");
    assert_eq!(
        image.labels["app.alpha.sealer.io/supported-kube-version"],
        ">=1.2"
    );
    let app = &image.extension.applications[0];
    assert_eq!(app.env["version"], "1.2");
    assert_eq!(app.env["raw"], "$V");
    assert_eq!(
        app.cmds,
        vec!["echo $V"],
        "APPCMDS text is left to the shell"
    );
    assert_eq!(image.extension.launch.cmds, vec!["kubectl apply -f $DIR"]);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn from_reference_is_expanded_and_pre_from_args_reach_it() {
    let base = crate::BaseImage {
        reference: "docker.io/sealerio/kubernetes:v1.22".into(),
        ..Default::default()
    };
    let resolver = MemBaseImages::new().with(base);
    let o = CompileOptions {
        build_args: BTreeMap::from([("TAG".to_string(), "v1.22".to_string())]),
        ..opts()
    };
    let src = "ARG REG=docker.io\nARG TAG=v1.0\nFROM ${REG}/sealerio/kubernetes:${TAG}\nARG REG\nLABEL reg=$REG";
    let c = ok_with(src, &MemContext::new(), &o, &resolver);
    assert_eq!(
        c.definition.image.base.as_deref(),
        Some("docker.io/sealerio/kubernetes:v1.22")
    );
    assert_eq!(
        c.definition.image.labels["reg"], "docker.io",
        "redeclared ARG inherits the pre-FROM value"
    );
}
