//! Syntax and structure errors at their exact line and column, and their rendering.

use super::helpers::*;
use crate::{MemContext, compile, parse};

fn none() -> MemContext {
    MemContext::new()
}

fn apps() -> MemContext {
    MemContext::new().files(&[
        "app.yaml",
        "install.sh",
        "mixed/a.yaml",
        "mixed/b.sh",
        "notes.txt",
    ])
}

#[test]
fn unknown_instruction() {
    let e = assert_err(
        "FROM scratch\nCOPY app.yaml x\nFOO bar",
        &apps(),
        3,
        1,
        "unknown instruction \"FOO\"",
    );
    assert!(e.help_text().unwrap().contains("APPCMDS"));
    assert_err(
        "FROM scratch\n\n   workdir /x",
        &none(),
        3,
        4,
        "unknown instruction \"WORKDIR\"",
    );
}

#[test]
fn malformed_json_arrays_point_at_the_column() {
    assert_err(
        "FROM scratch\nCMDS [\"a\", b]",
        &none(),
        2,
        12,
        "invalid JSON array",
    );
    assert_err(
        "FROM scratch\nLAUNCH [\"a\"",
        &none(),
        2,
        12,
        "invalid JSON array",
    );
    assert_err(
        "FROM scratch\nAPP x local://app.yaml\nAPPCMDS x [\"ok\", 1]",
        &apps(),
        3,
        18,
        "elements must be strings",
    );
    assert_err(
        "FROM scratch\nRUN [\"sh\", -c]",
        &none(),
        2,
        13,
        "invalid JSON array",
    );
    assert_err(
        "FROM scratch\nAPP x local://app.yaml\nAPPCMDS x kubectl apply",
        &apps(),
        3,
        11,
        "expects a JSON array",
    );
}

#[test]
fn from_rules() {
    let ctx = none();
    assert_err("COPY a b\nFROM scratch", &ctx, 1, 1, "COPY before FROM");
    assert_err("ARG A=1", &ctx, 1, 1, "no FROM instruction");
    assert_err("# only a comment\n", &ctx, 1, 1, "no instructions");
    assert_err(
        "FROM scratch\nFROM scratch",
        &ctx,
        2,
        1,
        "only one FROM is allowed",
    );
    assert_err(
        "FROM scratch AS build",
        &ctx,
        1,
        14,
        "multi-stage builds are not supported",
    );
    assert_err("FROM", &ctx, 1, 1, "FROM needs an image reference");
    assert_err(
        "FROM --platform=linux kube:v1",
        &ctx,
        1,
        17,
        "invalid platform",
    );
    assert_err(
        "FROM --pull=always kube:v1",
        &ctx,
        1,
        6,
        "FROM does not support the --pull flag",
    );
    assert_err(
        "FROM registry.local/kube:v1",
        &ctx,
        1,
        6,
        "cannot resolve base image",
    );
}

#[test]
fn syntax_errors() {
    let ctx = none();
    assert_err(
        "FROM scratch\nENV A=\"x",
        &ctx,
        2,
        7,
        "unterminated double-quoted string",
    );
    assert_err("FROM scratch\nLABEL a=1 b", &ctx, 2, 11, "missing '='");
    assert_err(
        "FROM scratch\nLABEL a=${X:x}",
        &ctx,
        2,
        9,
        "bad substitution",
    );
    assert_err("FROM scratch\nLABEL a=${X:?unset}", &ctx, 2, 9, "X: unset");
    assert_err(
        "FROM scratch\nLABEL a=\"${X:?must be set}\"",
        &ctx,
        2,
        10,
        "X: must be set",
    );
    assert_err("FROM scratch\nARG 1x", &ctx, 2, 5, "invalid ARG name");
    assert_err(
        "FROM scratch\nRUN --network=bridge echo",
        &ctx,
        2,
        15,
        "unknown RUN network mode",
    );
    assert_err(
        "# escape=x\nFROM scratch",
        &ctx,
        1,
        10,
        "invalid escape character",
    );
    assert_err(
        "FROM scratch\nAPPENV",
        &ctx,
        2,
        1,
        "APPENV needs an app name",
    );
}

#[test]
fn invalid_kubeversion() {
    let ctx = none();
    assert_err(
        "FROM scratch\nKUBEVERSION >=1.22 <abc",
        &ctx,
        2,
        21,
        "invalid KUBEVERSION range",
    );
    assert_err(
        "FROM scratch\nKUBEVERSION 1.22 - ",
        &ctx,
        2,
        18,
        "invalid KUBEVERSION range",
    );
    assert_err(
        "FROM scratch\nKUBEVERSION >=1.22 ||",
        &ctx,
        2,
        22,
        "expected a version constraint",
    );
    assert_err(
        "FROM scratch\nKUBEVERSION",
        &ctx,
        2,
        1,
        "KUBEVERSION needs a version range",
    );
}

#[test]
fn parse_errors_come_from_parse_too() {
    let e = parse("FROM scratch\nBOGUS", "my/Kubefile").unwrap_err();
    assert_eq!((e.file(), e.line(), e.column()), ("my/Kubefile", 2, 1));
    assert_eq!(
        e.to_string(),
        "my/Kubefile:2:1: unknown instruction \"BOGUS\""
    );
    let e = compile(
        "FROM scratch\nBOGUS",
        &opts(),
        &none(),
        &crate::MemBaseImages::new(),
    )
    .unwrap_err();
    assert_eq!(e.message(), "unknown instruction \"BOGUS\"");
}

#[test]
fn graphical_rendering_shows_source_caret_and_help() {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let e = parse("FROM scratch\nCOPY a b\nFOO bar\n", "Kubefile").unwrap_err();
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, &e)
        .unwrap();
    assert!(
        out.contains("Kubefile:3:1: unknown instruction \"FOO\""),
        "{out}"
    );
    assert!(out.contains("[Kubefile:3:1]"), "{out}");
    assert!(out.contains("3 │ FOO bar"), "{out}");
    assert!(out.contains("not a Kubefile instruction"), "{out}");
    assert!(
        out.contains("help: supported instructions: FROM, COPY"),
        "{out}"
    );
    assert!(!out.contains('\u{1b}'), "no colours with the nocolor theme");
}
